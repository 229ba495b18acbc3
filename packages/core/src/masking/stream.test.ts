import fc from 'fast-check';
import { compileMasking, BUILTIN_CATEGORIES, type Masking } from './index.ts';
import { newTally, type Engine } from './engine.ts';
import { buildEngine, type MaskingPolicy } from './policy.ts';
import { TextStream } from './text-stream.ts';
import { JsonStream } from './json-stream.ts';
import { maskStringValues } from './json-values.ts';
import { buildCorpus } from './fixtures.ts';
import { SseParser, sseEventType, type SseEvent } from '../sse/parser.ts';

const POLICY: MaskingPolicy = {
  mask: [...BUILTIN_CATEGORIES],
  custom: [
    { name: 'ticket-id', pattern: 'TCK-[0-9]{6}' },
    { name: 'acme-id', pattern: '\\b(?:ACME|acme)-[A-Z0-9]{4,12}\\b' },
    { name: 'pin', pattern: 'pin=.{4,8};' },
  ],
};
// Built before each test, not while the file loads: a custom pattern compiled at load time makes
// every mutant of the pattern compiler "hybrid" under StrykerJS (run against every masking test).
let masking: Masking;
let engine: Engine;
beforeEach(() => {
  masking = compileMasking(POLICY);
  engine = buildEngine(POLICY);
});

// Pieces that exercise every detector and its boundaries.
const corpus = buildCorpus(99, 40);
const SAMPLES = corpus.flatMap((f) => [...f.positives.map((p) => p.text), ...f.negatives.map((n) => n.text)]);
const POSITIVES = corpus.filter((f) => f.category !== 'private-key').flatMap((f) => f.positives.map((p) => p.text));
const LITERALS = [
  'sk-',
  'sk-ant-',
  'Bearer ',
  'bearer\t',
  'eyJ',
  '.eyJ',
  '-----BEGIN ',
  'PRIVATE KEY-----',
  '-----END ',
  'AKIA',
  'ghp_',
  'github_pat_',
  'xoxb-',
  '::',
  ':',
  '@',
  '@example.com',
  '+44 ',
  '(415) ',
  '-',
  '.',
  ' ',
  '\n',
  '\r\n',
  'é',
  '🌍',
  'TCK-',
  'ACME-',
  'pin=',
  ';',
  '4111',
  '0000',
  'DE89',
  '192.168.',
  'fe80::',
];
const CHARS = 'aZ09 .-@:+()_/=\n\té🌍';

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SAMPLES) },
  { weight: 3, arbitrary: fc.constantFrom(...LITERALS) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 12 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{1,20}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/) },
);
const text = fc.array(piece, { maxLength: 14 }).map((xs) => xs.join(''));
/** Short tokens glued by the characters detectors treat as boundaries: dense interactions. */
const dense = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(...LITERALS),
        fc.stringMatching(/^[a-z0-9]{1,6}$/),
        fc.stringMatching(/^[A-Za-z0-9]{16,24}$/),
        fc.constantFrom(...POSITIVES),
      ),
      fc.constantFrom('', '', ' ', '@', '.', '-', ':', '\t', '\n', '/', '_'),
    ),
    { maxLength: 16 },
  )
  .map((xs) => xs.map(([a, b]) => a + b).join(''));
const cuts = fc.array(fc.nat(2000), { maxLength: 25 });

