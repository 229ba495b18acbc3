// Text deltas of one block that arrive in one chunk are masked as one text (a run), and the
// output is split back over the run's events (sse-masker.ts, text()). Exact bytes: the input
// events are written with spaces after the JSON separators, so an event passed through byte for
// byte and one re-serialized by the masker (no spaces) can be told apart.
import { buildEngine } from './policy.ts';
import { AnthropicSseMasker, maskingBlockedMessage } from './sse-masker.ts';
import { sseErrorEvent } from '../anthropic/errors.ts';

const masker = () => new AnthropicSseMasker(buildEngine({ mask: ['email'], block: ['ssn'] }));
const push = (m: AnthropicSseMasker, s: string) => m.push(Buffer.from(s)).toString();

/** As the upstream might send it (spaced JSON). */
const text = (index: number, t: string) =>
  `event: content_block_delta\ndata: {"type": "content_block_delta", "index": ${index}, "delta": {"type": "text_delta", "text": ${JSON.stringify(t)}}}\n\n`;
/** As the masker writes it. */
const out = (index: number, t: string) =>
  `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":${JSON.stringify(t)}}}\n\n`;
const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
const stop = (index: number) => `event: content_block_stop\ndata: {"type": "content_block_stop", "index": ${index}}\n\n`;
const BLOCKED = sseErrorEvent('permission_error', maskingBlockedMessage('ssn'));

describe('a run of text deltas', () => {
  test('nothing to mask or hold: every event passes through byte for byte', () => {
    const input = text(0, 'Hello ') + text(0, 'world. ') + text(0, 'Bye. ');
    expect(push(masker(), input)).toBe(input);
  });

  test('text held at the end of the run: the leading events pass, the last one is dropped, and its text comes later', () => {
    const m = masker();
    expect(push(m, text(0, 'Hello ') + text(0, 'wor'))).toBe(text(0, 'Hello '));
    expect(m.held).toBe(3);
    expect(push(m, text(0, 'ld. '))).toBe(out(0, 'world. '));
  });

  test('the last event keeps what is final of its text', () => {
    const m = masker();
    expect(push(m, text(0, 'Hello ') + text(0, 'big wor'))).toBe(text(0, 'Hello ') + out(0, 'big '));
    expect(push(m, stop(0))).toBe(out(0, 'wor') + stop(0));
  });

  test('text held before the run rides with its first event; the others pass', () => {
    const m = masker();
    expect(push(m, text(0, 'a wor'))).toBe(out(0, 'a '));
    expect(push(m, text(0, 'ld and ') + text(0, 'more. ') + text(0, 'End. '))).toBe(
      out(0, 'world and ') + text(0, 'more. ') + text(0, 'End. '),
    );
  });

  test('text held before a run that is all held stays held', () => {
    const m = masker();
    expect(push(m, text(0, 'a wor'))).toBe(out(0, 'a '));
    expect(push(m, text(0, 'ld') + text(0, 'wide'))).toBe('');
    expect(m.held).toBe('worldwide'.length);
    expect(push(m, stop(0))).toBe(out(0, 'worldwide') + stop(0));
  });

  test('a value masked in the held text: the whole output rides with the last event', () => {
    const m = masker();
    expect(push(m, text(0, 'mail jane@exa'))).toBe(out(0, 'mail '));
    expect(push(m, text(0, 'mple.com ') + text(0, 'thanks. '))).toBe(out(0, '[MASKED:email] thanks. '));
  });

  test('a value masked inside the run: the events before it pass, the rest rides with the last event', () => {
    const m = masker();
    expect(push(m, text(0, 'Hi ') + text(0, 'jane@example.com') + text(0, ' ok. ') + text(0, 'bye. '))).toBe(
      text(0, 'Hi ') + out(0, '[MASKED:email] ok. bye. '),
    );
  });

  test('empty deltas in a run pass as they are', () => {
    const input = text(0, '') + text(0, 'x. ') + text(0, '');
    expect(push(masker(), input)).toBe(input);
  });

  test('deltas of two blocks, and deltas around another event, are separate runs in their order', () => {
    const m = masker();
    expect(push(m, text(0, 'a. ') + text(1, 'b wor') + text(1, 'ld ') + PING + text(1, 'c. ') + text(0, 'd. '))).toBe(
      text(0, 'a. ') + text(1, 'b wor') + text(1, 'ld ') + PING + text(1, 'c. ') + text(0, 'd. '),
    );
  });

  test('deltas of two blocks in one chunk keep their own held text', () => {
    const m = masker();
    expect(push(m, text(0, 'x wor') + text(1, 'ld. '))).toBe(out(0, 'x ') + text(1, 'ld. '));
    expect(m.held).toBe(3);
  });

  test('a run that ends the chunk with a block match ends the stream', () => {
    const m = masker();
    expect(push(m, PING + text(0, 'id ') + text(0, '123-45-6789 '))).toBe(PING + BLOCKED);
    expect(m.blocked).toBe('ssn');
    expect(push(m, text(0, 'more. ')).length).toBe(0);
  });

  test('a block match in a run stops the chunk before the events after it', () => {
    const m = masker();
    expect(push(m, text(0, 'id 123-45-6789 ') + PING + text(0, 'x. '))).toBe(BLOCKED);
  });

  test('a block match after a run: the run is sent, then the error', () => {
    const m = masker();
    const blockedStart =
      'event: content_block_start\ndata: {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_result", "content": "123-45-6789"}}\n\n';
    const textStart =
      'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}\n\n';
    expect(push(m, textStart + text(0, 'ok. ') + text(0, 'fine. ') + blockedStart + PING)).toBe(
      textStart + text(0, 'ok. ') + text(0, 'fine. ') + BLOCKED,
    );
  });

  test('an unterminated text delta at the end is dropped, the held text is released', () => {
    const m = masker();
    expect(
      push(
        m,
        text(0, 'a wor') +
          'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}',
      ),
    ).toBe(out(0, 'a '));
    expect(m.end().toString()).toBe(out(0, 'wor'));
  });
});
