// The SSE masker event by event, with the exact bytes a client receives (mutation testing,
// docs/testing.md): what passes through byte for byte, what is re-serialized and how, what is
// held back and when it is released, and how a block category ends the stream. Engines are built
// inside the tests (not while the file loads: see engine.mutants.test.ts).
import { buildEngine } from './policy.ts';
import { AnthropicSseMasker, maskingBlockedMessage } from './sse-masker.ts';

/** email masked, ssn blocked. */
const masker = () => new AnthropicSseMasker(buildEngine({ mask: ['email'], block: ['ssn'] }));

const ev = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const delta = (index: unknown, d: unknown) => ev('content_block_delta', { type: 'content_block_delta', index, delta: d });
const text = (index: unknown, t: string) => delta(index, { type: 'text_delta', text: t });
const json = (index: unknown, pj: string) => delta(index, { type: 'input_json_delta', partial_json: pj });
const start = (index: unknown, cb: unknown) => ev('content_block_start', { type: 'content_block_start', index, content_block: cb });
const stop = (index: unknown) => ev('content_block_stop', { type: 'content_block_stop', index });
const MESSAGE_DELTA = ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } });
const MESSAGE_STOP = ev('message_stop', { type: 'message_stop' });
const PING = ev('ping', { type: 'ping' });

const BLOCKED_SSN =
  'event: error\ndata: {"type":"error","error":{"type":"permission_error","message":"scopekeeper stopped this response: ' +
  'it contained data of category \\"ssn\\", which this scope\'s data.block does not allow to reach the caller. The content ' +
  'was not delivered. If this data must reach the agent, ask the scope\'s reviewers to move \\"ssn\\" from data.block to ' +
  'data.mask."}}\n\n';

const push = (m: AnthropicSseMasker, s: string) => m.push(Buffer.from(s)).toString();

describe('maskingBlockedMessage', () => {
  test('names the category and the fix, whole', () => {
    expect(maskingBlockedMessage('private-key')).toBe(
      'scopekeeper stopped this response: it contained data of category "private-key", which this scope\'s data.block does ' +
        'not allow to reach the caller. The content was not delivered. If this data must reach the agent, ask the ' +
        'scope\'s reviewers to move "private-key" from data.block to data.mask.',
    );
  });
});

describe('counts, blocked and held', () => {
  test('a new masker: shared frozen empty counts, nothing blocked or held', () => {
    const m = masker();
    expect(m.counts).toEqual({});
    expect(Object.isFrozen(m.counts)).toBe(true);
    expect(m.blocked).toBeUndefined();
    expect(m.held).toBe(0);
  });

  test('held adds up the text and JSON blocks; a whole block ("other") holds nothing', () => {
    const m = masker();
    expect(push(m, start(0, { type: 'text', text: '' }))).toBe(start(0, { type: 'text', text: '' }));
    // "jo" could still become jo@…: held
    expect(push(m, text(0, 'write to jo'))).toBe(text(0, 'write to '));
    expect(m.held).toBe(2);
    const tool = start(1, { type: 'tool_use', id: 'toolu_1', name: 'send', input: {} });
    expect(push(m, tool)).toBe(tool);
    expect(push(m, json(1, '{"to":"an'))).toBe(json(1, '{"to":"'));
    expect(m.held).toBe(4);
    const result = start(2, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] });
    expect(push(m, result)).toBe(result);
    expect(m.held).toBe(4);
    expect(push(m, stop(0))).toBe(text(0, 'jo') + stop(0));
    expect(m.held).toBe(2);
    expect(push(m, stop(2))).toBe(stop(2));
    expect(m.held).toBe(2);
    expect(m.counts).toEqual({});
  });

  test('counts by category; blocked names the first block category', () => {
    const m = masker();
    push(m, text(0, 'a@b.co and c@d.io '));
    expect(m.counts).toEqual({ email: 2 });
    expect(m.blocked).toBeUndefined();
    expect(push(m, text(0, 'id 123-45-6789 x'))).toBe(BLOCKED_SSN);
    expect(m.blocked).toBe('ssn');
    expect(m.counts).toEqual({ email: 2, ssn: 1 });
  });
});

