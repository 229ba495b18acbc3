import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { failWithoutAnswer, statusProblem, type NoAnswerError } from './node-http.ts';

/** One request to a server that acts as `serve`, until the request closes; what `fail` was given. */
async function failures(
  serve: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ failed: NoAnswerError[]; answered: boolean }> {
  const server = createServer(serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const failed: NoAnswerError[] = [];
  let answered = false;
  try {
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, method: 'POST', path: '/', agent: false });
      req.once('response', (res: IncomingMessage) => {
        answered = true;
        res.resume();
      });
      req.once('error', () => {});
      failWithoutAnswer(req, (e) => failed.push(e));
      req.once('close', () => setImmediate(resolve));
      req.end('{}');
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
  return { failed, answered };
}

test('an answered request closes without calling fail (no error is built for it)', async () => {
  const { failed, answered } = await failures((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  expect(answered).toBe(true);
  expect(failed).toEqual([]);
});

test('a connection closed before an answer: fail once, UPSTREAM_CLOSED', async () => {
  const { failed, answered } = await failures((req) => req.socket.destroy());
  expect(answered).toBe(false);
  expect(failed.map((e) => e.code)).toEqual(['UPSTREAM_CLOSED']);
  expect(failed[0]?.message).toBe('closed the connection before an answer');
});

test('an unasked 101 Switching Protocols: fail once, UPSTREAM_SWITCHED_PROTOCOLS (not a second time when the socket closes)', async () => {
  const { failed, answered } = await failures(
    (_req, res) => void res.socket?.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n'),
  );
  expect(answered).toBe(false);
  expect(failed.map((e) => e.code)).toEqual(['UPSTREAM_SWITCHED_PROTOCOLS']);
});

test('a 103 Early Hints and then a close: fail once, UPSTREAM_CLOSED (an interim answer is not an answer)', async () => {
  const { failed, answered } = await failures((req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' }, () => req.socket.destroy());
  });
  expect(answered).toBe(false);
  expect(failed.map((e) => e.code)).toEqual(['UPSTREAM_CLOSED']);
});

test('statusProblem: 2xx-5xx are answers; 600-999 (which node:http takes and would write on) are not', () => {
  const at = (statusCode: number) => statusProblem({ statusCode } as IncomingMessage);
  for (const ok of [200, 204, 299, 301, 404, 429, 500, 529, 599]) expect(at(ok)).toBeUndefined();
  for (const bad of [600, 799, 999, 0, 199]) {
    expect(at(bad)).toMatchObject({ code: 'UPSTREAM_BAD_STATUS', message: `answered with status ${bad}, which HTTP does not define` });
  }
});
