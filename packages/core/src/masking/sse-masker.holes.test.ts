// Streams the API never sends, built so that a value would reach the caller's SDK unmasked if
// the masker read them differently from the SDK: a BOM before a line, text carried in
// message_start, texts that are not strings, fields of text block starts, message_delta and
// message_start beside the content, data JSON.parse rejects, unknown events, citations. Each
// stream is masked, then read by the real TypeScript SDK (its final message and its text
// events), or checked byte by byte where the SDK fails on the stream anyway.
import Anthropic from '@anthropic-ai/sdk';
import { buildEngine } from './policy.ts';
import { AnthropicSseMasker } from './sse-masker.ts';

const ev = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const delta = (index: number, d: unknown) => ev('content_block_delta', { type: 'content_block_delta', index, delta: d });
const text = (index: number, t: unknown) => delta(index, { type: 'text_delta', text: t });
const start = (index: number, cb: unknown) => ev('content_block_start', { type: 'content_block_start', index, content_block: cb });
const stop = (index: number) => ev('content_block_stop', { type: 'content_block_stop', index });
const message = (extra: Record<string, unknown> = {}) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-6',
  content: [],
  stop_reason: null,
  stop_sequence: null,
  usage: { input_tokens: 1, output_tokens: 0 },
  ...extra,
});
const MESSAGE_START = ev('message_start', { type: 'message_start', message: message() });
const MESSAGE_DELTA = ev('message_delta', {
  type: 'message_delta',
  delta: { stop_reason: 'end_turn', stop_sequence: null },
  usage: { output_tokens: 9 },
});
const END = MESSAGE_DELTA + ev('message_stop', { type: 'message_stop' });

const SECRET = 'jane.doe@example.com';

/** The upstream's events masked (email, credit-card) one push each; the bytes the caller receives. */
function masked(events: string[]): string {
  const m = new AnthropicSseMasker(buildEngine({ mask: ['email', 'credit-card'] }));
  let sse = '';
  for (const e of events) sse += m.push(Buffer.from(e)).toString();
  return sse + m.end().toString();
}

