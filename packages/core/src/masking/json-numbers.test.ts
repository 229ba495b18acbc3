// Numbers and top-level fields in Messages answers, numbers in exponent form in internal
// services' answers: a card number written as a JSON number is a card number.
import { newTally, type Engine } from './engine.ts';
import { buildEngine } from './policy.ts';
import { maskMessageBody, maskServiceBody } from './json-body.ts';
import { JsonStream } from './json-stream.ts';
import { maskStringValues } from './json-values.ts';

const CARD = '4111111111111111';
const MC = '[MASKED:credit-card]';
const MAIL = 'jane.doe@example.com';
const ME = '[MASKED:email]';
const engine = (): Engine => buildEngine({ mask: ['email', 'credit-card'] });
const mask = (body: string) => maskMessageBody(engine(), Buffer.from(body));
const toolUse = (n: string) =>
  `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"a","card":${n}}}],"usage":{"input_tokens":1,"output_tokens":2}}`;

describe('numbers in a Messages answer', () => {
  test.each([CARD, `${CARD}.0`, '4.111111111111111e15', '41111111111111110e-1', `-${CARD}`])('tool_use input %s is masked', (n) => {
    const r = mask(toolUse(n));
    expect(r.changed).toBe(true);
    expect(r.counts).toEqual({ 'credit-card': 1 });
    const out = JSON.parse(r.body.toString()) as { content: { input: { card: unknown; file_path: string } }[]; usage: unknown };
    expect(String(out.content[0]!.input.card)).toContain(MC);
    expect(r.body.toString()).not.toContain('4111');
    expect(out.usage).toEqual({ input_tokens: 1, output_tokens: 2 });
  });

  test('a 19-digit card number (beyond what a plain parse keeps) is masked, other numbers kept as written', () => {
    const r = mask(toolUse('4111111111111111110').replace('"a"', '[1.0,12345678901234567890]'));
    expect(r.body.toString()).toBe(toolUse(`"${MC}"`).replace('"a"', '[1.0,12345678901234567890]'));
  });

  test('a big number that is no card leaves the body byte for byte', () => {
    const body = Buffer.from(toolUse('12345678901234567890'));
    const r = maskMessageBody(engine(), body);
    expect(r).toStrictEqual({ body, counts: {}, changed: false });
    expect(r.body).toBe(body);
  });

  test('numbers in tool results and block fields are masked too', () => {
    const body = `{"content":[{"type":"tool_result","tool_use_id":"t","content":[{"n":${CARD}},[${CARD}]],"extra":${CARD}}]}`;
    expect(mask(body).body.toString()).toBe(
      `{"content":[{"type":"tool_result","tool_use_id":"t","content":[{"n":"${MC}"},["${MC}"]],"extra":"${MC}"}]}`,
    );
  });
});

describe('top-level fields of a Messages answer', () => {
  test('stop_details, container and unknown fields are masked; identifying and counting fields are kept', () => {
    const msg = {
      id: `msg_${MAIL}`,
      type: 'message',
      role: 'assistant',
      model: MAIL,
      content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'refusal',
      stop_sequence: MAIL,
      stop_details: { type: 'refusal', explanation: `about ${MAIL}` },
      container: { id: 'c1', note: MAIL, expires_at: '2026-01-01' },
      future: [MAIL, { card: Number(CARD) }],
      note: MAIL,
      n: Number(CARD),
      usage: { input_tokens: 1, output_tokens: 2 },
    };
    const r = mask(JSON.stringify(msg));
    expect(JSON.parse(r.body.toString())).toEqual({
      ...msg,
      stop_details: { type: 'refusal', explanation: `about ${ME}` },
      container: { id: 'c1', note: ME, expires_at: '2026-01-01' },
      future: [ME, { card: MC }],
      note: ME,
      n: MC,
    });
    expect(r.counts).toEqual({ email: 4, 'credit-card': 2 });
  });

  test('content that is not an array is masked as data', () => {
    expect(mask(`{"content":"${MAIL}"}`).body.toString()).toBe(`{"content":"${ME}"}`);
  });
});

describe('numbers in streamed tool input (input_json_delta)', () => {
  const stream = (pieces: string[]) => {
    const js = new JsonStream(engine(), newTally());
    let out = '';
    const pend: number[] = [];
    for (const p of pieces) {
      out += js.push(p);
      pend.push(js.pending);
    }
    return { out: out + js.finish(), pend };
  };

  test('a number split across deltas is held back until it ends, then masked', () => {
    const json = `{"file_path":"a","card":${CARD},"l":[1,${CARD}.0],"e":4.111111111111111e15,"k":-12}`;
    const want = `{"file_path":"a","card":"${MC}","l":[1,"${MC}"],"e":"${MC}","k":-12}`;
    for (let i = 0; i <= json.length; i++) {
      for (const j of [i, Math.min(json.length, i + 3)]) {
        expect(stream([json.slice(0, i), json.slice(i, j), json.slice(j)]).out).toBe(want);
      }
    }
    const { pend } = stream(['{"card":4111', '1111', '11111111}']);
    expect(pend).toEqual([4, 8, 0]);
  });

  test('output parses to what maskStringValues gives; numbers that match nothing go as written', () => {
    const json = `{"a":[1.50,-0,2e3,${CARD}],"b":{"c":${CARD}}}`;
    const { out } = stream([json.slice(0, 10), json.slice(10)]);
    expect(out).toBe(`{"a":[1.50,-0,2e3,"${MC}"],"b":{"c":"${MC}"}}`);
    expect(JSON.parse(out)).toEqual(maskStringValues(engine(), JSON.parse(json), newTally()));
  });

  test('a bare number, and one cut off by the end of the text, are flushed at finish', () => {
    expect(stream([CARD.slice(0, 5), CARD.slice(5)]).out).toBe(`"${MC}"`);
    expect(stream(['{"a":12']).out).toBe('{"a":12');
    expect(stream(['{"a":1', '2"x"}']).out).toBe('{"a":12"x"}');
    // a quote right at the start of the next piece ends the held number too
    expect(stream(['{"a":12', '"x"}']).out).toBe('{"a":12"x"}');
    expect(stream([`{"a":${CARD}`, '"x"}']).out).toBe(`{"a":"${MC}""x"}`);
  });
});

describe('numbers in exponent form in internal services answers', () => {
  test.each(['4.111111111111111e15', '41111111111111110e-1', `${CARD}.0`, '4111111111111111E0'])('%s', (n) => {
    const r = maskServiceBody(engine(), Buffer.from(`{"card":${n},"x":1.0}`), []);
    expect(r.body.toString()).toBe(`{"card":"${MC}","x":1.0}`);
    expect(r.counts).toEqual({ 'credit-card': 1 });
  });
});
