// What the real TypeScript SDK assembles from a masked stream whose content_block events carry
// block indexes the API never sends. The SDK finds a delta's block with `content.at(index)`, so
// "0", 0.5, null, true and -1 all name a block, and it appends every started block whatever
// the start's index says. A value split between such an index and the real one must not reach
// the SDK whole (sse-masker.ts, blockIndex; docs/SECURITY.md).
import Anthropic from '@anthropic-ai/sdk';
import { buildEngine } from './policy.ts';
import { AnthropicSseMasker } from './sse-masker.ts';

const ev = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const text = (index: unknown, t: string) =>
  ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } });
const start = (index: unknown, t = '') =>
  ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: t } });
const stop = (index: unknown) => ev('content_block_stop', { type: 'content_block_stop', index });
const MESSAGE_START = ev('message_start', {
  type: 'message_start',
  message: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-6',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 0 },
  },
});
const END =
  ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } }) +
  ev('message_stop', { type: 'message_stop' });

const SECRET = 'jane@example.com';

/** The upstream's events, masked (email) event by event, then read by the SDK: its text events and its final message's text. */
async function sdkReads(events: string[]): Promise<{ streamed: string; final: string }> {
  const m = new AnthropicSseMasker(buildEngine({ mask: ['email'] }));
  let sse = '';
  for (const e of events) sse += m.push(Buffer.from(e)).toString();
  sse += m.end().toString();
  const client = new Anthropic({
    apiKey: 'test',
    baseURL: 'http://sdk.test.invalid',
    maxRetries: 0,
    fetch: async () => new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
  const stream = client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
  let streamed = '';
  stream.on('text', (t) => (streamed += t));
  const message = await stream.finalMessage();
  const final = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  return { streamed, final };
}

describe('block indexes as the SDK reads them', () => {
  test('control: a value split over two deltas of block 0 is masked', async () => {
    const r = await sdkReads([MESSAGE_START, start(0), text(0, 'mail jane@exa'), text(0, 'mple.com now'), stop(0), END]);
    expect(r.final).toBe('mail [MASKED:email] now');
    expect(r.streamed).toBe(r.final);
  });

  test.each([
    ['"0"', '0'],
    ['0.5', 0.5],
    ['null', null],
    ['true', true],
    ['-1', -1],
    ['absent', undefined],
    ['"00"', '00'],
  ])('a delta with index %s never carries half of a value to the SDK', async (_name, index) => {
    // half in a delta the SDK may put in block 0, its release at that "block"'s stop, the rest in block 0
    const r = await sdkReads([MESSAGE_START, start(0), text(index, 'mail jane@exa'), stop(index), text(0, 'mple.com now'), stop(0), END]);
    expect(r.final).not.toContain(SECRET);
    expect(r.streamed).not.toContain(SECRET);
    expect(r.final).not.toContain('jane');
  });

  test('a start out of order never gives one block two streams', async () => {
    // the SDK appends the second start as block 1, but the masker would have kept its text with block 0's
    const r = await sdkReads([MESSAGE_START, start(0), start(0, 'mail jane@exa'), stop(0), text(1, 'mple.com now'), stop(1), END]);
    expect(r.final).not.toContain(SECRET);
    expect(r.streamed).not.toContain(SECRET);
    expect(r.final).not.toContain('jane');
  });

  test('blocks the message already holds come first: the next start carries their count', async () => {
    const withBlock = MESSAGE_START.replace('"content":[]', '"content":[{"type":"text","text":"a "}]');
    const r = await sdkReads([withBlock, start(1), text(1, 'mail jane@exa'), text(1, 'mple.com now'), stop(1), END]);
    expect(r.final).toBe('a mail [MASKED:email] now');
  });
});

describe('event names and data types as the SDK reads them', () => {
  const named = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  const delta = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `mail ${SECRET} now` } };

  test.each(['message_delta', 'content_block_stop', 'future_event', 'message'])(
    'a text delta under the event name %s is masked or dropped, never passed on clear',
    async (name) => {
      const r = await sdkReads([MESSAGE_START, start(0), named(name, delta), stop(0), END]);
      expect(r.final).not.toContain(SECRET);
      expect(r.streamed).not.toContain(SECRET);
    },
  );

  test('a data type written twice is read as the SDK reads it (the last)', async () => {
    const raw = `{"type":"ping","type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"mail ${SECRET} now"}}`;
    const r = await sdkReads([MESSAGE_START, start(0), `event: content_block_delta\ndata: ${raw}\n\n`, stop(0), END]);
    expect(r.final).not.toContain(SECRET);
    const unnamed = await sdkReads([MESSAGE_START, start(0), `event: ping\ndata: ${raw}\n\n`, stop(0), END]);
    expect(unnamed.final).not.toContain(SECRET);
  });

  test('the type after other members is still the type', async () => {
    const raw = `{"index":0,"delta":{"type":"text_delta","text":"mail ${SECRET} now"},"type":"content_block_delta"}`;
    const r = await sdkReads([MESSAGE_START, start(0), `event: message_delta\ndata: ${raw}\n\n`, stop(0), END]);
    expect(r.final).not.toContain(SECRET);
  });
});

describe('content after its block or its message ended, as the SDK reads it', () => {
  // The masker decides a block's text at its end: `jane@exa` is no address, so it goes out as
  // final. The SDK still appends a later delta to the block at that index (content.at(index)), so
  // `mple.com` after the stop made the address whole in its text events and final message.
  const ERROR = ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  test.each([
    ['content_block_stop', [stop(0), text(0, 'mple.com now'), END]],
    ['content_block_stop and a second start at the same index', [stop(0), start(0), text(0, 'mple.com now'), stop(0), END]],
    [
      'message_delta',
      [END.split('event: message_stop')[0]!, text(0, 'mple.com now'), 'event: message_stop' + END.split('event: message_stop')[1]!],
    ],
  ])('a delta after %s is dropped (before: the SDK read the address whole)', async (_after, rest) => {
    const r = await sdkReads([MESSAGE_START, start(0), text(0, 'mail jane@exa'), ...rest]);
    expect(r.final).not.toContain(SECRET);
    expect(r.streamed).not.toContain(SECRET);
    expect(r.final).toBe('mail jane@exa');
  });

  test('after an error event nothing of the block is released, and nothing after it', async () => {
    const m = new AnthropicSseMasker(buildEngine({ mask: ['email'] }));
    const out = [MESSAGE_START, start(0), text(0, 'mail jane@exa'), ERROR, text(0, 'mple.com now')]
      .map((e) => m.push(Buffer.from(e)).toString())
      .join('');
    expect(out + m.end().toString()).not.toContain('jane@exa');
    expect(out).not.toContain('mple.com');
  });
});
