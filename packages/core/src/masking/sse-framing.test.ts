// The lines beside an event's data (sse-framing.ts): comments, `id`, `retry`, unknown fields, an
// event name that is not a known one. Before, a stream masker let them through byte for byte
// whenever the event's data came out unchanged, so an email in a comment, in an `id` (which a
// browser's EventSource hands to the page as lastEventId) or in the name of an event with no type
// reached the caller in clear; so did a `ping` whose data is not JSON.
import { sseErrorEvent } from '../anthropic/errors.ts';
import { McpAnswer } from '../mcp/answer.ts';
import type { McpMessageOutcome } from '../mcp/answer.ts';
import { SseParser } from '../sse/parser.ts';
import { compileMasking } from './index.ts';
import { buildEngine } from './policy.ts';
import { maskFraming } from './sse-framing.ts';
import { AnthropicSseMasker, maskingBlockedMessage } from './sse-masker.ts';

const EMAIL = 'jane.doe@example.com';
const SSN = '123-45-6789';
const masker = () => new AnthropicSseMasker(buildEngine({ mask: ['email', 'credit-card'], block: ['ssn'] }));
const events = (s: string) => new SseParser().push(Buffer.from(s));
/** What a client reads of a stream: each dispatched event's name, id and data (retry is the client's own). */
const read = (s: string) => events(s).map((e) => ({ event: e.event, id: e.id, data: e.data }));

/** `input` through a masker in chunks cut at `cuts`. */
function run(input: string, cuts: number[] = []): { out: string; m: AnthropicSseMasker } {
  const m = masker();
  const bytes = Buffer.from(input);
  const parts: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    parts.push(m.push(bytes.subarray(at, c)));
    at = c;
  }
  parts.push(m.end());
  return { out: Buffer.concat(parts).toString(), m };
}

const DELTA = '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}';
const PING = '{"type": "ping"}';

describe('which blocks the parser flags', () => {
  test.each([
    ['a known event name and data', false, `event: message_delta\ndata: ${DELTA}\n\n`],
    ['data alone', false, `data: ${DELTA}\n\n`],
    ['event: message (the default, an MCP stream’s)', false, 'event: message\ndata: {}\n\n'],
    ['a BOM before the data line', false, `\uFEFFdata: ${DELTA}\n\n`],
    ['a comment', true, ': keep-alive\n\n'],
    ['an id', true, 'id: 7\ndata: {}\n\n'],
    ['an id with a NUL (ignored by clients)', true, 'id: a\0b\ndata: {}\n\n'],
    ['a retry', true, 'retry: 3000\ndata: {}\n\n'],
    ['a retry that is not a number', true, 'retry: soon\ndata: {}\n\n'],
    ['an unknown field', true, 'x-note: hi\ndata: {}\n\n'],
    ['a line without a colon', true, 'hello\ndata: {}\n\n'],
    ['an unknown event name', true, 'event: future\ndata: {}\n\n'],
    ['a known name with a space after it', true, 'event: ping \ndata: {}\n\n'],
    ['an empty event name', true, 'event\ndata: {}\n\n'],
  ])('%s: framed %s', (_, framed, input) => {
    const [ev] = events(input);
    expect(ev!.framed).toBe(framed);
  });

  test('the flag is the block’s own: the next block starts without it', () => {
    expect(events(': hi\n\nevent: ping\ndata: {}\n\n').map((e) => e.framed)).toEqual([true, false]);
  });
});