describe('pass-through, byte for byte', () => {
  test.each([
    [': keep-alive\n\n'],
    [PING],
    [MESSAGE_STOP],
    ['event: future_event\ndata: {"type":"future_event","x":"nothing. "}\n\n'],
    // no event line: the type is read from the data
    ['data: {"type":"ping"}\n\n'],
    // unchanged deltas keep their exact bytes (no re-serialization), whatever the spacing
    ['event: content_block_delta\ndata: {"type":"content_block_delta", "index":0, "delta":{"type":"text_delta","text":"hi. "}}\n\n'],
    [
      'event: content_block_delta\r\ndata:{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}\r\n\r\n',
    ],
    [delta(0, { type: 'thinking_delta', thinking: 'mail a@b.co' })],
    [delta(0, { type: 'signature_delta', signature: 'a@b.co' })],
    [delta(0, { type: 'citations_delta', citation: { type: 'char_location', cited_text: 'nothing. ' } })],
    [delta(0, { type: 'future_delta', v: 'nothing. ' })],
    [delta(0, { no_type: 'nothing. ' })],
    [delta(0, 'text_delta')],
    [ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: null })],
    [start(0, 'text')],
    // nothing masked: the exact bytes, not a re-serialization
    [
      'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_result", "content": "fine. "}}\n\n',
    ],
    [
      'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {"q": 1}}}\n\n',
    ],
    ['event: content_block_start\ndata: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}\n\n'],
    [
      'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta", "citation": {"cited_text": "ok. "}}}\n\n',
    ],
    ['event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "future_delta", "v": "ok. "}}\n\n'],
    ['event: message_start\ndata: {"type": "message_start", "message": {"content": [{"type": "text", "text": "ok. "}]}}\n\n'],
    [ev('content_block_delta', { type: 'content_block_delta', index: 0 })],
    [start(0, { type: 'thinking', thinking: 'a@b.co' })],
    [start(0, { type: 'tool_use', id: 'toolu_1', name: 'a@b.co', input: {} })],
    [start(0, { type: 'tool_result', tool_use_id: 'toolu_1', content: 'fine. ' })],
    [start(0, null)],
    [ev('content_block_start', { type: 'content_block_start', index: 0 })],
    // an event without data (a client ignores it)
    ['event: content_block_delta\n\n'],
    ['event: message_delta\nid: 3\n\n'],
    [stop(5)],
    // readable JSON that is not an object, with nothing to mask
    ['event: content_block_start\ndata: null\n\n'],
    ['event: content_block_stop\ndata: 5\n\n'],
    ['event: message_start\ndata: null\n\n'],
    [ev('message_start', { type: 'message_start', message: { id: 'msg_1', content: [] } })],
    // a ping whose data JSON.parse rejects: every client skips pings by their name
    ['event: ping\ndata: {"type":"ping","n":NaN}\n\n'],
  ])('%j', (input) => {
    const m = masker();
    expect(push(m, input)).toBe(input);
    expect(m.end().toString()).toBe('');
    expect(m.counts).toEqual({});
  });

  test('an event with an id: kept when re-serialized', () => {
    const m = masker();
    const input =
      'event: content_block_delta\nid: 7\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co "}}\n\n';
    expect(push(m, input)).toBe(input.replace('a@b.co', '[MASKED:email]'));
  });
});