/** What the TypeScript SDK makes of the masked stream: its text events and its final message. */
async function sdkReads(events: string[]): Promise<{ sse: string; streamed: string; final: Anthropic.Message }> {
  const sse = masked(events);
  const client = new Anthropic({
    apiKey: 'test',
    baseURL: 'http://sdk.test.invalid',
    maxRetries: 0,
    fetch: async () => new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
  const stream = client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
  let streamed = '';
  stream.on('text', (t) => (streamed += t));
  const final = await stream.finalMessage();
  return { sse, streamed, final };
}

const finalText = (m: Anthropic.Message) => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

describe('a byte order mark before a line', () => {
  test('"\\uFEFFdata:" mid-stream is a data line, as the SDK reads it: its text is masked', async () => {
    const d = text(0, `mail ${SECRET} ok`).replace('\ndata: ', '\n\ufeffdata: ');
    const r = await sdkReads([MESSAGE_START, start(0, { type: 'text', text: '' }), d, stop(0), END]);
    expect(finalText(r.final)).toBe('mail [MASKED:email] ok');
    expect(r.streamed).toBe('mail [MASKED:email] ok');
    expect(r.sse).not.toContain('jane');
  });
});

describe('text carried in message_start', () => {
  test('a text block of message_start and the deltas at its index are masked as one text', async () => {
    const start0 = ev('message_start', {
      type: 'message_start',
      message: message({ content: [{ type: 'text', text: 'mail jane.doe@exa' }] }),
    });
    const r = await sdkReads([start0, text(0, 'mple.com ok'), END]);
    expect(finalText(r.final)).toBe('mail [MASKED:email] ok');
    expect(r.sse).not.toContain('jane');
  });

  test("released at the block's stop, after the message's own text", async () => {
    const start0 = ev('message_start', {
      type: 'message_start',
      message: message({
        content: [
          { type: 'text', text: 'hello. ' },
          { type: 'text', text: 'mail jane.doe@exa' },
        ],
      }),
    });
    const r = await sdkReads([start0, text(1, 'mple.com'), stop(1), END]);
    expect(r.final.content).toEqual([
      { type: 'text', text: 'hello. ' },
      { type: 'text', text: 'mail [MASKED:email]' },
    ]);
  });

  test('a text that is not a string becomes empty (the SDK would join it to the deltas with +)', async () => {
    const start0 = ev('message_start', {
      type: 'message_start',
      message: message({ content: [{ type: 'text', text: ['mail jane.doe@exa'] }] }),
    });
    const r = await sdkReads([start0, text(0, 'mple.com ok'), END]);
    expect(finalText(r.final)).toBe('mple.com ok');
    expect(r.sse).not.toContain('jane');
  });
});

describe('texts that are not strings', () => {
  test('text_delta with an array text: dropped', async () => {
    const r = await sdkReads([
      MESSAGE_START,
      start(0, { type: 'text', text: '' }),
      text(0, ['jane.doe@exa']),
      text(0, ['mple.com']),
      stop(0),
      END,
    ]);
    expect(finalText(r.final)).toBe('');
    expect(r.sse).not.toContain('jane');
  });

  test('text_delta with a number: dropped', async () => {
    // the SDK would read "card 4111 1111 1111 " + 1111 + " ok": a card number
    const r = await sdkReads([
      MESSAGE_START,
      start(0, { type: 'text', text: '' }),
      text(0, 'card 4111 1111 1111 '),
      text(0, 1111),
      text(0, ' ok'),
      stop(0),
      END,
    ]);
    expect(finalText(r.final)).toBe('card 4111 1111 1111  ok');
  });

  test('input_json_delta with an array partial_json: dropped', async () => {
    const tool = start(0, { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} });
    const pj = (p: unknown) => delta(0, { type: 'input_json_delta', partial_json: p });
    const out = masked([MESSAGE_START, tool, pj(['{"a":"jane.doe@exa']), pj(['mple.com"}']), stop(0), END]);
    expect(out).not.toContain('jane');
    expect(out).not.toContain('input_json_delta');
  });

  test('a text block start whose text is not a string: dropped, and not counted', async () => {
    const r = await sdkReads([
      MESSAGE_START,
      start(0, { type: 'text', text: ['mail jane.doe@exa'] }),
      text(0, 'mple.com'),
      start(0, { type: 'text', text: '' }),
      text(0, ' and more'),
      stop(0),
      END,
    ]);
    expect(r.sse).not.toContain('jane');
    // (the delta before the start had no block for the SDK; its text, held, rides with the block's)
    expect(finalText(r.final)).toBe('mple.com and more');
  });
});

describe('the other fields of a text block start', () => {
  test('citations of a text block start are masked; its text keeps its stream', async () => {
    const cb = {
      type: 'text',
      text: '',
      citations: [
        {
          type: 'char_location',
          cited_text: `by ${SECRET}`,
          document_index: 0,
          document_title: SECRET,
          start_char_index: 0,
          end_char_index: 3,
        },
      ],
    };
    const r = await sdkReads([MESSAGE_START, start(0, cb), text(0, 'mail jane.doe@exa'), text(0, 'mple.com ok'), stop(0), END]);
    expect(r.sse).not.toContain('jane');
    const block = r.final.content[0] as Anthropic.TextBlock;
    expect(block.text).toBe('mail [MASKED:email] ok');
    expect(block.citations).toEqual([{ ...cb.citations[0], cited_text: 'by [MASKED:email]', document_title: '[MASKED:email]' }]);
  });
});

describe('message_delta and message_start beside the content', () => {
  test('stop_details, container and other fields are masked; stop_reason, usage and ids are kept', async () => {
    const md = ev('message_delta', {
      type: 'message_delta',
      delta: {
        stop_reason: 'refusal',
        stop_sequence: null,
        stop_details: { type: 'refusal', explanation: `asked for ${SECRET}` },
        container: { id: 'container_1', expires_at: '2026-12-01T00:00:00Z', note: SECRET },
      },
      usage: { output_tokens: 9 },
    });
    const ms = ev('message_start', { type: 'message_start', message: message({ note: SECRET, container: { id: 'c', owner: SECRET } }) });
    const r = await sdkReads([
      ms,
      start(0, { type: 'text', text: '' }),
      text(0, 'hi. '),
      stop(0),
      md,
      ev('message_stop', { type: 'message_stop' }),
    ]);
    expect(r.sse).not.toContain('jane');
    const f = r.final as unknown as Record<string, unknown>;
    expect(f.stop_reason).toBe('refusal');
    expect(f.stop_details).toEqual({ type: 'refusal', explanation: 'asked for [MASKED:email]' });
    expect(f.container).toEqual({ id: 'container_1', expires_at: '2026-12-01T00:00:00Z', note: '[MASKED:email]' });
    expect(f.id).toBe('msg_1');
    expect(f.model).toBe('claude-sonnet-4-6');
    expect(f.usage).toMatchObject({ input_tokens: 1, output_tokens: 9 });
  });

  test('a normal message_delta and message_start pass byte for byte', () => {
    expect(masked([MESSAGE_START, END])).toBe(MESSAGE_START + END);
  });
});

describe('data JSON.parse rejects', () => {
  test.each([
    [
      'message_delta',
      `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","x":"${SECRET}"},"usage":{"output_tokens":NaN}}\n\n`,
    ],
    ['error', `event: error\ndata: {"type":"error","error":{"type":"api_error","message":"${SECRET}"},"n":Infinity}\n\n`],
    ['an unknown event', `event: future_event\ndata: {"type":"future_event","x":"${SECRET}","n":-Infinity}\n\n`],
    ['content_block_stop', `event: content_block_stop\ndata: {"type":"content_block_stop","index":0,"x":"${SECRET}","n":NaN}\n\n`],
    ['a ping without its name', `data: {"type":"ping","x":"${SECRET}","n":NaN}\n\n`],
  ])('%s: dropped', (_what, input) => {
    expect(masked([MESSAGE_START, input, END])).toBe(MESSAGE_START + END);
  });

  test('a content_block_start is dropped and not counted: the next start at its index is the block', async () => {
    const bad = `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":"${SECRET}"},"n":NaN}\n\n`;
    const good = start(0, { type: 'text', text: '' });
    const out = masked([MESSAGE_START, bad, good, text(0, 'mail jane.doe@exa'), text(0, 'mple.com'), stop(0), END]);
    expect(out).not.toContain('jane');
    expect(out).toContain(good);
  });
});

describe('unknown event types', () => {
  test('every string but the type is masked; without a match, byte for byte', () => {
    const input = ev('future_event', { type: 'future_event', x: `mail ${SECRET}`, nested: [{ type: 'a', y: SECRET }], n: 1 });
    expect(masked([input])).toBe(
      ev('future_event', { type: 'future_event', x: 'mail [MASKED:email]', nested: [{ type: 'a', y: '[MASKED:email]' }], n: 1 }),
    );
    const plain = 'event: future_event\ndata: {"type": "future_event", "x": "nothing"}\n\n';
    expect(masked([plain])).toBe(plain);
    // an error's message, a ping's fields
    expect(masked([ev('error', { type: 'error', error: { type: 'api_error', message: SECRET } })])).toBe(
      ev('error', { type: 'error', error: { type: 'api_error', message: '[MASKED:email]' } }),
    );
  });
});

describe('citations_delta', () => {
  test('title and url of a web search result location are masked, as is cited_text', async () => {
    const citation = {
      type: 'web_search_result_location',
      cited_text: 'plain',
      url: `https://x.example/?u=${SECRET}`,
      title: `page of ${SECRET}`,
      encrypted_index: 'Eo8BCioIAhgB',
    };
    const r = await sdkReads([
      MESSAGE_START,
      start(0, { type: 'text', text: '' }),
      text(0, 'see. '),
      delta(0, { type: 'citations_delta', citation }),
      stop(0),
      END,
    ]);
    expect(r.sse).not.toContain('jane');
    expect((r.final.content[0] as Anthropic.TextBlock).citations).toEqual([
      { ...citation, url: 'https://x.example/?u=[MASKED:email]', title: 'page of [MASKED:email]' },
    ]);
  });
});

describe('blocks that are not objects, and text blocks without a text', () => {
  const citations = [{ type: 'char_location', cited_text: `ask ${SECRET}`, document_index: 0, start_char_index: 0, end_char_index: 9 }];
  const maskedCitations = [{ ...citations[0], cited_text: 'ask [MASKED:email]' }];

  test('a string where message_start has a block: its text is masked', () => {
    const start0 = ev('message_start', { type: 'message_start', message: message({ content: [`mail ${SECRET}`] }) });
    expect(masked([start0])).toBe(ev('message_start', { type: 'message_start', message: message({ content: ['mail [MASKED:email]'] }) }));
  });

  test('a thinking block of message_start passes untouched (its signature covers its text); a tool_use keeps its id and name', () => {
    const thinking = { type: 'thinking', thinking: `mail ${SECRET}`, signature: 'EqQBCgIYAhIM' };
    const tool = { type: 'tool_use', id: 'toolu_01', name: 'lookup', input: { who: SECRET } };
    const start0 = ev('message_start', { type: 'message_start', message: message({ content: [thinking, tool] }) });
    expect(masked([start0])).toBe(
      ev('message_start', {
        type: 'message_start',
        message: message({ content: [thinking, { ...tool, input: { who: '[MASKED:email]' } }] }),
      }),
    );
  });

  test('a string as the content_block of a content_block_start: its text is masked', () => {
    expect(masked([MESSAGE_START, start(0, `mail ${SECRET}`)])).toBe(MESSAGE_START + start(0, 'mail [MASKED:email]'));
  });

  test('a text block of message_start without a text: its other fields are masked', () => {
    const start0 = ev('message_start', { type: 'message_start', message: message({ content: [{ type: 'text', citations }] }) });
    expect(masked([start0])).toBe(
      ev('message_start', { type: 'message_start', message: message({ content: [{ type: 'text', citations: maskedCitations }] }) }),
    );
  });

  test('a text block start without a text: its other fields are masked', () => {
    expect(masked([MESSAGE_START, start(0, { type: 'text', citations })])).toBe(
      MESSAGE_START + start(0, { type: 'text', citations: maskedCitations }),
    );
  });

  test('… and with nothing to mask, it passes byte for byte', () => {
    // spaced out as JSON.stringify would not write it: a re-serialized event would differ
    const start0 =
      'event: message_start\ndata: { "type": "message_start", "message": ' +
      JSON.stringify(message({ content: [{ type: 'text' }] })) +
      ' }\n\n';
    const start1 =
      'event: content_block_start\ndata: { "type": "content_block_start", "index": 1, "content_block": { "type": "text" } }\n\n';
    expect(masked([start0, start1])).toBe(start0 + start1);
  });
});

describe('block events and pings whose data is not an object', () => {
  test('a content_block_start or _stop whose data is a JSON string or number: every string masked, a number as it came', () => {
    const startString = `event: content_block_start\ndata: ${JSON.stringify(`mail ${SECRET}`)}\n\n`;
    const stopNumber = 'event: content_block_stop\ndata: 7\n\n';
    expect(masked([MESSAGE_START, startString, stopNumber])).toBe(
      MESSAGE_START + 'event: content_block_start\ndata: "mail [MASKED:email]"\n\n' + stopNumber,
    );
  });

  test('a ping whose data is not JSON but holds {"type": …} further on: still a ping, passed as it came', () => {
    // (only data that starts with {"type" is read for a type when it is not JSON: a ping's text
    // that mentions an event type later is no event of that type)
    const ping = 'event: ping\ndata: still here {"type":"message_delta"}\n\n';
    expect(masked([MESSAGE_START, ping])).toBe(MESSAGE_START + ping);
  });

  test('a ping whose data is of another type, written after another field or cut short: read as two types, dropped', () => {
    const later = 'event: ping\ndata: {"note": "-", "type": "message_delta"}\n\n';
    const cut = 'event: ping\ndata: {"type":"message_delta", "usage": \n\n';
    expect(masked([MESSAGE_START, later, cut])).toBe(MESSAGE_START);
  });

  test('an event still arriving: pendingBytes holds its bytes until its blank line', () => {
    const m = new AnthropicSseMasker(buildEngine({ mask: ['email'] }));
    expect(m.push(Buffer.from('event: ping\ndata: {"type":'))).toHaveLength(0);
    expect(m.pendingBytes).toBe(26);
    expect(m.push(Buffer.from('"ping"}\n\n')).toString()).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    expect(m.pendingBytes).toBe(0);
  });
});

describe('a message_start whose data is JSON but not an object', () => {
  // The SDKs' raw event iterators hand such data to the caller as it is. Before, it passed byte for
  // byte under the name message_start (under any other name its strings were masked).
  test.each([
    ['an array', [{ type: 'text', text: `customer ${SECRET}, card 4111 1111 1111 1111` }]],
    ['a string', `customer ${SECRET}`],
  ])('%s has its strings masked', (_what, data) => {
    const sse = masked([MESSAGE_START, ev('message_start', data), END]);
    expect(sse).not.toContain(SECRET);
    expect(sse).not.toContain('4111');
    expect(sse).toContain('[MASKED:email]');
  });

  test('a block category in it ends the stream with the error event', () => {
    const m = new AnthropicSseMasker(buildEngine({ mask: ['email'], block: ['private-key'] }));
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\n-----END RSA PRIVATE KEY-----';
    const out = m.push(Buffer.from(MESSAGE_START + ev('message_start', [pem]))).toString();
    expect(out).not.toContain('BEGIN RSA');
    expect(m.blocked).toBe('private-key');
    expect(out).toMatch(/event: error\n/);
  });
});
