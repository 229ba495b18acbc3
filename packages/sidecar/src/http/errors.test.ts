// errorResponseText: the answer sendError gives, as the whole text of a response written to a
// socket before anything of it is read (so without writeHead's checks of its headers).
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorResponseText, sendError } from './errors.ts';

const reply = { type: 'overloaded_error' as const, message: 'busy; retry after 1 s.', status: 529 };

/** What a client reads: through sendError on a server, or errorResponseText written raw. */
async function read(raw: boolean): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const server = createServer((_req, res) => sendError(res, reply, 'req_sk_test', { 'retry-after': '1' }));
  if (raw) server.on('connection', (s) => s.end(errorResponseText(reply, 'req_sk_test', { 'retry-after': '1' })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end('{}');
    });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

test('reads as the same answer as sendError, and closes its connection', async () => {
  const [sent, raw] = [await read(false), await read(true)];
  expect(raw.status).toBe(529);
  expect(raw.body).toBe(sent.body);
  // (sendError's date and connection headers are Node's, not the answer's)
  const { date: _d, connection: _c, 'keep-alive': _k, ...rest } = sent.headers;
  expect(raw.headers).toEqual({ ...rest, connection: 'close' });
});

test('a header a caller could not send through writeHead throws instead of splitting the response', () => {
  expect(() => errorResponseText(reply, 'req_sk_test', { 'retry-after': '1\r\nset-cookie: x=1' })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_CHAR' }),
  );
  expect(() => errorResponseText(reply, 'req_sk_test', { 'bad name': '1' })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_HTTP_TOKEN' }),
  );
});