describe('the event type', () => {
  test.each([
    ['data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co "}}\n\n'],
    ['data: {"type": "content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co "}}\n\n'],
    ['data:  { "type" : "content_block_delta" , "index":0,"delta":{"type":"text_delta","text":"a@b.co "}}\n\n'],
    ['event: message\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co "}}\n\n'],
    ['event:\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co "}}\n\n'],
  ])('read from the data when the event line is missing, empty or "message": %j', (input) => {
    const m = masker();
    const obj = JSON.parse(input.slice(input.indexOf('{')).trim());
    obj.delta.text = '[MASKED:email] ';
    // re-serialized: the event line is kept as it was (or left out), the data is compact JSON
    const eventLine = input.startsWith('event: message\n') ? 'event: message\n' : input.startsWith('event:\n') ? 'event: \n' : '';
    expect(push(m, input)).toBe(`${eventLine}data: ${JSON.stringify(obj)}\n\n`);
  });

  test('an event whose name and data type differ is dropped (a client may read it by either)', () => {
    const m = masker();
    const data = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co "}}';
    for (const name of ['ping', 'message_delta', 'content_block_stop', 'error', 'future_event'])
      expect(push(m, `event: ${name}\ndata: ${data}\n\n`)).toBe('');
    // named "message" (SSE's default), named "" or not named: the data's type
    expect(push(m, `event: message\ndata: ${data}\n\n`)).toBe('event: message\ndata: ' + data.replace('a@b.co', '[MASKED:email]') + '\n\n');
    expect(push(m, `event:\ndata: ${data}\n\n`)).toBe('event: \ndata: ' + data.replace('a@b.co', '[MASKED:email]') + '\n\n');
    // the type is the data's last one, wherever it stands
    const twice = '{"type":"ping","index":0,"delta":{"type":"text_delta","text":"a@b.co "},"type":"content_block_delta"}';
    expect(push(m, `data: ${twice}\n\n`)).toBe(
      'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"[MASKED:email] "}}\n\n',
    );
    expect(push(m, `event: ping\ndata: ${twice}\n\n`)).toBe('');
    // data without a type goes by the name
    const typeless = 'event: ping\ndata: {"delta":{"type":"text_delta","text":"a@b.co "}}\n\n';
    expect(push(m, typeless)).toBe(typeless.replace('a@b.co', '[MASKED:email]'));
  });
});