describe('maskFraming', () => {
  const upper = (line: string) => line.replace(/secret/g, 'XX');

  test('a block without such lines is returned as it is, and mask is not called', () => {
    const [ev] = events(`event: message_delta\ndata: ${DELTA}\n\n`);
    expect(maskFraming(ev!, () => fail('called'))).toBe(ev);
  });

  test('such lines without a match: the event itself (its bytes pass as they came)', () => {
    const [ev] = events(': keep-alive\r\nid: 7\r\nretry: 10\r\nevent: future\r\ndata: {"a": 1}\r\n\r\n');
    expect(maskFraming(ev!, upper)).toBe(ev);
  });

  test('a match: the lines in order, masked or left out, data lines as they came, read again', () => {
    const [ev] = events(': secret\nid: secret-1\nevent: secret\ndata: {"a": "secret"}\nx: secret\ndata: 2\n\n');
    const out = maskFraming(ev!, (l) => (l.startsWith('x:') ? undefined : upper(l)));
    expect(out.raw.toString()).toBe(': XX\nid: XX-1\nevent: XX\ndata: {"a": "secret"}\ndata: 2\n\n');
    expect([out.event, out.id, out.data, out.comments, out.incomplete]).toEqual(['XX', 'XX-1', '{"a": "secret"}\n2', 1, false]);
  });

  test('a data line without a colon (an empty data) is a data line too: kept when every other line is left out', () => {
    const [ev] = events('id: secret\ndata\n\n');
    const out = maskFraming(ev!, () => undefined);
    expect([out.raw.toString(), out.id, out.data]).toEqual(['data\n\n', undefined, '']);
  });

  test('a BOM before a data line keeps it a data line; before an id line, the id is masked', () => {
    const [ev] = events('\uFEFFid: secret\n\uFEFFdata: secret\n\n');
    const out = maskFraming(ev!, upper);
    expect([out.id, out.data]).toEqual(['XX', 'secret']);
  });

  test('the "\\n" that completed the previous block’s "\\r\\n" is left out, not read as a blank line', () => {
    const p = new SseParser();
    expect(p.push(Buffer.from('data: 1\r\n\r'))).toHaveLength(1);
    const [ev] = p.push(Buffer.from('\nid: secret\ndata: 2\n\n'));
    expect(ev!.raw[0]).toBe(0x0a);
    const out = maskFraming(ev!, upper);
    expect(out.raw.toString()).toBe('id: XX\ndata: 2\n\n');
    expect([out.id, out.data]).toEqual(['XX', '2']);
  });

  test('an unterminated last block stays unterminated', () => {
    const p = new SseParser();
    p.push(Buffer.from('id: secret\ndata: 1'));
    const [ev] = p.end();
    const out = maskFraming(ev!, upper);
    expect([out.incomplete, out.id, out.data, out.raw.toString()]).toEqual([true, 'XX', '1', 'id: XX\ndata: 1']);
  });

  test('a block of nothing but lines left out: nothing of it is left', () => {
    const [complete] = events(': secret\n\n');
    expect(maskFraming(complete!, () => undefined).raw.toString()).toBe('\n');
    const p = new SseParser();
    p.push(Buffer.from(': secret'));
    const [cut] = p.end();
    const out = maskFraming(cut!, () => undefined);
    expect([out.raw.length, out.incomplete, out.data]).toEqual([0, true, undefined]);
  });
});

describe('a Messages stream: the lines beside the data', () => {
  test.each([
    ['a comment', `: ${EMAIL}\n\n`],
    ['a comment before an event', `: ${EMAIL}\nevent: message_delta\ndata: ${DELTA}\n\n`],
    ['an id', `event: message_delta\nid: ${EMAIL}\ndata: ${DELTA}\n\n`],
    ['an id on a block without data', `id: ${EMAIL}\n\n`],
    ['a retry', 'retry: 4111111111111111\nevent: ping\ndata: {"type": "ping"}\n\n'],
    ['an unknown field', `x-customer: ${EMAIL}\nevent: ping\ndata: ${PING}\n\n`],
    ['a line without a colon', `${EMAIL}\nevent: ping\ndata: ${PING}\n\n`],
    ['the name of an event whose data has no type', `event: ${EMAIL}\ndata: {"note": "hi"}\n\n`],
    ['a name a later event line replaces', `event: ${EMAIL}\nevent: ping\ndata: ${PING}\n\n`],
    ['a name after a BOM', `\uFEFFevent: ${EMAIL}\ndata: {}\n\n`],
    ['lines ending in CR', `: ${EMAIL}\revent: ping\rdata: ${PING}\r\r`],
  ])('%s: masked, in every split of the stream', (_, input) => {
    const whole = run(input);
    expect(whole.out).not.toContain(EMAIL);
    expect(whole.out).not.toContain('4111111111111111');
    expect(whole.m.counts).toEqual(input.includes('4111') ? { 'credit-card': 1 } : { email: 1 });
    for (let cut = 1; cut < Buffer.byteLength(input); cut++) {
      const split = run(input, [cut]);
      expect(split.out).not.toContain(EMAIL);
      expect(read(split.out)).toEqual(read(whole.out));
    }
  });

  test('what is masked: the value, as a client reads it; the event and its data otherwise as they came', () => {
    expect(run(`event: message_delta\nid: ${EMAIL}\ndata: ${DELTA}\n\n`).out).toBe(
      `event: message_delta\nid: [MASKED:email]\ndata: ${DELTA}\n\n`,
    );
    const named = run(`event: mail ${EMAIL}\ndata: {"note": "hi"}\n\n`).out;
    expect(read(named)).toEqual([{ event: 'mail [MASKED:email]', id: undefined, data: '{"note": "hi"}' }]);
  });

  test('lines without a match, and a stream without such lines, pass byte for byte', () => {
    const input = `: keep-alive\nretry: 3000\nid: 42\nevent: ping\ndata: ${PING}\n\nevent: message_delta\ndata: ${DELTA}\n\n`;
    const { out, m } = run(input);
    expect(out).toBe(input);
    expect(m.counts).toEqual({});
  });

  test('a data field and its framing both with a match: each counted once, both masked', () => {
    const { out, m } = run(`id: ${EMAIL}\nevent: future\ndata: {"type": "future", "note": "${EMAIL}"}\n\n`);
    expect(out).not.toContain(EMAIL);
    expect(read(out)).toEqual([{ event: 'future', id: '[MASKED:email]', data: '{"type":"future","note":"[MASKED:email]"}' }]);
    expect(m.counts).toEqual({ email: 2 });
  });

  test('a block category in a comment ends the stream with the error event, before that event and after the ones before it', () => {
    const { out, m } = run(
      `event: ping\ndata: ${PING}\n\n: ssn ${SSN}\nevent: message_delta\ndata: ${DELTA}\n\nevent: message_stop\ndata: {}\n\n`,
    );
    expect(out).toBe(`event: ping\ndata: ${PING}\n\n` + sseErrorEvent('permission_error', maskingBlockedMessage('ssn')));
    expect(m.blocked).toBe('ssn');
  });

  test('a block category in an id, in a chunk after text deltas: the deltas held are not released', () => {
    const m = masker();
    const start =
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n';
    const delta =
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"mail jane.doe@exa"}}\n\n';
    m.push(Buffer.from(start));
    const out = m.push(Buffer.from(`${delta}id: ${SSN}\ndata: {}\n\n`)).toString();
    expect(out).toBe(sseErrorEvent('permission_error', maskingBlockedMessage('ssn')));
    expect(m.end().length).toBe(0);
  });
});

