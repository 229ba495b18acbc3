// Object keys of tool inputs (tool_use, server_tool_use, mcp_tool_use): the model's own data, so
// `{"customers":{"jane@example.com":{"status":"vip"}}}` must not reach the agent with the address
// in a key, neither in a JSON answer nor streamed as input_json_delta. Engines are built inside the
// tests: one built while the file loads would make every mutant of the engine run this file.
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import { newTally, type Engine, type Tally } from './engine.ts';
import { buildEngine } from './policy.ts';
import { maskMessageBody } from './json-body.ts';
import { maskContentBlock } from './json-message.ts';
import { JsonStream } from './json-stream.ts';
import { maskStringValues } from './json-values.ts';
import { AnthropicSseMasker } from './sse-masker.ts';

const M = '[MASKED:email]';
const MC = '[MASKED:credit-card]';
const CARD = '4111 1111 1111 1111';
const engine = (): Engine => buildEngine({ mask: ['email', 'credit-card'] });

const message = (input: string) =>
  `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"update","input":${input}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}`;

/** What the JSON path makes of a tool input written as `text`: the masked value, written out, and the tally. */
function jsonPath(e: Engine, text: string): { out: string; tally: Tally } {
  const tally = newTally();
  return { out: JSON.stringify(maskStringValues(e, JSON.parse(text), tally)), tally };
}

/** One JsonStream over `pieces`: the concatenated output and the tally. */
function run(e: Engine, pieces: string[]): { out: string; tally: Tally } {
  const tally = newTally();
  const js = new JsonStream(e, tally);
  let out = '';
  for (const p of pieces) out += js.push(p);
  return { out: out + js.finish(), tally };
}

/**
 * `text` streamed in one piece, in two pieces cut at every position, and one character at a time:
 * the output (and what was counted) must not depend on the cuts. Returns the output.
 */
function stream(e: Engine, text: string): string {
  const whole = run(e, [text]);
  for (let i = 0; i <= text.length; i++) {
    const r = run(e, [text.slice(0, i), text.slice(i)]);
    expect([i, r.out]).toEqual([i, whole.out]);
    expect(r.tally.counts).toEqual(whole.tally.counts);
  }
  expect(run(e, [...text]).out).toBe(whole.out);
  return whole.out;
}

describe('tool input keys in a JSON answer', () => {
  it('masks keys at every depth, in arrays of objects too; the block fields and the message stay as written', () => {
    const input = `{"customers":{"jane@example.com":{"status":"vip"},"${CARD}":1,"4111111111111111":2},"list":[{"bob@example.com":"x"},[{"note for ann@example.com":true}]],"plain":{"k":"v"}}`;
    const r = maskMessageBody(engine(), Buffer.from(message(input)));
    expect(r.body.toString()).toBe(
      message(
        `{"customers":{"${M}":{"status":"vip"},"${MC}":1,"${MC}#2":2},"list":[{"${M}":"x"},[{"note for ${M}":true}]],"plain":{"k":"v"}}`,
      ),
    );
    expect(r.counts).toStrictEqual({ email: 3, 'credit-card': 2 });
    expect(r.changed).toBe(true);
  });

  it('masks the input keys of server_tool_use, mcp_tool_use and unknown tool blocks alike; identifiers keep their rules', () => {
    const e = engine();
    for (const type of ['server_tool_use', 'mcp_tool_use', 'future_tool_use']) {
      const block = {
        type,
        id: 'a@b.co',
        name: 'a@b.co',
        server_name: 'a@b.co',
        input: { 'a@b.co': { 'c@d.co': ['a@b.co', { 'e@f.co': 1 }] } },
        meta: { 'a@b.co': 'a@b.co' },
      };
      maskContentBlock(e, block, newTally());
      expect(block).toStrictEqual({
        type,
        id: 'a@b.co',
        name: 'a@b.co',
        server_name: 'a@b.co',
        input: { [M]: { [M]: [M, { [M]: 1 }] } },
        // (keys outside a tool input are masked too: keysEverywhere below)
        meta: { [M]: M },
      });
    }
  });

  it('keeps every value when keys mask to a name their object already has: #2, #3, and a key written as the token itself', () => {
    const input = `{"a@b.co":1,"c@d.co":2,"${M}#2":3,"x":{"${M}":4,"jane@example.com":5},"mail e@f.co":6,"mail g@h.co":7}`;
    const r = maskMessageBody(engine(), Buffer.from(message(input)));
    expect(r.body.toString()).toBe(message(`{"${M}":1,"${M}#2":2,"${M}#2#2":3,"x":{"${M}":4,"${M}#2":5},"mail ${M}":6,"mail ${M}#2":7}`));
    expect(r.counts).toStrictEqual({ email: 5 });
  });

  it('keeps a "__proto__" key as data, its value masked, when another key of its object is renamed', () => {
    const input = `{"__proto__":{"x":"a@b.co"},"a@b.co":{"__proto__":"c@d.co","c@d.co":1}}`;
    const r = maskMessageBody(engine(), Buffer.from(message(input)));
    expect(r.body.toString()).toBe(message(`{"__proto__":{"x":"${M}"},"${M}":{"__proto__":"${M}","${M}":1}}`));
    const v = maskStringValues(engine(), JSON.parse(input), newTally()) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', M]);
    expect(Object.getPrototypeOf(v[M])).toBe(Object.prototype);
  });

  it('reports a block category found in a key, as one in a value', () => {
    const e = buildEngine({ mask: ['email'], block: ['credit-card'] });
    const r = maskMessageBody(e, Buffer.from(message(`{"orders":{"${CARD}":{"to":"ok"}}}`)));
    expect(r.blocked).toBe('credit-card');
    expect(r.body.toString()).not.toContain('4111');
  });
});