/** Splits a string at code-unit positions (possibly inside a surrogate pair). */
function splitString(s: string, at: number[]): string[] {
  const points = [...new Set(at.map((a) => a % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(s.slice(prev, p));
    prev = p;
  }
  out.push(s.slice(prev));
  return out;
}

function splitBuffer(b: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(b.subarray(prev, p));
    prev = p;
  }
  out.push(b.subarray(prev));
  return out;
}

describe('TextStream: streamed output equals masking the whole text', () => {
  it('for any text and any split (property)', () => {
    fc.assert(
      fc.property(text, cuts, (s, at) => {
        const whole = masking.maskText(s);
        const tally = newTally();
        const ts = new TextStream(engine, tally);
        let out = '';
        for (const p of splitString(s, at)) out += ts.push(p);
        out += ts.finish();
        expect(out).toBe(whole.text);
        expect(tally.counts ?? {}).toEqual({ ...whole.counts });
      }),
      { numRuns: 3000 },
    );
  });

  it('for dense boundary-heavy text and any split (property)', () => {
    fc.assert(
      fc.property(dense, cuts, (s, at) => {
        const tally = newTally();
        const ts = new TextStream(engine, tally);
        let out = '';
        for (const p of splitString(s, at)) out += ts.push(p);
        expect(out + ts.finish()).toBe(masking.maskText(s).text);
      }),
      { numRuns: 5000 },
    );
  });

  it('character by character, and never emits a positive sample or half a surrogate pair', () => {
    for (const sample of [...POSITIVES, 'x 🌍 y', 'Bearer abcdefgh1234567890ijkl', 'ticket TCK-123456!']) {
      const s = `see ${sample} now`;
      const tally = newTally();
      const ts = new TextStream(engine, tally);
      const pieces: string[] = [];
      for (const ch of s.split('')) pieces.push(ts.push(ch));
      pieces.push(ts.finish());
      expect(pieces.join('')).toBe(masking.maskText(s).text);
      for (const p of pieces) {
        if (p.length > 0) expect(p.charCodeAt(p.length - 1) >= 0xd800 && p.charCodeAt(p.length - 1) <= 0xdbff).toBe(false);
      }
    }
  });

  it('holds back only a short tail of ordinary prose', () => {
    const tally = newTally();
    const ts = new TextStream(engine, tally);
    let out = '';
    const words = 'The quick brown fox jumps over the lazy dog and keeps running through the field. '.repeat(20).split(/(?<= )/);
    let maxPending = 0;
    for (const w of words) {
      out += ts.push(w);
      maxPending = Math.max(maxPending, ts.pending);
    }
    // a word may still grow into an e-mail local part; nothing more is held
    expect(maxPending).toBeLessThan(12);
    expect(out + ts.finish()).toBe(words.join(''));
  });
});

describe('JsonStream: streamed tool input', () => {
  const jsonString = fc.oneof(text, fc.string(), fc.constantFrom('a"b\\c', '\u0000\u001f', '🌍é', '\\u0041'));
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      jsonString,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(jsonString, tie('v'), { maxKeys: 4 }),
    ),
  })).v;

  it('masks keys and string values and stays valid JSON for any split (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value, { maxKeys: 5 }), fc.constantFrom(undefined, 0, 2, '\t'), cuts, (obj, indent, at) => {
        const json = JSON.stringify(obj, null, indent);
        const js = new JsonStream(engine, newTally());
        let out = '';
        for (const p of splitString(json, at)) out += js.push(p);
        out += js.finish();
        const one = new JsonStream(engine, newTally());
        expect(out).toBe(one.push(json) + one.finish());
        const expected = maskStringValues(engine, JSON.parse(json), newTally());
        expect(JSON.parse(out)).toEqual(expected);
      }),
      { numRuns: 1500 },
    );
  });

  it('decodes escapes split across pieces', () => {
    const json = JSON.stringify({ note: 'mail "john.doe@example.com"\n\u00e9 🌍', 'k\\"ey': ['TCK-123456'] });
    const escaped = json.replace('é', '\\u00e9').replace('🌍', '\\ud83c\\udf0d');
    for (let i = 0; i <= escaped.length; i++) {
      const js = new JsonStream(engine, newTally());
      const out = js.push(escaped.slice(0, i)) + js.push(escaped.slice(i)) + js.finish();
      expect(JSON.parse(out)).toEqual({ note: 'mail "[MASKED:email]"\né 🌍', 'k\\"ey': ['[MASKED:ticket-id]'] });
    }
  });
});

// ------------------------------------------------------------------------------ SSE