describe('re-serialized events', () => {
  test('a "\\n" that completed the previous event\'s "\\r\\n" (split across chunks) is kept', () => {
    const m = masker();
    const first = 'event: ping\r\ndata: {"type":"ping"}\r\n\r';
    expect(push(m, first)).toBe(first);
    const second =
      '\nevent: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co "}}\r\n\r\n';
    expect(push(m, second)).toBe('\n' + text(0, '[MASKED:email] '));
  });

  test('a delta left with nothing to say is dropped; its text rides along with the next one', () => {
    const m = masker();
    expect(push(m, text(0, 'jo'))).toBe('');
    expect(push(m, text(0, 'e@x.io'))).toBe('');
    expect(push(m, text(0, ' hi'))).toBe(text(0, '[MASKED:email] ')); // "hi" is held
    expect(push(m, json(3, '{"a":"'))).toBe(json(3, '{"a":"'));
    expect(push(m, json(3, 'jo'))).toBe('');
    expect(push(m, json(3, ''))).toBe(json(3, '')); // nothing in, nothing held back: as it came
    expect(push(m, json(3, 'e@x.io"}'))).toBe(json(3, '[MASKED:email]"}'));
    expect(push(m, stop(3))).toBe(stop(3));
    expect(push(m, json(1, '{"a":"b@'))).toBe(json(1, '{"a":"'));
    expect(push(m, json(1, 'c.io"}'))).toBe(json(1, '[MASKED:email]"}'));
    expect(push(m, json(2, '{"a":'))).toBe(json(2, '{"a":'));
    expect(push(m, stop(0) + stop(1) + stop(2))).toBe(text(0, 'hi') + stop(0) + stop(1) + stop(2));
    expect(m.counts).toEqual({ email: 3 });
  });

  test('a text block that starts with text: streamed like a delta', () => {
    const m = masker();
    expect(push(m, start(0, { type: 'text', text: 'mail a@b.co now' }))).toBe(start(0, { type: 'text', text: 'mail [MASKED:email] ' }));
    expect(push(m, text(0, '!'))).toBe(text(0, 'now!'));
    expect(push(m, stop(0))).toBe(stop(0));
  });

  test.each(['tool_use', 'server_tool_use', 'mcp_tool_use'])('a %s block that starts with input: masked whole', (type) => {
    const m = masker();
    const cb = { type, id: 'toolu_1', name: 'send', input: { to: 'a@b.co', n: 1 } };
    expect(push(m, start(0, cb))).toBe(start(0, { ...cb, input: { to: '[MASKED:email]', n: 1 } }));
    // its streamed input goes through a JSON stream
    expect(push(m, json(0, '{"x":"c@d.io"}'))).toBe(json(0, '{"x":"[MASKED:email]"}'));
    expect(m.counts).toEqual({ email: 2 });
  });

  test('other blocks (tool results and unknown ones) are masked whole', () => {
    const m = masker();
    const cb = { type: 'web_fetch_tool_result', tool_use_id: 'srvtoolu_1', content: { url: 'https://x.io/a@b.co', text: 'c@d.io' } };
    expect(push(m, start(0, cb))).toBe(start(0, { ...cb, content: { url: 'https://x.io/[MASKED:email]', text: '[MASKED:email]' } }));
    expect(push(m, stop(0))).toBe(stop(0));
  });

  test('citations: every string of the citation is masked (cited text, title, url), its type and ids are not', () => {
    const m = masker();
    const c = {
      type: 'web_search_result_location',
      cited_text: 'by a@b.co',
      title: 'c@d.io',
      url: 'https://x.example/?u=e@f.io',
      encrypted_index: 'g@h.io',
    };
    expect(push(m, delta(0, { type: 'citations_delta', citation: c }))).toBe(
      delta(0, {
        type: 'citations_delta',
        citation: { ...c, cited_text: 'by [MASKED:email]', title: '[MASKED:email]', url: 'https://x.example/?u=[MASKED:email]' },
      }),
    );
    expect(m.counts).toEqual({ email: 3 });
    const other = delta(0, { type: 'citations_delta', citation: { cited_text: 'none' }, note: 'a@b.co' });
    expect(push(m, other)).toBe(delta(0, { type: 'citations_delta', citation: { cited_text: 'none' }, note: '[MASKED:email]' }));
  });

  test('an unknown delta type: its strings are masked one delta at a time', () => {
    const m = masker();
    expect(push(m, delta(0, { type: 'future_delta', v: 'a@b.co', w: ['c@d.io'] }))).toBe(
      delta(0, { type: 'future_delta', v: '[MASKED:email]', w: ['[MASKED:email]'] }),
    );
  });

  test("message_start with content already in it: its text starts the block's text stream", () => {
    const m = masker();
    const msg = { type: 'message_start', message: { id: 'msg_1', content: [{ type: 'text', text: 'a@b.co, c@d.io' }] } };
    // "c@d.io" could still go on: held, released masked at the end
    expect(push(m, ev('message_start', msg))).toBe(
      ev('message_start', { type: 'message_start', message: { id: 'msg_1', content: [{ type: 'text', text: '[MASKED:email], ' }] } }),
    );
    expect(m.held).toBe(6);
    expect(m.end().toString()).toBe(text(0, '[MASKED:email]'));
  });
});

describe('a delta the masker cannot read is dropped', () => {
  test.each([
    ['event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co\n\n'],
    ['event: content_block_delta\ndata: null\n\n'],
    ['event: content_block_delta\ndata: 5\n\n'],
    ['event: content_block_delta\ndata: "a@b.co"\n\n'],
    ['data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co"}\n\n'],
  ])('%j', (input) => {
    const m = masker();
    expect(push(m, input + PING)).toBe(PING);
  });
});

describe('JSON deltas go through a JSON stream', () => {
  test('escapes are decoded before detection and kept in the output', () => {
    const m = masker();
    expect(push(m, json(0, '{"a":"x\\na@b.co"}'))).toBe(json(0, '{"a":"x\\n[MASKED:email]"}'));
    expect(push(m, stop(0))).toBe(stop(0));
  });

  test('so does the input of a tool_use block that starts empty', () => {
    const m = masker();
    const cb = { type: 'tool_use', id: 'toolu_1', name: 'send', input: {} };
    expect(push(m, start(0, cb))).toBe(start(0, cb));
    expect(push(m, json(0, '{"a":"x\\na@b.co"}') + stop(0))).toBe(json(0, '{"a":"x\\n[MASKED:email]"}') + stop(0));
  });
});