describe('streamed tool input keys (input_json_delta)', () => {
  it('masks a key wherever the pieces are cut, a match spanning two pieces included', () => {
    const text = `{"customers":{"jane@example.com":{"status":"vip"},"${CARD}":1},"list":[{"note for ann@example.com":"x"}],"k":"v"}`;
    expect(stream(engine(), text)).toBe(`{"customers":{"${M}":{"status":"vip"},"${MC}":1},"list":[{"note for ${M}":"x"}],"k":"v"}`);
  });

  it('holds back the end of a key that may still grow into a match', () => {
    const js = new JsonStream(engine(), newTally());
    expect(js.push('{"to jane@exa')).toBe('{"to ');
    expect(js.pending).toBe(8);
    expect(js.push('mple.com":1}')).toBe(`${M}":1}`);
    expect(js.pending).toBe(0);
  });

  it('decodes escaped keys before the detectors run, escapes cut anywhere', () => {
    const e = engine();
    const text = '{"jane\\u0040example.com":1,"q\\"a@b.co\\"":2,"x\\/y\\ud83c\\udf0d":3,"\\u00e9":4}';
    expect(stream(e, text)).toBe(`{"${M}":1,"q\\"${M}\\"":2,"x/y🌍":3,"é":4}`);
    expect(jsonPath(e, text).out).toBe(`{"${M}":1,"q\\"${M}\\"":2,"x/y🌍":3,"é":4}`);
  });

  it('gives keys that mask to a name their object already has #2, #3, … at the key end, as the JSON path does', () => {
    const e = engine();
    const text = `{"a@b.co":1,"c@d.co":2,"${M}#2":3,"mail e@f.co":4,"mail g@h.co":5,"${M}#3":6,"i@j.co":7}`;
    const want = `{"${M}":1,"${M}#2":2,"${M}#2#2":3,"mail ${M}":4,"mail ${M}#2":5,"${M}#3":6,"${M}#4":7}`;
    expect(stream(e, text)).toBe(want);
    expect(jsonPath(e, text).out).toBe(want);
    // a key that did not mask takes the name first: the masked one after it is renamed
    const literal = `{"${M}":1,"jane@example.com":2}`;
    expect(stream(e, literal)).toBe(`{"${M}":1,"${M}#2":2}`);
    expect(jsonPath(e, literal).out).toBe(`{"${M}":1,"${M}#2":2}`);
    // the name is the whole key's, decided at its end: a masked start that is a name already taken is no collision
    expect(stream(e, `{"a@b.co x":1,"c@d.co ":2,"e@f.co":3}`)).toBe(`{"${M} x":1,"${M} ":2,"${M}":3}`);
    // values are never renamed
    expect(stream(e, `{"a@b.co":"c@d.co","x":["e@f.co","a@b.co",{"k":"g@h.co"}]}`)).toBe(
      `{"${M}":"${M}","x":["${M}","${M}",{"k":"${M}"}]}`,
    );
  });

  it('writes a key written twice out twice alike, so a parser keeps one value for it, as the JSON path does', () => {
    const e = engine();
    for (const [text, want, parsed] of [
      [`{"a@b.co":1,"x":2,"a@b.co":3,"c@d.co":4}`, `{"${M}":1,"x":2,"${M}":3,"${M}#2":4}`, `{"${M}":3,"x":2,"${M}#2":4}`],
      [`{"${M}":1,"a@b.co":2,"${M}":3}`, `{"${M}":1,"${M}#2":2,"${M}":3}`, `{"${M}":3,"${M}#2":2}`],
      [`{"a@b.co":1,"c@d.co":2,"c@d.co":3}`, `{"${M}":1,"${M}#2":2,"${M}#2":3}`, `{"${M}":1,"${M}#2":3}`],
      // the same key, spelled with an escape: JSON.parse reads one key, so does the stream
      [`{"a@b.co":1,"c@d.co":2,"a\\u0040b.co":3}`, `{"${M}":1,"${M}#2":2,"${M}":3}`, `{"${M}":3,"${M}#2":2}`],
    ]) {
      expect(stream(e, text!)).toBe(want);
      expect(JSON.stringify(JSON.parse(want!))).toBe(parsed);
      expect(jsonPath(e, text!).out).toBe(parsed);
    }
  });

  it('keeps the names of each object apart, and forgets them when it closes', () => {
    const e = engine();
    // a closed object's names do not rename the keys of the one around it, nor of the next one
    expect(stream(e, `{"x":{"a@b.co":1},"c@d.co":2}`)).toBe(`{"x":{"${M}":1},"${M}":2}`);
    expect(stream(e, `[{"a@b.co":1},{"c@d.co":2}]`)).toBe(`[{"${M}":1},{"${M}":2}]`);
    expect(stream(e, `{"a@b.co":{"c@d.co":{"e@f.co":1},"g@h.co":2},"i@j.co":3}`)).toBe(
      `{"${M}":{"${M}":{"${M}":1},"${M}#2":2},"${M}#2":3}`,
    );
    // an array in between: its object's names are not the outer object's, and closing it leaves those
    expect(stream(e, `{"a@b.co":1,"l":[{"c@d.co":2},[]],"e@f.co":3}`)).toBe(`{"${M}":1,"l":[{"${M}":2},[]],"${M}#2":3}`);
    expect(stream(e, `{"x":{"${M}#2":1},"a@b.co":2,"c@d.co":3}`)).toBe(`{"x":{"${M}#2":1},"${M}":2,"${M}#2":3}`);
  });

  it('starts the next text afresh after finish(), a key cut off included', () => {
    const js = new JsonStream(engine(), newTally());
    expect(js.push('{"x a@b') + js.finish()).toBe('{"x a@b');
    expect(js.push(`{"a@b.co":1,"c@d.co":2,"a@b.co":3}`) + js.finish()).toBe(`{"${M}":1,"${M}#2":2,"${M}":3}`);
  });

  it('stops at a block category found in a key, as at one in a value', () => {
    const e = buildEngine({ mask: ['email'], block: ['credit-card'] });
    for (const text of [`{"note":"ok","${CARD}":1}`, `{"note":"ok","k":"${CARD}"}`]) {
      for (let i = 0; i <= text.length; i++) {
        const r = run(e, [text.slice(0, i), text.slice(i)]);
        expect(r.tally.blocked).toBe('credit-card');
        expect(r.out).not.toContain('4111');
      }
    }
  });

  it('passes keys without a match byte for byte, next to one that is masked', () => {
    const e = engine();
    const keys = '"file_path":"/tmp/a","k\\"ey\\\\":{"déjà vu 🌍":[{"a b":null,"\\n":[1,2.50]}]}';
    expect(stream(e, `{${keys},"jane@example.com":1}`)).toBe(`{${keys},"${M}":1}`);
    expect(stream(e, `{${keys}}`)).toBe(`{${keys}}`);
  });

  it('names a key a custom pattern masks whole, in text order; the JSON path puts array-index keys first', () => {
    // the one way the two paths differ (JsonStream's comment): both values kept either way
    const e = buildEngine({ custom: [{ name: 'pin', pattern: '[0-9]{6}' }] });
    const T = '[MASKED:pin]';
    const text = `{"${T}":1,"123456":2}`;
    expect(stream(e, text)).toBe(`{"${T}":1,"${T}#2":2}`);
    expect(jsonPath(e, text).out).toBe(`{"${T}":2,"${T}#2":1}`);
  });
});