describe('a ping whose data is not JSON', () => {
  test('with a match: dropped (no client reads a ping, but a raw reader would), counted', () => {
    const { out, m } = run(`event: ping\ndata: ${EMAIL}\n\nevent: message_stop\ndata: {"type": "message_stop"}\n\n`);
    expect(out).toBe('event: message_stop\ndata: {"type": "message_stop"}\n\n');
    expect(m.counts).toEqual({ email: 1 });
  });

  test('without one: passed as it came', () => {
    expect(run('event: ping\ndata: keep going\n\n').out).toBe('event: ping\ndata: keep going\n\n');
  });

  test('with a block category: the stream ends with the error event', () => {
    const { out, m } = run(`event: ping\ndata: ${SSN}\n\n`);
    expect(out).toBe(sseErrorEvent('permission_error', maskingBlockedMessage('ssn')));
    expect(m.blocked).toBe('ssn');
  });
});

describe('an MCP stream: the same lines', () => {
  const masking = compileMasking({ mask: ['email'], block: ['ssn'] });
  const answer = new McpAnswer({ masking, maskFields: [], keepTool: () => true, keepResource: () => true, keepPrompt: () => true });
  const result = (id: number, text: string) => JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });

  function relay(input: string): { out: string; outcomes: McpMessageOutcome[] } {
    const outcomes: McpMessageOutcome[] = [];
    const r = answer.stream((o) => outcomes.push(o));
    return { out: r.push(Buffer.from(input)).toString() + r.end().toString(), outcomes };
  }

  test('an id, a comment and an unknown event name with an email: masked, counted with the event’s message', () => {
    const { out, outcomes } = relay(`: ${EMAIL}\nid: ${EMAIL}\nevent: message\ndata: ${result(1, 'ok')}\n\nevent: ${EMAIL}\ndata: {}\n\n`);
    expect(out).not.toContain(EMAIL);
    expect(read(out)).toEqual([
      { event: 'message', id: '[MASKED:email]', data: result(1, 'ok') },
      { event: '[MASKED:email]', id: undefined, data: '{}' },
    ]);
    expect(outcomes[0]).toEqual({ id: 1, counts: { email: 2 }, hidden: 0 });
  });

  test('an id on a priming event without data: masked and reported on its own', () => {
    const { out, outcomes } = relay(`id: ${EMAIL}\ndata:\n\n`);
    expect(out).toBe('id: [MASKED:email]\ndata:\n\n');
    expect(outcomes).toEqual([{ counts: { email: 1 }, hidden: 0 }]);
  });

  test('lines without a match: byte for byte, nothing reported for them', () => {
    const input = `: keep-alive\nid: ev-1\nevent: message\ndata: ${result(1, 'ok')}\n\n`;
    const { out, outcomes } = relay(input);
    expect(out).toBe(input);
    expect(outcomes).toEqual([{ id: 1, counts: {}, hidden: 0 }]);
  });

  test('a block category in the id: the response becomes the blocked error, the id line left out', () => {
    const { out, outcomes } = relay(`id: ${SSN}\nevent: message\ndata: ${result(3, 'ok')}\n\n`);
    expect(out).not.toContain(SSN);
    const [ev] = read(out);
    expect(ev!.id).toBeUndefined();
    expect(JSON.parse(ev!.data!)).toMatchObject({ id: 3, error: { data: { category: 'ssn' } } });
    expect(outcomes[0]).toMatchObject({ id: 3, blocked: 'ssn' });
  });

  test('a scope without masking: nothing is checked', () => {
    const bare = new McpAnswer({
      masking: compileMasking(undefined),
      maskFields: [],
      keepTool: () => true,
      keepResource: () => true,
      keepPrompt: () => true,
    });
    const input = `id: ${EMAIL}\nevent: message\ndata: ${result(1, 'ok')}\n\n`;
    expect(bare.stream().push(Buffer.from(input)).toString()).toBe(input);
  });
});