interface Block {
  kind: 'text' | 'tool' | 'thinking';
  text: string;
  input: Record<string, unknown>;
}

const block: fc.Arbitrary<Block> = fc.record({
  kind: fc.constantFrom('text', 'text', 'tool', 'thinking'),
  text,
  input: fc.dictionary(fc.constantFrom('query', 'path', 'note', 'to'), fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.integer()), {
    maxKeys: 3,
  }),
}) as fc.Arbitrary<Block>;

const sse = (event: string, data: unknown, eol: string) => `event: ${event}${eol}data: ${JSON.stringify(data)}${eol}${eol}`;

/** An Anthropic Messages stream for the blocks, each block's text cut into deltas at `cuts`. */
function buildStream(blocks: Block[], deltaCuts: number[], eol: string, pings: boolean): string {
  let s = sse(
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [],
        usage: { input_tokens: 10, output_tokens: 1 },
      },
    },
    eol,
  );
  blocks.forEach((b, index) => {
    if (b.kind === 'text') {
      s += sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, eol);
      for (const t of splitString(b.text, deltaCuts)) {
        s += sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } }, eol);
        if (pings && t.length % 3 === 0) s += sse('ping', { type: 'ping' }, eol);
      }
    } else if (b.kind === 'tool') {
      s += sse(
        'content_block_start',
        { type: 'content_block_start', index, content_block: { type: 'tool_use', id: `toolu_${index}`, name: 'search', input: {} } },
        eol,
      );
      s += sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } }, eol);
      for (const t of splitString(JSON.stringify(b.input), deltaCuts)) {
        s += sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: t } }, eol);
      }
    } else {
      s += sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '' } }, eol);
      for (const t of splitString(b.text, deltaCuts)) {
        s += sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: t } }, eol);
      }
      s += sse(
        'content_block_delta',
        { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' } },
        eol,
      );
    }
    s += sse('content_block_stop', { type: 'content_block_stop', index }, eol);
  });
  s += `: keep-alive comment${eol}${eol}`;
  s += sse(
    'message_delta',
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 42 } },
    eol,
  );
  s += sse('message_stop', { type: 'message_stop' }, eol);
  return s;
}

function runMasker(m: Masking, chunks: Buffer[]) {
  const sm = m.createSseMasker();
  const outs: Buffer[] = [];
  for (const c of chunks) outs.push(sm.push(c));
  outs.push(sm.end());
  return { out: Buffer.concat(outs), masker: sm };
}

function parseAll(b: Buffer): SseEvent[] {
  const p = new SseParser();
  return [...p.push(b), ...p.end()];
}

/** What a client reconstructs from a stream: per block index, the text / JSON / thinking. */
function reconstruct(events: SseEvent[]) {
  const text = new Map<number, string>();
  const json = new Map<number, string>();
  const thinking = new Map<number, string>();
  const order: string[] = [];
  for (const ev of events) {
    if (ev.data === undefined) continue;
    expect(ev.incomplete).toBe(false);
    const obj = JSON.parse(ev.data); // every event's data is valid JSON
    const type = sseEventType(ev);
    expect(obj.type).toBe(type);
    if (type === 'content_block_delta') {
      const d = obj.delta;
      if (d.type === 'text_delta') text.set(obj.index, (text.get(obj.index) ?? '') + d.text);
      else if (d.type === 'input_json_delta') json.set(obj.index, (json.get(obj.index) ?? '') + d.partial_json);
      else if (d.type === 'thinking_delta') thinking.set(obj.index, (thinking.get(obj.index) ?? '') + d.thinking);
      else order.push(`${type}:${d.type}:${obj.index}`);
    } else {
      order.push(`${type}${obj.index === undefined ? '' : ':' + obj.index}`);
    }
  }
  return { text, json, thinking, order };
}