describe('streamed and JSON paths agree', () => {
  /** Keys that mask to one name (or are that name): they collide. */
  const COLLIDING = ['a@b.co', 'c@d.co', 'jane@example.com', M, `${M}#2`];
  const KEYS = ['mail a@b.co', 'mail c@d.co', `${M}#2#2`, `mail ${M}`, MC, CARD, '__proto__', 'k', 'k2', '', 'q"a@b.co\\', 'é🌍', '7'];
  const VALUES = ['a@b.co', 'plain', CARD, M];
  type Doc = string | number | boolean | null | Doc[] | { entries: [string, Doc][] };
  /** An object (a tool input) whose keys repeat and collide often. */
  const doc = fc.letrec<{ d: Doc; o: Doc }>((tie) => ({
    d: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(...VALUES),
      fc.constantFrom(1, 2.5, 4111111111111111, -3),
      fc.constantFrom(true, null),
      fc.array(tie('d'), { maxLength: 2 }),
      tie('o'),
    ),
    o: fc.record({
      entries: fc.array(
        fc.tuple(
          fc.oneof(
            { weight: 3, arbitrary: fc.constantFrom(...COLLIDING) },
            { weight: 2, arbitrary: fc.constantFrom(...KEYS) },
            { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
          ),
          tie('d'),
        ),
        { maxLength: 5 },
      ),
    }),
  })).o;

  /** The document written out: keys repeated as they come, '@' in a key sometimes written as \u0040. */
  function write(d: Doc, escapeAt: boolean): string {
    if (Array.isArray(d)) return `[${d.map((x) => write(x, escapeAt)).join(',')}]`;
    if (typeof d === 'object' && d !== null) {
      const key = (k: string) => (escapeAt ? JSON.stringify(k).replaceAll('@', '\\u0040') : JSON.stringify(k));
      return `{${d.entries.map(([k, v]) => `${key(k)}:${write(v, escapeAt)}`).join(',')}}`;
    }
    return JSON.stringify(d);
  }

  it('JSON.parse of the streamed output, cut at every position, is what the JSON path gives (property)', () => {
    let renamed = 0;
    fc.assert(
      fc.property(doc, fc.boolean(), (d, escapeAt) => {
        const e = engine();
        const text = write(d, escapeAt);
        const want = jsonPath(e, text).out;
        if (want.split('#').length > text.split('#').length) renamed++;
        const whole = run(e, [text]).out;
        expect(JSON.stringify(JSON.parse(whole))).toBe(want);
        for (let i = 0; i <= text.length; i++) {
          expect(run(e, [text.slice(0, i), text.slice(i)]).out).toBe(whole);
        }
      }),
      { numRuns: 200 },
    );
    // the property reached its point: keys renamed for a name already taken
    // (about 30% of the runs: fewer than 30 of 200 is over five standard deviations off)
    expect(renamed).toBeGreaterThan(30);
  });
});

