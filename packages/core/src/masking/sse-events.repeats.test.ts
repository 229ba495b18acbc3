// A key repeated in one object of an event's data (sse-events.ts lastKeysOnly). JSON.parse, and
// so the masker, reads the last copy, as the TypeScript, Python and Go SDKs do; an event that
// came out unchanged went byte for byte, so a client that keeps the first copy read a value
// nobody checked. Now such an event is rebuilt from what was read; so is an MCP answer that
// repeats a key (McpAnswer.json, McpSseRelay), as a JSON Messages answer already was.
import { McpAnswer } from '../mcp/answer.ts';
import { SseParser } from '../sse/parser.ts';
import { compileMasking } from './index.ts';
import { buildEngine } from './policy.ts';
import { lastKeysOnly } from './sse-events.ts';
import { AnthropicSseMasker } from './sse-masker.ts';

const EMAIL = 'jane.doe@example.com';
const events = (s: string) => new SseParser().push(Buffer.from(s));
const datas = (s: string) => events(s).map((e) => e.data);

function run(input: string, cuts: number[] = []): string {
  const m = new AnthropicSseMasker(buildEngine({ mask: ['email'] }));
  const bytes = Buffer.from(input);
  let out = '';
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out += m.push(bytes.subarray(at, c)).toString();
    at = c;
  }
  return out + m.end().toString();
}

describe('lastKeysOnly', () => {
  const one = (s: string) => events(s)[0]!;
  const read = (s: string) => JSON.parse(one(s).data!) as unknown;

  test.each([
    ['compact, as the API writes it', 'data: {"type":"ping"}\n\n'],
    ['spaced', 'event: ping\ndata: { "type" : "ping", "a": [ {"b": 1}, {"b": 2} ] }\n\n'],
    ['the same key in two objects', 'data: {"a":{"k":1},"b":{"k":2},"k":3}\n\n'],
    ['a number JSON.stringify writes otherwise', 'data: {"n":1.0,"m":1e3}\n\n'],
    ['keys that differ only in case (JSON.parse keeps both)', 'data: { "type": "ping", "Key": 1, "key": 2 }\n\n'],
  ])('no key repeated (%s): the event itself', (_, input) => {
    const ev = one(input);
    expect(lastKeysOnly(ev, read(input))).toBe(ev);
  });

  test.each([
    ['at the top', `data: {"type":"x","note":"${EMAIL}","note":"ok"}\n\n`, '{"type":"x","note":"ok"}'],
    ['nested', `data: {"delta":{"text":"${EMAIL}","text":"ok"}}\n\n`, '{"delta":{"text":"ok"}}'],
    ['written with an escape', `data: {"text":"${EMAIL}","te\\u0078t":"ok"}\n\n`, '{"text":"ok"}'],
  ])('a key repeated %s: rebuilt from the last copies, its name and id kept', (_, input, data) => {
    const ev = one(`event: future\nid: 7\n${input}`);
    const out = lastKeysOnly(ev, JSON.parse(ev.data!));
    expect(out.raw.toString()).toBe(`event: future\nid: 7\ndata: ${data}\n\n`);
    expect([out.event, out.id, out.data, out.incomplete]).toEqual(['future', '7', data, false]);
  });

  test('an unterminated event stays unterminated', () => {
    const p = new SseParser();
    p.push(Buffer.from(`data: {"a":"${EMAIL}","a":1}`));
    const [ev] = p.end();
    const out = lastKeysOnly(ev!, JSON.parse(ev!.data!));
    expect([out.raw.toString(), out.incomplete]).toEqual(['data: {"a":1}\n', true]);
  });
});

describe('a Messages stream', () => {
  test.each([
    ['a text delta', `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"mail ${EMAIL} ","text":"ok. "}}`],
    [
      'a field of message_delta',
      `{"type":"message_delta","delta":{"stop_reason":"end_turn","note":"${EMAIL}","note":"-"},"usage":{"output_tokens":1}}`,
    ],
    [
      'a text block of content_block_start',
      `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"${EMAIL}","text":""}}`,
    ],
    ['a ping', `{"type":"ping","type":"ping","x":"${EMAIL}","x":0}`],
  ])('%s whose first copy holds an email: the email goes out in no split of the stream', (_, data) => {
    const input = `event: ${JSON.parse(data).type}\ndata: ${data}\n\n`;
    for (let cut = 0; cut < Buffer.byteLength(input); cut += 7) {
      const out = run(input, cut === 0 ? [] : [cut]);
      expect(out).not.toContain('jane.doe');
      expect(datas(out).map((d) => JSON.parse(d!))).toEqual(datas(out).length ? [JSON.parse(data)] : []);
    }
  });

  test('events that repeat no key still pass byte for byte', () => {
    const input = 'event: ping\ndata: { "type": "ping" }\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n';
    expect(run(input)).toBe(input);
  });
});

describe('an MCP answer', () => {
  const answer = (masking = compileMasking({ mask: ['phone'] })) =>
    new McpAnswer({ masking, maskFields: [], keepTool: () => true, keepResource: () => true, keepPrompt: () => true });
  const repeated = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"${EMAIL}","text":"ok"}]}}`;
  const checked = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'ok' }] } };

  test('JSON, a key repeated: serialized from what was checked, even with nothing masked or no masking at all', () => {
    for (const a of [answer(), answer(compileMasking(undefined))]) {
      const out = a.json(Buffer.from(repeated)).body.toString();
      expect(out).not.toContain('jane.doe');
      expect(JSON.parse(out)).toEqual(checked);
    }
  });

  test('an event stream, a key repeated: the event rebuilt; one without a repeat byte for byte', () => {
    const plain = `id: 2\nevent: message\ndata: {"jsonrpc":"2.0","id":2,"result":{}}\n\n`;
    const out = answer()
      .stream()
      .push(Buffer.from(`event: message\ndata: ${repeated}\n\n${plain}`))
      .toString();
    expect(out).not.toContain('jane.doe');
    expect(out.endsWith(plain)).toBe(true);
    expect(JSON.parse(datas(out)[0]!)).toEqual(checked);
  });

  test('JSON without a repeat: the bytes as they came', () => {
    const body = '{ "jsonrpc": "2.0", "id": 1, "result": {} }';
    expect(answer().json(Buffer.from(body)).body.toString()).toBe(body);
  });
});
