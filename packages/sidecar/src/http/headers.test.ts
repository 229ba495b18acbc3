// forwardableHeaders is one pass over the caller's headers; it must drop exactly what copying them
// and then removing hop-by-hop, override, credential and framing headers drops. isEventStream reads
// a media type in any case, as clients do.
import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import { forwardableHeaders, isEventStream, stripRequestHeaders } from './headers.ts';

/** The reference: copy, strip, delete the caller's credentials and the hop's own framing. */
function reference(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const k in headers) if (headers[k] !== undefined && !k.startsWith('x-scopekeeper-') && !k.includes('_')) out[k] = headers[k];
  stripRequestHeaders(out);
  for (const h of ['authorization', 'x-api-key', 'cookie', 'proxy-authorization']) delete out[h];
  for (const h of ['host', 'content-length', 'transfer-encoding', 'expect', 'http2-settings']) delete out[h];
  return out;
}

const NAMES = [
  'content-type',
  'accept',
  'anthropic-version',
  'anthropic-beta',
  'authorization',
  'x-api-key',
  'cookie',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'te',
  'upgrade',
  'x-http-method-override',
  'x-original-url',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-scopekeeper-decision',
  'x-custom',
  'x-other',
  'via',
  'x_http_method_override',
  'x_forwarded_for',
];

test('drops what the copy-then-strip reference drops, and nothing else', () => {
  const header = fc.oneof(fc.constantFrom(...NAMES), fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/));
  const connection = fc.array(fc.oneof(fc.constantFrom(...NAMES, 'X-Custom', ' x-other '), fc.string({ maxLength: 8 })), { maxLength: 4 });
  fc.assert(
    fc.property(fc.dictionary(header, fc.string({ maxLength: 10 })), connection, (h, conn) => {
      const headers: IncomingHttpHeaders = { ...h };
      if (conn.length) headers.connection = conn.join(', ');
      expect(forwardableHeaders(headers)).toEqual(reference(headers));
    }),
    { numRuns: 2000 },
  );
});

test('a request as the SDK sends it keeps its content headers, loses its credentials', () => {
  expect(
    forwardableHeaders({
      host: '127.0.0.1:15180',
      authorization: 'Bearer eyJ.x.y',
      'x-api-key': 'eyJ.x.y',
      'content-type': 'application/json',
      'content-length': '42',
      'anthropic-version': '2023-06-01',
      connection: 'keep-alive, x-custom',
      'x-custom': '1',
      'x-forwarded-for': '10.0.0.1',
    }),
  ).toEqual({ 'content-type': 'application/json', 'anthropic-version': '2023-06-01' });
});

describe('isEventStream', () => {
  test.each([
    ['text/event-stream', true],
    ['Text/Event-Stream; Charset=UTF-8', true],
    [' TEXT/EVENT-STREAM ', true],
    [['text/event-stream'], true],
    ['text/event-streamx', false],
    ['application/json', false],
    ['text/event-stream-x; a=b', false],
    ['', false],
    [undefined, false],
  ])('%j: %s', (value, expected) => {
    expect(isEventStream(value)).toBe(expected);
  });
});
