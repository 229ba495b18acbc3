// Fields of block events beside what the event is for (content_block_start, _delta of every delta
// type, _stop): the API sends none, but the TypeScript SDK hands every field of an event to the
// caller's `streamEvent` listeners, so they are masked like everything else (sse-masker.ts). The
// thinking text and signatures stay as they came; an event with nothing masked passes byte for
// byte. Inputs are written with spaces after the JSON separators, so an event passed through as it
// came and one re-serialized by the masker (no spaces) can be told apart.
import Anthropic from '@anthropic-ai/sdk';
import { sseErrorEvent } from '../anthropic/errors.ts';
import { buildEngine } from './policy.ts';
import { AnthropicSseMasker, maskingBlockedMessage } from './sse-masker.ts';

/** email and credit-card masked, ssn blocked. */
const masker = () => new AnthropicSseMasker(buildEngine({ mask: ['email', 'credit-card'], block: ['ssn'] }));
const push = (m: AnthropicSseMasker, s: string) => m.push(Buffer.from(s)).toString();

const EMAIL = 'jane@example.com';
const CARD = '4111 1111 1111 1111';
const SSN = '123-45-6789';
const BLOCKED = sseErrorEvent('permission_error', maskingBlockedMessage('ssn'));

/** As the upstream might send it: spaced JSON. */
const spaced = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data, null, 1).replace(/\n */g, ' ')}\n\n`;
/** As the masker writes it: compact JSON. */
const compact = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

type Fields = Record<string, unknown>;
const deltaData = (index: number, delta: Fields, extra: Fields = {}) => ({ type: 'content_block_delta', index, delta, ...extra });
const startData = (index: number, cb: Fields, extra: Fields = {}) => ({ type: 'content_block_start', index, content_block: cb, ...extra });
const stopData = (index: number, extra: Fields = {}) => ({ type: 'content_block_stop', index, ...extra });

const textDelta = (t: string, extra: Fields = {}) => ({ type: 'text_delta', text: t, ...extra });
const jsonDelta = (pj: string, extra: Fields = {}) => ({ type: 'input_json_delta', partial_json: pj, ...extra });
const thinkingDelta = (t: string, extra: Fields = {}) => ({ type: 'thinking_delta', thinking: t, ...extra });
const signatureDelta = (s: string, extra: Fields = {}) => ({ type: 'signature_delta', signature: s, ...extra });

const inDelta = (index: number, delta: Fields, extra?: Fields) => spaced('content_block_delta', deltaData(index, delta, extra));
const outDelta = (index: number, delta: Fields, extra?: Fields) => compact('content_block_delta', deltaData(index, delta, extra));

describe('the example that leaked', () => {
  test('a card number beside a text delta and an email in its delta: both masked, the text as it came', () => {
    const m = masker();
    const input =
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi. ","note":"jane@example.com"},"extra":"4111 1111 1111 1111"}\n\n';
    expect(push(m, input)).toBe(input.replace(EMAIL, '[MASKED:email]').replace(CARD, '[MASKED:credit-card]'));
    expect(m.counts).toEqual({ email: 1, 'credit-card': 1 });
  });
});

describe('text_delta', () => {
  test('an extra beside the delta, text unchanged: re-serialized with the extra masked', () => {
    const m = masker();
    expect(push(m, inDelta(0, textDelta('Hi. '), { extra: `mail ${EMAIL}` }))).toBe(
      outDelta(0, textDelta('Hi. '), { extra: 'mail [MASKED:email]' }),
    );
    expect(m.counts).toEqual({ email: 1 });
  });

  test('an extra in the delta, text unchanged: re-serialized with the extra masked', () => {
    const m = masker();
    expect(push(m, inDelta(0, textDelta('Hi. ', { note: [EMAIL, 7] })))).toBe(
      outDelta(0, textDelta('Hi. ', { note: ['[MASKED:email]', 7] })),
    );
    expect(m.counts).toEqual({ email: 1 });
  });

  test('extras and a text that changes: all masked, each value counted once', () => {
    const m = masker();
    expect(push(m, inDelta(0, textDelta(`to ${EMAIL} now. `, { note: EMAIL }), { extra: { card: CARD } }))).toBe(
      outDelta(0, textDelta('to [MASKED:email] now. ', { note: '[MASKED:email]' }), { extra: { card: '[MASKED:credit-card]' } }),
    );
    expect(m.counts).toEqual({ email: 2, 'credit-card': 1 });
  });

  test('in a run: each event whose text passes is sent as it came unless its own extras were masked', () => {
    const m = masker();
    const plain = inDelta(0, textDelta('One. '));
    const withExtra = inDelta(0, textDelta('Two. '), { extra: EMAIL });
    const last = inDelta(0, textDelta('Three. ', { note: EMAIL }));
    expect(push(m, plain + withExtra + plain + last)).toBe(
      plain +
        outDelta(0, textDelta('Two. '), { extra: '[MASKED:email]' }) +
        plain +
        outDelta(0, textDelta('Three. ', { note: '[MASKED:email]' })),
    );
    expect(m.counts).toEqual({ email: 2 });
  });

  test('in a run: text held before it rides with its first event, whose extras are masked too', () => {
    const m = masker();
    expect(push(m, inDelta(0, textDelta('a wor')))).toBe(outDelta(0, textDelta('a ')));
    const first = inDelta(0, textDelta('ld. '), { extra: EMAIL });
    const second = inDelta(0, textDelta('More. '));
    expect(push(m, first + second)).toBe(outDelta(0, textDelta('world. '), { extra: '[MASKED:email]' }) + second);
  });

  test('extras that mask to themselves: byte for byte, in the same run as an event whose extras are masked', () => {
    const m = masker();
    const fine = inDelta(0, textDelta('Hi. ', { note: 'fine' }), { extra: 'nothing here' });
    const plain = inDelta(0, textDelta('Bye. '));
    expect(push(m, fine + inDelta(0, textDelta('So. '), { extra: EMAIL }) + plain)).toBe(
      fine + outDelta(0, textDelta('So. '), { extra: '[MASKED:email]' }) + plain,
    );
    expect(m.counts).toEqual({ email: 1 });
  });
});

describe('input_json_delta', () => {
  test('extras beside a JSON piece that passes: re-serialized with the extras masked', () => {
    const m = masker();
    expect(push(m, inDelta(0, jsonDelta('{"a":', { note: EMAIL }), { extra: CARD }))).toBe(
      outDelta(0, jsonDelta('{"a":', { note: '[MASKED:email]' }), { extra: '[MASKED:credit-card]' }),
    );
    expect(m.counts).toEqual({ email: 1, 'credit-card': 1 });
  });

  test('extras beside a JSON piece that is masked: both masked', () => {
    const m = masker();
    expect(push(m, inDelta(0, jsonDelta(`{"to":"${EMAIL}"}`), { extra: EMAIL }))).toBe(
      outDelta(0, jsonDelta('{"to":"[MASKED:email]"}'), { extra: '[MASKED:email]' }),
    );
    expect(m.counts).toEqual({ email: 2 });
  });

  test('extras beside a JSON piece held back entirely: nothing sent now, the piece released later', () => {
    const m = masker();
    expect(push(m, inDelta(0, jsonDelta('{"to":"'))) + push(m, inDelta(0, jsonDelta('jo'), { extra: EMAIL }))).toBe(
      inDelta(0, jsonDelta('{"to":"')),
    );
    expect(m.counts).toEqual({ email: 1 });
    expect(push(m, inDelta(0, jsonDelta('hn"}')))).toBe(outDelta(0, jsonDelta('john"}')));
  });

  test('an ordinary piece beside one with extras: the ordinary one byte for byte', () => {
    const m = masker();
    const plain = inDelta(0, jsonDelta('{"a":'));
    expect(push(m, plain + inDelta(0, jsonDelta('1}'), { extra: EMAIL }))).toBe(
      plain + outDelta(0, jsonDelta('1}'), { extra: '[MASKED:email]' }),
    );
  });
});

describe('thinking_delta and signature_delta: the thinking and the signature as they came, the rest masked', () => {
  test('thinking_delta', () => {
    const m = masker();
    const thinking = `mail ${EMAIL}, card ${CARD}`;
    const out = push(m, inDelta(0, thinkingDelta(thinking, { note: EMAIL }), { extra: CARD }));
    expect(out).toBe(outDelta(0, thinkingDelta(thinking, { note: '[MASKED:email]' }), { extra: '[MASKED:credit-card]' }));
    expect(JSON.parse(out.slice(out.indexOf('{'))).delta.thinking).toBe(thinking);
    expect(m.counts).toEqual({ email: 1, 'credit-card': 1 });
  });

  test('signature_delta', () => {
    const m = masker();
    const signature = `EqQBCgIYAhIM${EMAIL}+/=`;
    const out = push(m, inDelta(0, signatureDelta(signature, { note: EMAIL }), { extra: [EMAIL] }));
    expect(out).toBe(outDelta(0, signatureDelta(signature, { note: '[MASKED:email]' }), { extra: ['[MASKED:email]'] }));
    expect(JSON.parse(out.slice(out.indexOf('{'))).delta.signature).toBe(signature);
    expect(m.counts).toEqual({ email: 2 });
  });

  test('without extras, or with extras that mask to themselves: byte for byte (beside an event whose extras are masked)', () => {
    const m = masker();
    const thinking = inDelta(0, thinkingDelta(`mail ${EMAIL}`));
    const signature = inDelta(0, signatureDelta(EMAIL, { note: 'fine' }), { extra: 'fine' });
    const masked = inDelta(0, signatureDelta('sig'), { extra: EMAIL });
    expect(push(m, thinking + signature + masked)).toBe(
      thinking + signature + outDelta(0, signatureDelta('sig'), { extra: '[MASKED:email]' }),
    );
    expect(m.counts).toEqual({ email: 1 });
  });
});

describe('other deltas', () => {
  test('citations_delta and unknown delta types: extras beside the delta are masked too', () => {
    const m = masker();
    const citation = { type: 'char_location', cited_text: 'fine' };
    expect(push(m, inDelta(0, { type: 'citations_delta', citation }, { extra: EMAIL }))).toBe(
      outDelta(0, { type: 'citations_delta', citation }, { extra: '[MASKED:email]' }),
    );
    expect(push(m, inDelta(0, { type: 'future_delta', v: EMAIL }, { extra: EMAIL }))).toBe(
      outDelta(0, { type: 'future_delta', v: '[MASKED:email]' }, { extra: '[MASKED:email]' }),
    );
  });

  test('a delta without a type: extras beside it are masked', () => {
    const m = masker();
    expect(push(m, inDelta(0, { no_type: 'fine' }, { extra: EMAIL }))).toBe(outDelta(0, { no_type: 'fine' }, { extra: '[MASKED:email]' }));
  });

  test('a delta without a type has its strings masked (the SDK hands it to streamEvent listeners as it came)', () => {
    const m = masker();
    expect(push(m, inDelta(0, { no_type: EMAIL, more: [CARD] }))).toBe(
      outDelta(0, { no_type: '[MASKED:email]', more: ['[MASKED:credit-card]'] }),
    );
    expect(push(m, inDelta(0, { text: SSN }))).toBe(BLOCKED);
  });
});

describe('content_block_stop', () => {
  test('extras masked, re-serialized', () => {
    const m = masker();
    expect(push(m, spaced('content_block_stop', stopData(3, { extra: EMAIL, more: { card: CARD } })))).toBe(
      compact('content_block_stop', stopData(3, { extra: '[MASKED:email]', more: { card: '[MASKED:credit-card]' } })),
    );
    expect(m.counts).toEqual({ email: 1, 'credit-card': 1 });
  });

  test('after the held text it releases, masked; an ordinary stop beside it byte for byte', () => {
    const m = masker();
    expect(push(m, inDelta(0, textDelta('to jo')))).toBe(outDelta(0, textDelta('to ')));
    const plain = spaced('content_block_stop', stopData(1));
    expect(push(m, spaced('content_block_stop', stopData(0, { extra: EMAIL })) + plain)).toBe(
      outDelta(0, textDelta('jo')) + compact('content_block_stop', stopData(0, { extra: '[MASKED:email]' })) + plain,
    );
  });
});

describe('content_block_start', () => {
  test('extras beside a text block masked; the text block as before', () => {
    const m = masker();
    expect(push(m, spaced('content_block_start', startData(0, { type: 'text', text: '' }, { extra: EMAIL })))).toBe(
      compact('content_block_start', startData(0, { type: 'text', text: '' }, { extra: '[MASKED:email]' })),
    );
    expect(push(m, inDelta(0, textDelta(`to ${EMAIL} now. `)))).toBe(outDelta(0, textDelta('to [MASKED:email] now. ')));
    expect(m.counts).toEqual({ email: 2 });
  });

  test('extras beside another block masked; an ordinary start beside it byte for byte', () => {
    const m = masker();
    const tool = { type: 'tool_use', id: 'toolu_1', name: 'send', input: {} };
    const plain = spaced('content_block_start', startData(1, { type: 'text', text: '' }));
    expect(push(m, spaced('content_block_start', startData(0, tool, { extra: EMAIL })) + plain)).toBe(
      compact('content_block_start', startData(0, tool, { extra: '[MASKED:email]' })) + plain,
    );
    expect(m.counts).toEqual({ email: 1 });
  });

  test('a block of another type with a text that is not a string: masked whole, not dropped (only text blocks are)', () => {
    const m = masker();
    const result = { type: 'tool_result', tool_use_id: 't', text: [EMAIL] };
    expect(push(m, spaced('content_block_start', startData(0, result, { extra: EMAIL })))).toBe(
      compact('content_block_start', startData(0, { ...result, text: ['[MASKED:email]'] }, { extra: '[MASKED:email]' })),
    );
    expect(m.counts).toEqual({ email: 2 });
  });

  test('a text block whose text is held back, no extras: re-serialized with the text that is final now', () => {
    const m = masker();
    expect(push(m, spaced('content_block_start', startData(0, { type: 'text', text: 'to jo' }, { extra: 'fine' })))).toBe(
      compact('content_block_start', startData(0, { type: 'text', text: 'to ' }, { extra: 'fine' })),
    );
    expect(push(m, inDelta(0, textDelta('hn. '), { extra: EMAIL }))).toBe(outDelta(0, textDelta('john. '), { extra: '[MASKED:email]' }));
  });
});

describe('a block category in an extra ends the stream with the error event', () => {
  const PING = spaced('ping', { type: 'ping' });
  test.each([
    ['beside a text delta', inDelta(0, textDelta('Hi. '), { extra: SSN })],
    ['in a text delta', inDelta(0, textDelta('Hi. ', { note: SSN }))],
    ['beside a JSON delta', inDelta(0, jsonDelta('{}'), { extra: SSN })],
    ['in a JSON delta', inDelta(0, jsonDelta('{}', { note: SSN }))],
    ['beside a thinking delta', inDelta(0, thinkingDelta('hmm'), { extra: SSN })],
    ['in a signature delta', inDelta(0, signatureDelta('sig', { note: SSN }))],
    ['beside a citations delta', inDelta(0, { type: 'citations_delta', citation: { cited_text: 'fine' } }, { extra: SSN })],
    ['beside a delta without a type', inDelta(0, { no_type: 'fine' }, { extra: SSN })],
    ['beside a content_block_stop', spaced('content_block_stop', stopData(0, { extra: SSN }))],
    ['beside a text block start', spaced('content_block_start', startData(0, { type: 'text', text: '' }, { extra: SSN }))],
    [
      'beside a tool_use block start',
      spaced('content_block_start', startData(0, { type: 'tool_use', id: 't', name: 'n', input: {} }, { extra: SSN })),
    ],
  ])('%s', (_where, input) => {
    const m = masker();
    expect(push(m, input + PING)).toBe(BLOCKED);
    expect(m.blocked).toBe('ssn');
    expect(push(m, PING)).toBe('');
    expect(m.end().toString()).toBe('');
  });

  test('a stop releases its block before the error event', () => {
    const m = masker();
    expect(push(m, inDelta(0, textDelta('to jo')))).toBe(outDelta(0, textDelta('to ')));
    expect(push(m, spaced('content_block_stop', stopData(0, { extra: SSN })) + PING)).toBe(outDelta(0, textDelta('jo')) + BLOCKED);
  });

  test('a text delta run: nothing of it is sent', () => {
    const m = masker();
    expect(
      push(m, inDelta(0, textDelta('One. ')) + inDelta(0, textDelta('Two. '), { extra: SSN }) + inDelta(0, textDelta('Three. '))),
    ).toBe(BLOCKED);
  });
});

describe('through the real TypeScript SDK', () => {
  const MESSAGE_START = spaced('message_start', {
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
    spaced('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 9 },
    }) + spaced('message_stop', { type: 'message_stop' });

  /** The upstream's events masked one push each, read by the SDK: the events its `streamEvent` listeners get, and its final message. */
  async function sdkReads(events: string[]): Promise<{ seen: unknown[]; final: Anthropic.Message }> {
    const m = masker();
    let sse = '';
    for (const e of events) sse += push(m, e);
    sse += m.end().toString();
    const client = new Anthropic({
      apiKey: 'test',
      baseURL: 'http://sdk.test.invalid',
      maxRetries: 0,
      fetch: async () => new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
    });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    const seen: unknown[] = [];
    stream.on('streamEvent', (event) => seen.push(event));
    const final = await stream.finalMessage();
    return { seen, final };
  }

  test("a listener gets every block event's extras masked; the text and the thinking as they should be", async () => {
    const signature = 'EqQBCgIYAhIMsig+/=';
    const r = await sdkReads([
      MESSAGE_START,
      spaced('content_block_start', startData(0, { type: 'thinking', thinking: '', signature: '' }, { extra: EMAIL })),
      inDelta(0, thinkingDelta('let me think. ', { note: EMAIL }), { extra: CARD }),
      inDelta(0, signatureDelta(signature, { note: EMAIL })),
      spaced('content_block_stop', stopData(0, { extra: EMAIL })),
      spaced('content_block_start', startData(1, { type: 'text', text: '' })),
      inDelta(1, textDelta('Hi. ', { note: EMAIL }), { extra: CARD }),
      inDelta(1, textDelta(`mail ${EMAIL} now. `), { extra: [EMAIL] }),
      spaced('content_block_stop', stopData(1, { extra: CARD })),
      END,
    ]);
    const seen = JSON.stringify(r.seen);
    expect(seen).not.toContain(EMAIL.slice(0, 5));
    expect(seen).not.toContain(CARD);
    // what the listeners got beside each block event's own payload: [the event's extra, its delta's note]
    const blockEvents = r.seen.filter((e) => (e as { type: string }).type.startsWith('content_block_')) as Fields[];
    expect(blockEvents.map((e) => [e.extra, (e.delta as Fields | undefined)?.note])).toEqual([
      ['[MASKED:email]', undefined],
      ['[MASKED:credit-card]', '[MASKED:email]'],
      [undefined, '[MASKED:email]'],
      ['[MASKED:email]', undefined],
      [undefined, undefined],
      ['[MASKED:credit-card]', '[MASKED:email]'],
      [['[MASKED:email]'], undefined],
      ['[MASKED:credit-card]', undefined],
    ]);
    expect(r.final.content).toEqual([
      { type: 'thinking', thinking: 'let me think. ', signature },
      { type: 'text', text: 'Hi. mail [MASKED:email] now. ' },
    ]);
  });
});
