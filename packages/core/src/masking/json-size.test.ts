// The masker parses what it masks through parseJson: an answer or event of more than
// MAX_JSON_VALUES values is never delivered unchecked (util/json-size.ts).
import { compileMasking } from './index.ts';
import { JsonTooLargeError, MAX_JSON_VALUES } from '../util/json-size.ts';

const objects = (n: number) => `[${'{},'.repeat(n - 1)}{}]`;
const TOO_MANY = objects(MAX_JSON_VALUES / 2);
const masking = compileMasking({ mask: ['email'] });

test('a Messages answer to mask, an internal service answer to mask: skipped as too large (the caller does not deliver them)', () => {
  const message = Buffer.from(`{"type":"message","content":[{"type":"text","text":"jane@example.com"}],"x":${TOO_MANY}}`);
  expect(masking.maskMessageJson(message)).toMatchObject({ skipped: 'too-large', changed: false });
  expect(masking.maskServiceJson(message, [])).toMatchObject({ skipped: 'too-large', changed: false });
  // just under the bound: masked as before
  const under = Buffer.from(`{"type":"message","content":[{"type":"text","text":"jane@example.com"}],"x":${objects(1000)}}`);
  expect(masking.maskMessageJson(under).body.toString()).toContain('[MASKED:email]');
});

test('a Messages event stream: an event too large to read throws, so the relay ends the stream with an error event', () => {
  const event = `event: message_start\ndata: {"type":"message_start","message":{"content":[{"type":"text","text":"jane@example.com"}],"x":${TOO_MANY}}}\n\n`;
  expect(() => masking.createSseMasker().push(Buffer.from(event))).toThrow(JsonTooLargeError);
  // an event that is not JSON at all is still left to the masker's rules (no throw)
  expect(() => masking.createSseMasker().push(Buffer.from('event: ping\ndata: {not json\n\n'))).not.toThrow();
});