describe('no copies, no allocations on the hot path', () => {
  test('an unchanged event is passed on as a view of the chunk it came in', () => {
    const m = masker();
    const chunk = Buffer.from(PING);
    const out = m.push(chunk);
    expect(out.buffer).toBe(chunk.buffer);
    expect(out.byteOffset).toBe(chunk.byteOffset);
    expect(out.length).toBe(chunk.length);
  });

  test('nothing to send: always the same empty buffer', () => {
    const m = masker();
    const a = m.push(Buffer.from('event: pi'));
    const b = m.push(Buffer.from('ng\n'));
    expect(a.length).toBe(0);
    expect(b).toBe(a);
    // events that say nothing now (their text is held)
    expect(m.push(Buffer.from('\n' + text(0, 'jo')))).not.toBe(a); // the ping
    expect(m.push(Buffer.from(text(0, 'hn')))).toBe(a);
    expect(m.push(Buffer.from(text(0, 'ny')))).toBe(a);
  });
});

describe('held text is released', () => {
  test('nothing held at message_delta: no extra delta', () => {
    const m = masker();
    expect(push(m, text(0, 'hi. ') + json(1, '{"a":1}') + MESSAGE_DELTA)).toBe(text(0, 'hi. ') + json(1, '{"a":1}') + MESSAGE_DELTA);
  });

  test('nothing held at content_block_stop: no extra delta', () => {
    const m = masker();
    expect(push(m, text(0, 'hi. '))).toBe(text(0, 'hi. '));
    expect(push(m, json(1, '{"a":1}'))).toBe(json(1, '{"a":1}'));
    expect(push(m, stop(0) + stop(1))).toBe(stop(0) + stop(1));
    expect(m.end().toString()).toBe('');
  });

  test('before content_block_stop, masked, in a delta of its own', () => {
    const m = masker();
    expect(push(m, text(0, 'to jo'))).toBe(text(0, 'to '));
    expect(push(m, text(0, 'e@x.io'))).toBe('');
    expect(push(m, stop(0))).toBe(text(0, '[MASKED:email]') + stop(0));
    // the block is gone: a later message_delta releases nothing more
    expect(push(m, MESSAGE_DELTA)).toBe(MESSAGE_DELTA);
  });

  test.each([MESSAGE_DELTA, MESSAGE_STOP])('before %j when content_block_stop is missing, block by block in order', (closing) => {
    const m = masker();
    push(m, text(2, 'hi jo'));
    push(m, json(0, '{"a":"x@'));
    push(m, text(1, 'q'));
    expect(push(m, PING)).toBe(PING); // a ping releases nothing
    expect(m.held).toBe(5);
    expect(push(m, closing)).toBe(text(2, 'jo') + json(0, 'x@') + text(1, 'q') + closing);
    expect(m.held).toBe(0);
    expect(m.end().toString()).toBe('');
  });

  test('not before an error event in the middle of blocks: a cut is not the end of the text, so what is held is dropped', () => {
    // Before: the error event released it decided as if the text had ended, so an address cut
    // before its top-level domain (no detector can call that an address) went out in clear.
    const ERROR = ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const m = masker();
    expect(push(m, text(2, 'write to jane.doe@exam'))).toBe(text(2, 'write to '));
    push(m, json(0, '{"a":"x@'));
    push(m, text(1, 'hi jo'));
    expect(m.held).toBeGreaterThan(0);
    expect(push(m, ERROR)).toBe(ERROR);
    expect(m.held).toBe(0);
    expect(m.end().toString()).toBe('');
  });

  test.each([
    ['content_block_stop', stop(0)],
    ['message_delta', MESSAGE_DELTA],
    ['message_stop', MESSAGE_STOP],
  ])('after %s its released text is final: later content events of the block are dropped, other events pass', (_name, closing) => {
    // Before: a delta after the stop went out, and a client appends it to the block's text
    // (`jo` + `e@x.io` read as the address the masker never saw whole).
    const m = masker();
    expect(push(m, text(0, 'to jo'))).toBe(text(0, 'to '));
    expect(push(m, closing)).toBe(text(0, 'jo') + closing);
    expect(push(m, text(0, 'e@x.io'))).toBe('');
    expect(push(m, json(0, '"e@x.io"'))).toBe('');
    expect(push(m, stop(0))).toBe('');
    expect(push(m, PING)).toBe(PING);
    expect(m.end().toString()).toBe('');
  });

  test('after a message ended, no block starts, continues or stops; a block that stopped stays stopped', () => {
    const m = masker();
    push(m, start(0, { type: 'text', text: '' }));
    expect(push(m, stop(0))).toBe(stop(0));
    // block 1 is still open: its events pass; block 0's do not
    expect(push(m, start(1, { type: 'text', text: '' }))).toBe(start(1, { type: 'text', text: '' }));
    expect(push(m, text(1, 'ok. '))).toBe(text(1, 'ok. '));
    expect(push(m, text(0, 'ok. '))).toBe('');
    expect(push(m, MESSAGE_DELTA)).toBe(MESSAGE_DELTA);
    expect(push(m, start(2, { type: 'text', text: '' }))).toBe('');
    expect(push(m, text(1, 'ok. '))).toBe('');
    expect(push(m, stop(1))).toBe('');
    expect(push(m, MESSAGE_STOP)).toBe(MESSAGE_STOP);
  });

  test('after an error event, the blocks get nothing more', () => {
    const ERROR = ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const m = masker();
    push(m, start(0, { type: 'text', text: '' }));
    expect(push(m, text(0, 'ok. '))).toBe(text(0, 'ok. '));
    expect(push(m, ERROR)).toBe(ERROR);
    expect(push(m, text(0, 'ok. '))).toBe('');
    expect(push(m, stop(0))).toBe('');
  });

  test('at the end of the stream, dropping an unterminated delta', () => {
    const m = masker();
    expect(push(m, text(0, 'hi jo') + json(1, '{"a":"x') + text(0, 'e@x.io').slice(0, -2))).toBe(text(0, 'hi ') + json(1, '{"a":"'));
    expect(m.end().toString()).toBe(text(0, 'jo') + json(1, 'x'));
    const n = masker();
    expect(push(n, json(1, '{"a":"x') + json(1, '@y.io"}').slice(0, -2))).toBe(json(1, '{"a":"'));
    expect(n.end().toString()).toBe(json(1, 'x'));
    expect(m.end().toString()).toBe('');
    expect(push(m, text(0, 'a@b.co '))).toBe('');
  });

  test('at the end of the stream: an unterminated event that is not a delta is passed on', () => {
    const m = masker();
    expect(push(m, text(0, 'jo') + 'event: ping\ndata: {"type":"ping"}')).toBe('');
    expect(m.end().toString()).toBe('event: ping\ndata: {"type":"ping"}' + text(0, 'jo'));
  });

  test('a delta whose block index is not a non-negative integer is dropped, whatever its type', () => {
    const m = masker();
    for (const index of ['0', 0.5, null, true, -1, undefined]) {
      expect(push(m, text(index, 'jo'))).toBe('');
      expect(push(m, json(index, '{"a":1}'))).toBe('');
      expect(push(m, delta(index, { type: 'future_delta', v: 'ok' }))).toBe('');
    }
    expect(m.held).toBe(0);
    // a stop is passed on as it is (there is nothing of its own to release)
    expect(push(m, stop('0'))).toBe(stop('0'));
    expect(push(m, text(0, 'jo'))).toBe('');
    expect(push(m, stop(0))).toBe(text(0, 'jo') + stop(0));
  });

  test('a content_block_start is passed on only at the index a client gives the block: the count of starts so far', () => {
    const m = masker();
    const first = start(0, { type: 'text', text: '' });
    expect(push(m, start(1, { type: 'text', text: '' }))).toBe('');
    expect(push(m, first)).toBe(first);
    expect(push(m, first)).toBe('');
    const second = start(1, { type: 'tool_use', id: 'toolu_1', name: 'n', input: {} });
    expect(push(m, start('1', { type: 'tool_use', id: 'toolu_1', name: 'n', input: {} }))).toBe('');
    expect(push(m, second)).toBe(second);
    // a new message starts counting again, after the blocks it already holds
    const msg = (content: unknown[]) => ev('message_start', { type: 'message_start', message: { role: 'assistant', content } });
    expect(push(m, msg([]))).toBe(msg([]));
    expect(push(m, first)).toBe(first);
    expect(push(m, msg([{ type: 'text', text: 'a. ' }]))).toBe(msg([{ type: 'text', text: 'a. ' }]));
    expect(push(m, first)).toBe('');
    expect(push(m, second)).toBe(second);
    expect(push(m, ev('message_start', { type: 'message_start' })) + push(m, first)).toBe(
      ev('message_start', { type: 'message_start' }) + first,
    );
  });

  test('a block index reused with another kind starts a fresh stream', () => {
    const m = masker();
    expect(push(m, text(0, 'a b'))).toBe(text(0, 'a '));
    expect(push(m, json(0, '{"k":1}'))).toBe(json(0, '{"k":1}'));
    expect(push(m, stop(0))).toBe(stop(0));
  });
});

