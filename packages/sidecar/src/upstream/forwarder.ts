// Sends a request to the upstream (or an internal service) over keep-alive connection pools:
// node:http / node:https, one bounded pool per protocol (per origin inside it), with the
// --upstream-timeout for the response headers and for any silence while the body streams.
//
// node:http rather than undici: the same forwarding CPU in the bench (fwd-node against
// fwd-express), but undici's ~110 modules cost the sidecar of every pod ~40 ms of start-up and
// ~10 MB of RSS, and node:http is loaded anyway for the server side.
import type { Agent as HttpAgent, IncomingMessage, ClientRequest } from 'node:http';
import { failWithoutAnswer, http, statusProblem } from '../http/node-http.ts';
import type { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { httpsModule } from '../http/tls.ts';

export interface UpstreamRequest {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string | string[]>;
  body?: Buffer | Readable;
  /** A Buffer body has been handed to the socket whole (its memory is no longer needed). */
  onBodySent?: () => void;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** The caller went away before the upstream answered. */
export class CancelledError extends Error {
  readonly code = 'ECANCELED';
}

/** The upstream did not answer, or went silent mid-body, for longer than --upstream-timeout. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

export class Forwarder {
  private readonly http: HttpAgent;
  private https: HttpsAgent | undefined;
  private readonly pool: ConstructorParameters<typeof HttpAgent>[0];
  private readonly timeoutMs: number;
  private readonly origins = new Map<string, Origin>();

  constructor(opts: { connections: number; timeoutMs: number }) {
    // lifo: the most recently used socket is reused, so idle ones age out (keepAlive's own timeout).
    const pool = {
      keepAlive: true,
      maxSockets: opts.connections,
      maxFreeSockets: opts.connections,
      scheduling: 'lifo' as const,
      timeout: 30_000,
    };
    this.http = new http.Agent(pool);
    this.pool = pool;
    this.timeoutMs = opts.timeoutMs;
  }

  /** Sends the request; `cancel()` before the response ends it (the caller went away). */
  send(r: UpstreamRequest): { response: Promise<UpstreamResponse>; cancel: () => void } {
    const tls = r.origin.startsWith('https:');
    const u = this.origin(r.origin);
    let req: ClientRequest | undefined;
    let settled = false;
    const response = new Promise<UpstreamResponse>((resolve, reject) => {
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      req = (tls ? httpsModule().request : http.request)({
        host: u.host,
        port: u.port,
        method: r.method,
        path: r.path,
        headers: headerList(r.headers, u.hostHeader),
        agent: tls ? (this.https ??= new (httpsModule().Agent)(this.pool)) : this.http,
      });
      const sent = req;
      // Silence on the socket for longer than the timeout, before or after the headers: the
      // request (and the response body, if it had begun) ends with a timeout.
      sent.setTimeout(this.timeoutMs, () => sent.destroy(new UpstreamTimeoutError(`no answer within ${this.timeoutMs} ms`)));
      sent.once('error', fail);
      failWithoutAnswer(sent, fail);
      sent.once('response', (res: IncomingMessage) => {
        settled = true;
        // An error on the body (reset, timeout, our own destroy) must not reach the process:
        // the relay reads the stream's state ('close' before 'end') instead.
        res.on('error', ignore);
        sent.on('error', ignore);
        const bad = statusProblem(res);
        if (bad) {
          res.destroy();
          return reject(bad);
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: res });
      });
      const body = r.body;
      if (body === undefined) sent.end();
      else if (Buffer.isBuffer(body)) sent.end(body, r.onBodySent);
      else {
        body.once('error', (e: Error) => sent.destroy(e));
        body.pipe(sent);
      }
    });
    const cancel = () => {
      if (!settled) req?.destroy(new CancelledError('the caller closed the connection'));
    };
    return { response, cancel };
  }

  /** host, port and Host header of an origin, parsed once per origin. */
  private origin(origin: string): Origin {
    let o = this.origins.get(origin);
    if (!o) {
      const u = new URL(origin);
      // URL's host is what node:http would send: IPv6 in brackets, the port unless the scheme's default.
      o = { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80), hostHeader: u.host };
      if (this.origins.size >= 1024) this.origins.clear();
      this.origins.set(origin, o);
    }
    return o;
  }

  async close(): Promise<void> {
    this.http.destroy();
    this.https?.destroy();
  }
}

interface Origin {
  host: string;
  port: number;
  hostHeader: string;
}

/**
 * The headers as node:http's flat [name, value, …] list, with the Host node would add unless one
 * is given: node then writes the header block at once, validating every name and value as
 * setHeader would, without setHeader's per-header bookkeeping (a measurable share of the
 * forwarding CPU). A list value goes as it is: node treats it as setHeader would (one line per
 * value).
 */
function headerList(headers: Record<string, string | string[]>, hostHeader: string): string[] {
  const list: (string | string[])[] = [];
  let host = false;
  for (const k in headers) {
    if (k.length === 4 && k.toLowerCase() === 'host') host = true;
    list.push(k, headers[k]!);
  }
  if (!host) list.push('host', hostHeader);
  return list as string[];
}

/** Failures that mean "the upstream was too slow", not "unreachable". */
export function isTimeout(e: unknown): boolean {
  if (e instanceof UpstreamTimeoutError) return true;
  const code = (e as { code?: string } | undefined)?.code;
  return code === 'ETIMEDOUT';
}

function ignore(): void {}
