// node:http through process.getBuiltinModule, not an ES module import: importing node:http as an
// ES module builds its namespace, which reads every export, the lazy WebSocket / EventSource ones
// too, and so loads Node's bundled undici with TLS and HTTP/2 (~14 MB of RSS, ~15 ms of start-up)
// that the sidecar never uses. Types still come from `import type … from 'node:http'`.
import type * as Http from 'node:http';

export const http: typeof Http = process.getBuiltinModule('node:http');

/** A request's connection ended without an answer to hand on. */
export class NoAnswerError extends Error {
  readonly code: 'UPSTREAM_SWITCHED_PROTOCOLS' | 'UPSTREAM_CLOSED' | 'UPSTREAM_BAD_STATUS';
  constructor(message: string, code: NoAnswerError['code']) {
    super(message);
    this.code = code;
  }
}

/**
 * Calls `fail` when `req` closes without a response. node:http hands a 101 to an 'upgrade'
 * listener, or else destroys the socket and emits only 'close'; a timer on that socket goes with
 * it. Every outgoing request of the sidecar registers this, so an upstream, an MCP server or an
 * issuer that switches protocols unasked (hop-by-hop headers are never forwarded) fails that
 * request instead of leaving it, its caller and its concurrency slot waiting for ever. After an
 * 'error', `fail` is a no-op for the caller's settled promise. A request that was answered closes
 * without building the error: an Error's stack trace was 3.4% of the sidecar's busy time under
 * load when every request's 'close' built one (docs/benchmarks.md, bench/NOTES.md).
 */
export function failWithoutAnswer(req: Http.ClientRequest, fail: (e: NoAnswerError) => void): void {
  let answered = false;
  req.once('response', () => {
    answered = true;
  });
  req.once('upgrade', (_res: Http.IncomingMessage, socket: { destroy(): void }) => {
    answered = true;
    socket.destroy();
    fail(new NoAnswerError('answered 101 Switching Protocols, which no request asked for', 'UPSTREAM_SWITCHED_PROTOCOLS'));
  });
  req.once('close', () => {
    if (!answered) fail(new NoAnswerError('closed the connection before an answer', 'UPSTREAM_CLOSED'));
  });
}

/**
 * Why an answer is not one to hand on: node:http takes any three digits as a final status, and
 * the server side writes any of 100-999, so a 600-999 from a broken or hostile peer would reach
 * the caller as sent (an SDK reads it as no status it knows). Only 2xx-5xx are answers; 1xx
 * never arrive here (interim ones are skipped, 101 is an upgrade: failWithoutAnswer).
 */
export function statusProblem(res: Http.IncomingMessage): NoAnswerError | undefined {
  const status = res.statusCode ?? 0;
  if (status >= 200 && status <= 599) return undefined;
  return new NoAnswerError(`answered with status ${status}, which HTTP does not define`, 'UPSTREAM_BAD_STATUS');
}