describe('a block category ends the stream', () => {
  test('an unterminated event after the blocked one is not sent at the end', () => {
    const m = masker();
    expect(push(m, text(0, 'id 123-45-6789 ') + 'event: ping\ndata: {"type":"ping"}')).toBe(BLOCKED_SSN);
    expect(m.end().length).toBe(0);
  });

  test('the rest of the chunk is dropped; later pushes and end() return nothing', () => {
    const m = masker();
    // (the text deltas that came with the blocked one are masked as one text: none of them is sent)
    expect(push(m, text(0, 'ok. ') + text(0, 'ssn 123-45-6789 ') + text(0, 'more. ') + MESSAGE_STOP)).toBe(BLOCKED_SSN);
    expect(m.held).toBe(0);
    expect(m.push(Buffer.from(PING)).length).toBe(0);
    expect(m.end().length).toBe(0);
  });

  test.each([
    ['a text block start', start(0, { type: 'text', text: '123-45-6789 ' })],
    ['a tool_use block start', start(0, { type: 'tool_use', id: 't', name: 'n', input: { s: '123-45-6789' } })],
    ['another block start', start(0, { type: 'tool_result', tool_use_id: 't', content: '123-45-6789' })],
    ['a JSON delta', json(0, '{"s":"123-45-6789"}')],
    ['a citation', delta(0, { type: 'citations_delta', citation: { cited_text: '123-45-6789' } })],
    ['an unknown delta', delta(0, { type: 'future_delta', v: '123-45-6789' })],
    ['message_start', ev('message_start', { type: 'message_start', message: { content: [{ type: 'text', text: '123-45-6789 ' }] } })],
  ])('in %s', (_what, input) => {
    const m = masker();
    expect(push(m, input + PING)).toBe(BLOCKED_SSN);
    expect(m.blocked).toBe('ssn');
  });

  test.each([
    ['content_block_stop', stop(0)],
    ['message_delta', MESSAGE_DELTA],
  ])('in held text released by %s', (_what, closing) => {
    const m = masker();
    expect(push(m, text(0, 'ok 123-45-6789'))).toBe(text(0, 'ok '));
    expect(push(m, closing + PING)).toBe(BLOCKED_SSN);
  });

  test('in an unterminated event at the end of the stream: one error event, nothing held is released', () => {
    const m = masker();
    expect(push(m, text(0, 'a jo'))).toBe(text(0, 'a '));
    const tail =
      'event: message_start\ndata: ' +
      JSON.stringify({ type: 'message_start', message: { content: [{ type: 'text', text: '123-45-6789 ' }] } });
    expect(push(m, tail)).toBe('');
    expect(m.end().toString()).toBe(BLOCKED_SSN);
    expect(m.held).toBe(0);
  });

  test('nothing held at the end of the stream: nothing more', () => {
    const m = masker();
    expect(push(m, text(0, 'hi. ') + json(1, '{}'))).toBe(text(0, 'hi. ') + json(1, '{}'));
    expect(m.end().toString()).toBe('');
  });

  test('in held text released at the end of the stream: the blocks before it are released, none after', () => {
    const m = masker();
    push(m, text(0, 'a jo'));
    push(m, text(1, 'b 123-45-6789'));
    push(m, text(2, 'c jo'));
    expect(m.end().toString()).toBe(text(0, 'jo') + BLOCKED_SSN);
    expect(m.held).toBe(0);
    expect(m.end().length).toBe(0);
  });
});

