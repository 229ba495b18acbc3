// The masker's `observe` hook: the sidecar reads usage and errors from the events the masker
// parsed, instead of parsing every stream twice. It must see exactly what a parser of its own
// would see: every event as the upstream sent it (before masking), in order, also the events that
// follow a block match in the same chunk, and nothing after the stream was ended.
import { SseParser, type SseEvent } from '../sse/parser.ts';
import { buildEngine } from './policy.ts';
import { compileMasking } from './index.ts';
import { AnthropicSseMasker } from './sse-masker.ts';

const ev = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const text = (t: string) => ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } });
const STREAM =
  ev('message_start', { type: 'message_start', message: { id: 'msg_1', usage: { input_tokens: 5 } } }) +
  ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
  text('write to jane.doe@exa') +
  text('mple.com today') +
  ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
  ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }) +
  ': keep-alive\n\n' +
  ev('message_stop', { type: 'message_stop' });

const seen = (events: SseEvent[]) => events.map((e) => ({ event: e.event, data: e.data, raw: e.raw.toString(), incomplete: e.incomplete }));

function parsedAlone(chunks: Buffer[]): SseEvent[] {
  const p = new SseParser();
  return [...chunks.flatMap((c) => p.push(Buffer.from(c))), ...p.end()];
}

function split(s: string, at: number[]): Buffer[] {
  const b = Buffer.from(s);
  const cuts = [0, ...at, b.length];
  return cuts.slice(1).map((end, i) => b.subarray(cuts[i], end));
}

describe('AnthropicSseMasker observe', () => {
  test.each([[[]], [[1]], [[40, 41, 200]], [[STREAM.indexOf('mple')]], [Array.from({ length: 60 }, (_, i) => i * 13 + 7)]])(
    'sees every event unmasked, in order, for the cuts %j',
    (cuts) => {
      const observed: SseEvent[] = [];
      const m = new AnthropicSseMasker(buildEngine({ mask: ['email'] }), (e) => observed.push(e));
      const chunks = split(STREAM, cuts);
      let out = '';
      for (const c of chunks) out += m.push(Buffer.from(c)).toString();
      out += m.end().toString();
      expect(out).toContain('[MASKED:email]');
      expect(seen(observed)).toEqual(seen(parsedAlone(chunks)));
      expect(observed.some((e) => e.data?.includes('jane.doe@exa'))).toBe(true);
    },
  );

  test('after a block match: the rest of that chunk is still observed, later chunks are not', () => {
    const observed: SseEvent[] = [];
    const m = new AnthropicSseMasker(buildEngine({ block: ['email'] }), (e) => observed.push(e));
    const cut = STREAM.indexOf('event: message_delta');
    const [first, second] = split(STREAM, [cut]);
    expect(m.push(first!).toString()).toContain('"type":"permission_error"');
    expect(m.blocked).toBe('email');
    expect(seen(observed)).toEqual(seen(parsedAlone([first!])));
    expect(m.push(second!).length).toBe(0);
    expect(m.end().length).toBe(0);
    expect(observed).toHaveLength(5);
  });

  test('without observe the masker masks the same', () => {
    const a = new AnthropicSseMasker(buildEngine({ mask: ['email'] }));
    const b = new AnthropicSseMasker(buildEngine({ mask: ['email'] }), () => undefined);
    const chunks = split(STREAM, [33, 250]);
    const run = (m: AnthropicSseMasker) => chunks.map((c) => m.push(Buffer.from(c)).toString()).join('') + m.end().toString();
    expect(run(b)).toBe(run(a));
  });
});

describe('createSseMasker(observe) without detectors', () => {
  test('passes the bytes through unchanged and still shows every event, the unterminated last one at end()', () => {
    const observed: SseEvent[] = [];
    const m = compileMasking(undefined).createSseMasker((e) => observed.push(e));
    const tail = 'event: ping\ndata: {"type":"ping"}\n';
    const chunks = split(STREAM + tail, [100, 300]);
    const out = Buffer.concat([...chunks.map((c) => m.push(c)), m.end()]).toString();
    expect(out).toBe(STREAM + tail);
    expect(seen(observed)).toEqual(seen(parsedAlone(chunks)));
    expect(observed.at(-1)).toMatchObject({ event: 'ping', incomplete: true });
    expect(m.counts).toEqual({});
  });

  test('without observe it parses nothing and passes the chunk itself', () => {
    const m = compileMasking({}).createSseMasker();
    const c = Buffer.from(STREAM);
    expect(m.push(c)).toBe(c);
    expect(m.end().length).toBe(0);
  });
});