describe('through the SSE masker and the TypeScript SDK', () => {
  const ev = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const delta = (pj: string) =>
    ev('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: pj } });

  it('the tool inputs a client assembles carry masked keys, started whole or streamed', async () => {
    const input = `{"customers":{"jane@example.com":{"status":"vip"},"${CARD}":1,"bob@example.com":2}}`;
    const cuts = [0, 16, 22, 40, 61, input.length];
    const events = [
      ev('message_start', {
        type: 'message_start',
        message: {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'm',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 1, output_tokens: 0 },
        },
      }),
      ev('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { 'jane@example.com': 'x' } },
      }),
      ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
      ev('content_block_start', {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_1', name: 'update', input: {} },
      }),
      ...cuts.slice(1).map((c, i) => delta(input.slice(cuts[i], c))),
      ev('content_block_stop', { type: 'content_block_stop', index: 1 }),
      ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } }),
      ev('message_stop', { type: 'message_stop' }),
    ];
    const m = new AnthropicSseMasker(engine());
    let sse = '';
    for (const x of events) sse += m.push(Buffer.from(x)).toString();
    sse += m.end().toString();
    expect(sse).not.toContain('example.com');
    expect(sse).not.toContain('4111');
    const client = new Anthropic({
      apiKey: 'test',
      baseURL: 'http://sdk.test.invalid',
      maxRetries: 0,
      fetch: async () => new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
    });
    const final = await client.messages.stream({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(final.content.map((b) => (b as { input?: unknown }).input)).toStrictEqual([
      { [M]: 'x' },
      { customers: { [M]: { status: 'vip' }, [MC]: 1, [`${M}#2`]: 2 } },
    ]);
  });
});