describe('message_start, message_delta and other events beside the content', () => {
  test('what identifies or counts is kept verbatim, every other string is masked', () => {
    const m = masker();
    const msg = {
      id: 'a@b.co',
      type: 'message',
      role: 'a@b.co',
      model: 'a@b.co',
      content: [],
      stop_reason: 'a@b.co',
      stop_sequence: 'a@b.co',
      usage: { tier: 'a@b.co' },
    };
    const kept = ev('message_start', { type: 'message_start', message: msg });
    expect(push(m, kept)).toBe(kept);
    expect(push(m, ev('message_start', { type: 'message_start', message: { ...msg, note: 'a@b.co' }, extra: ['c@d.io'] }))).toBe(
      ev('message_start', { type: 'message_start', message: { ...msg, note: '[MASKED:email]' }, extra: ['[MASKED:email]'] }),
    );
    expect(push(m, ev('message_start', { type: 'message_start', message: 'a@b.co' }))).toBe(
      ev('message_start', { type: 'message_start', message: '[MASKED:email]' }),
    );
    const d = { stop_reason: 'a@b.co', stop_sequence: 'a@b.co' };
    const keptDelta = ev('message_delta', { type: 'message_delta', delta: d, usage: { tier: 'a@b.co' } });
    expect(push(m, keptDelta)).toBe(keptDelta);
    expect(push(m, ev('message_delta', { type: 'message_delta', delta: { ...d, x: 'a@b.co' }, extra: 'c@d.io' }))).toBe(
      ev('message_delta', { type: 'message_delta', delta: { ...d, x: '[MASKED:email]' }, extra: '[MASKED:email]' }),
    );
    expect(push(m, ev('message_delta', { type: 'message_delta', delta: 'a@b.co' }))).toBe(
      ev('message_delta', { type: 'message_delta', delta: '[MASKED:email]' }),
    );
    // other events: every field but the type
    expect(push(m, ev('message_stop', { type: 'message_stop', stop_reason: 'a@b.co' }))).toBe(
      ev('message_stop', { type: 'message_stop', stop_reason: '[MASKED:email]' }),
    );
    expect(push(m, 'event: future_event\ndata: ["a@b.co"]\n\n')).toBe('event: future_event\ndata: ["[MASKED:email]"]\n\n');
  });

  test("text blocks without a text pass byte for byte; the content's other blocks are masked whole", () => {
    const m = masker();
    const noText = start(0, { type: 'text', citations: [] });
    expect(push(m, noText)).toBe(noText);
    const ms = ev('message_start', { type: 'message_start', message: { content: [{ type: 'text', citations: [] }] } });
    expect(push(m, ms)).toBe(ms);
    // a text field of another block, or a block that is not an object: not a text stream
    const other = { type: 'tool_result', tool_use_id: 't', text: 'mail a@b.co' };
    expect(push(m, ev('message_start', { type: 'message_start', message: { content: [null, other, 'a@b.co'] } }))).toBe(
      ev('message_start', {
        type: 'message_start',
        message: { content: [null, { ...other, text: 'mail [MASKED:email]' }, '[MASKED:email]'] },
      }),
    );
    expect(push(masker(), start(0, ['a@b.co']))).toBe(start(0, ['[MASKED:email]']));
    expect(m.held).toBe(0);
  });

  test('a block category in another event ends the stream', () => {
    const m = masker();
    expect(push(m, ev('future_event', { type: 'future_event', x: '123-45-6789' }) + PING)).toBe(BLOCKED_SSN);
  });
});
