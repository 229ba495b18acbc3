// Sends a request to the upstream (or an internal service) over keep-alive connection pools:
// node:http / node:https, one bounded pool per protocol (per origin inside it), with the
// --upstream-timeout for the response headers and for any silence while the body streams.
//
// node:http rather than undici: the same forwarding CPU in the bench (fwd-node against
// fwd-express), but undici's ~110 modules cost the sidecar of every pod ~40 ms of start-up and
// ~10 MB of RSS, and node:http is loaded anyway for the server side.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

export interface UpstreamRequest {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | Readable;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** The upstream did not answer, or went silent mid-body, for longer than --upstream-timeout. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

export class Forwarder {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;
  private readonly timeoutMs: number;

  constructor(opts: { connections: number; timeoutMs: number }) {
    // lifo: the most recently used socket is reused, so idle ones age out (keepAlive's own timeout).
    const pool = {
      keepAlive: true,
      maxSockets: opts.connections,
      maxFreeSockets: opts.connections,
      scheduling: 'lifo' as const,
      timeout: 30_000,
    };
    this.http = new HttpAgent(pool);
    this.https = new HttpsAgent(pool);
    this.timeoutMs = opts.timeoutMs;
  }

  send(r: UpstreamRequest): Promise<UpstreamResponse> {
    const tls = r.origin.startsWith('https:');
    const u = new URL(r.origin);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      const req: ClientRequest = (tls ? httpsRequest : httpRequest)({
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port || (tls ? 443 : 80),
        method: r.method,
        path: r.path,
        headers: r.headers,
        agent: tls ? this.https : this.http,
        signal: r.signal,
        setHost: true,
      });
      // Silence on the socket for longer than the timeout, before or after the headers: the
      // request (and the response body, if it had begun) ends with a timeout.
      req.setTimeout(this.timeoutMs, () => req.destroy(new UpstreamTimeoutError(`no answer within ${this.timeoutMs} ms`)));
      req.once('error', fail);
      req.once('response', (res: IncomingMessage) => {
        settled = true;
        // An error on the body (reset, timeout, our own destroy) must not reach the process:
        // the relay reads the stream's state ('close' before 'end') instead.
        res.on('error', ignore);
        req.on('error', ignore);
        resolve({ status: res.statusCode ?? 502, headers: res.headers, body: res });
      });
      const body = r.body;
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.once('error', (e: Error) => req.destroy(e));
        body.pipe(req);
      }
    });
  }

  async close(): Promise<void> {
    this.http.destroy();
    this.https.destroy();
  }
}

/** Failures that mean "the upstream was too slow", not "unreachable". */
export function isTimeout(e: unknown): boolean {
  if (e instanceof UpstreamTimeoutError) return true;
  const code = (e as { code?: string } | undefined)?.code;
  return code === 'ETIMEDOUT';
}

function ignore(): void {}