// Keys outside tool inputs: a result block's data, a field the API adds later, an event's extras.
// The API's own field names never match a detector, so only data written as a key changes.
describe('keys everywhere else a value is checked', () => {
  const masked = (body: string) => maskMessageBody(engine(), Buffer.from(body));

  it('a tool result, a future block, a top-level field and its key: masked, identifiers and thinking kept', () => {
    const body = JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [
        { type: 'mcp_tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'ok' }], 'a@b.co': 1 },
        { type: 'future_result', data: { rows: [{ 'jane@example.com': { [CARD]: 'vip' } }] } },
        { type: 'thinking', thinking: 't', signature: 's', 'a@b.co': 'a@b.co' },
      ],
      container: { 'c@d.co': 'x' },
      'e@f.co': 'y',
      stop_reason: 'end_turn',
      usage: { input_tokens: 1, output_tokens: 2 },
    });
    const r = masked(body);
    expect(JSON.parse(r.body.toString())).toStrictEqual({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [
        { type: 'mcp_tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'ok' }], [M]: 1 },
        { type: 'future_result', data: { rows: [{ [M]: { [MC]: 'vip' } }] } },
        { type: 'thinking', thinking: 't', signature: 's', 'a@b.co': 'a@b.co' },
      ],
      container: { [M]: 'x' },
      [M]: 'y',
      stop_reason: 'end_turn',
      usage: { input_tokens: 1, output_tokens: 2 },
    });
    expect(r.counts).toStrictEqual({ email: 4, 'credit-card': 1 });
  });

  it('an answer whose keys hold nothing to mask goes out byte for byte', () => {
    const body = message('{"q":1}').replace('"usage"', '"container":{"plain key":"v"},"usage"');
    const r = masked(body);
    expect(r.changed).toBe(false);
    expect(r.body.toString()).toBe(body);
  });

  it('streamed: keys of message_start, message_delta, a block start and extras of block events', () => {
    const m = new AnthropicSseMasker(engine());
    const ev = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    const input =
      ev('message_start', {
        type: 'message_start',
        message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], 'a@b.co': 1 },
      }) +
      ev('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'future_result', rows: { 'c@d.co': 2 } },
      }) +
      ev('content_block_stop', { type: 'content_block_stop', index: 0, more: { [CARD]: 3 } }) +
      ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', 'e@f.co': 4 }, usage: { output_tokens: 1 } }) +
      ev('message_stop', { type: 'message_stop' });
    const out = m.push(Buffer.from(input)).toString() + m.end().toString();
    expect(out).toBe(
      ev('message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], [M]: 1 } }) +
        ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'future_result', rows: { [M]: 2 } } }) +
        ev('content_block_stop', { type: 'content_block_stop', index: 0, more: { [MC]: 3 } }) +
        ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', [M]: 4 }, usage: { output_tokens: 1 } }) +
        ev('message_stop', { type: 'message_stop' }),
    );
    expect(m.counts).toStrictEqual({ email: 3, 'credit-card': 1 });
  });
});
