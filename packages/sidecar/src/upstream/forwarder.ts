// Sends a request to the upstream (or an internal service) over keep-alive connection pools:
// undici, one pool per origin, bounded, with the --upstream-timeout for the response headers and
// for any silence while the body streams.
import type { Readable } from 'node:stream';
import { Agent } from 'undici';

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

export class Forwarder {
  private readonly agent: Agent;

  constructor(opts: { connections: number; timeoutMs: number }) {
    this.agent = new Agent({
      connections: opts.connections,
      pipelining: 1,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  async send(r: UpstreamRequest): Promise<UpstreamResponse> {
    const res = await this.agent.request({
      origin: r.origin,
      path: r.path,
      method: r.method as 'GET',
      headers: r.headers,
      body: r.body,
      signal: r.signal,
    });
    // undici's body emits 'error' even when we destroy it ourselves (an answer we refuse, a caller
    // gone): without a listener that would reach the process. The relay reads the state instead.
    res.body.on('error', ignore);
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

/** Failures that mean "the upstream was too slow", not "unreachable". */
export function isTimeout(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT';
}

function ignore(): void {}