describe('SSE masker', () => {
  it('streams valid SSE whose text equals masking each whole block, for any message and any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.array(block, { minLength: 1, maxLength: 4 }),
        cuts,
        cuts,
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        (blocks, deltaCuts, chunkCuts, eol, pings) => {
          const input = Buffer.from(buildStream(blocks, deltaCuts, eol, pings));
          const { out, masker } = runMasker(masking, splitBuffer(input, chunkCuts));
          const got = reconstruct(parseAll(out));
          const orig = reconstruct(parseAll(input));
          const expectedCounts: Record<string, number> = {};
          const add = (c: Readonly<Record<string, number>>) => {
            for (const [k, v] of Object.entries(c)) expectedCounts[k] = (expectedCounts[k] ?? 0) + v;
          };
          blocks.forEach((b, i) => {
            if (b.kind === 'text') {
              const r = masking.maskText(b.text);
              expect(got.text.get(i) ?? '').toBe(r.text);
              add(r.counts);
            } else if (b.kind === 'tool') {
              const tally = newTally();
              const expected = maskStringValues(engine, structuredClone(b.input), tally);
              expect(JSON.parse(got.json.get(i)!)).toEqual(expected);
              add(tally.counts ?? {});
            } else {
              // thinking is never touched
              expect(got.thinking.get(i) ?? '').toBe(b.text);
            }
          });
          // the non-delta events arrive in the same order
          expect(got.order).toEqual(orig.order);
          expect({ ...masker.counts }).toEqual(expectedCounts);
          expect(masker.blocked).toBeUndefined();
          // chunking never changes what a client sees
          const single = reconstruct(parseAll(runMasker(masking, [input]).out));
          expect(single).toEqual(got);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('leaks no detector match across delta or chunk boundaries (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...POSITIVES), { minLength: 1, maxLength: 4 }),
        text,
        cuts,
        cuts,
        (secrets, filler, deltaCuts, chunkCuts) => {
          const body = secrets.map((s) => `${filler} ;\n${s}\n; `).join('');
          const input = Buffer.from(buildStream([{ kind: 'text', text: body, input: {} }], deltaCuts, '\n', false));
          const { out } = runMasker(masking, splitBuffer(input, chunkCuts));
          const streamed = reconstruct(parseAll(out)).text.get(0) ?? '';
          for (const s of secrets.filter((x) => !filler.includes(x))) {
            expect(streamed).not.toContain(s);
            expect(out.toString()).not.toContain(JSON.stringify(s).slice(1, -1));
          }
          expect(streamed).toBe(masking.maskText(body).text);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('passes unchanged events through byte for byte', () => {
    // deltas that end after a space or punctuation: nothing needs holding back
    const input = buildStream(
      [
        { kind: 'thinking', text: 'I should not reveal sk-ant-api03-' + 'x'.repeat(40), input: {} },
        { kind: 'text', text: 'Hello, nothing sensitive here. It ships on (Monday). ', input: {} },
      ],
      [7, 15, 25, 31, 34, 40, 43],
      '\r\n',
      true,
    );
    const { out } = runMasker(masking, [Buffer.from(input)]);
    expect(out.toString()).toBe(input);
  });

  it('passes unknown event types, comments and upstream errors through; masks the strings of unknown delta types', () => {
    const input =
      ': comment\n\nevent: future_event\ndata: {"type":"future_event","x":1}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"future_delta","v":"a@b.co"}}\n\n' +
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    expect(runMasker(masking, [Buffer.from(input)]).out.toString()).toBe(input.replace('"a@b.co"', '"[MASKED:email]"'));
  });

  it('emits held text in a final delta before content_block_stop', () => {
    const sm = masking.createSseMasker();
    const start = sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, '\n');
    const d = (t: string) =>
      sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }, '\n');
    expect(sm.push(Buffer.from(start)).toString()).toBe(start);
    // "Write to john" could continue as john@…: "john" is held
    const first = sm.push(Buffer.from(d('Write to john')));
    expect(reconstruct(parseAll(first)).text.get(0)).toBe('Write to ');
    expect(sm.held).toBe(4);
    const second = sm.push(Buffer.from(d('.doe@example.com today')));
    expect(reconstruct(parseAll(second)).text.get(0)).toBe('[MASKED:email] ');
    const stop = sse('content_block_stop', { type: 'content_block_stop', index: 0 }, '\n');
    const last = sm.push(Buffer.from(stop)).toString();
    expect(last).toBe(d('today') + stop);
    expect(sm.counts).toEqual({ email: 1 });
  });

  it('flushes held text when the upstream ends without content_block_stop, dropping an unterminated delta', () => {
    const sm = masking.createSseMasker();
    const d = (t: string) =>
      sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }, '\n');
    const a = sm.push(Buffer.from(d('call +44 20 7946') + d(' 0958') + d('more').slice(0, -2)));
    const b = sm.end();
    const texts = reconstruct(parseAll(Buffer.concat([a, b]))).text.get(0);
    expect(texts).toBe('call [MASKED:phone]');
  });

  it('releases held text before message_delta when content_block_stop is missing', () => {
    const d = (t: string) =>
      sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }, '\n');
    const md = sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }, '\n');
    const out = runMasker(masking, [Buffer.from(d('Hello wor') + d('ld') + md)]).out.toString();
    expect(out.endsWith(d('world') + md)).toBe(true);
  });

  it('masks tool input strings and keeps partial_json valid', () => {
    const input = buildStream(
      [{ kind: 'tool', text: '', input: { to: 'ops@example.com', body: 'key AKIAIOSFODNN7EXAMPLE', n: 12345678901234567000 } as never }],
      [5, 11, 40],
      '\n',
      false,
    );
    const got = reconstruct(parseAll(runMasker(masking, [Buffer.from(input)]).out));
    expect(got.json.get(0)).toBe('{"to":"[MASKED:email]","body":"key [MASKED:api-key]","n":12345678901234567000}');
  });

  describe('block categories', () => {
    const blocking = compileMasking({ mask: ['email'], block: ['private-key', 'api-key'] });
    const key =
      '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----';

    it('ends the stream with a permission_error naming the category, never the secret', () => {
      fc.assert(
        fc.property(cuts, cuts, (deltaCuts, chunkCuts) => {
          const input = Buffer.from(
            buildStream([{ kind: 'text', text: `Here you go:\n${key}\nmail me@x.io`, input: {} }], deltaCuts, '\n', true),
          );
          const { out, masker } = runMasker(blocking, splitBuffer(input, chunkCuts));
          expect(masker.blocked).toBe('private-key');
          const events = parseAll(out);
          const last = events[events.length - 1]!;
          expect(sseEventType(last)).toBe('error');
          const err = JSON.parse(last.data!);
          expect(err).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
          expect(err.error.message).toContain('"private-key"');
          const s = out.toString();
          expect(s).not.toContain('MIIBOgIBAAJBAKj34Gkx');
          expect(s).not.toContain('BEGIN RSA');
          expect(s).not.toContain('message_stop');
        }),
        { numRuns: 200 },
      );
    });

    it('stops at a blocked secret inside tool input', () => {
      const input = buildStream([{ kind: 'tool', text: '', input: { cmd: 'export TOKEN=ghp_' + 'a1B2'.repeat(9) } }], [7], '\n', false);
      const { out, masker } = runMasker(blocking, [Buffer.from(input)]);
      expect(masker.blocked).toBe('api-key');
      expect(out.toString()).not.toContain('a1B2a1B2');
      expect(masker.push(Buffer.from('event: ping\ndata: {}\n\n')).length).toBe(0);
      expect(masker.end().length).toBe(0);
    });
  });

  it('is a pass-through when the policy enables nothing', () => {
    const none = compileMasking({});
    expect(none.active).toBe(false);
    const sm = none.createSseMasker();
    const chunk = Buffer.from(
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co"}}\n\n',
    );
    expect(sm.push(chunk)).toBe(chunk);
  });
});
