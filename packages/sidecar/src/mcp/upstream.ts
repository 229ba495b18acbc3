// The one request to an MCP server per exchange: only the transport's own headers go (never the
// caller's credentials or cookies), the answer is asked for uncompressed and decoded if the
// server compresses anyway, and the timeout covers the wait for the answer's headers only, so
// a long event stream is not cut.
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { failWithoutAnswer, http, statusProblem } from '../http/node-http.ts';
import type { Agent as HttpsAgent } from 'node:https';
import { httpsModule } from '../http/tls.ts';
import { createBrotliDecompress, createGunzip, createInflate, createZstdDecompress } from 'node:zlib';
import type { BodyLease } from '../http/body-budget.ts';

/**
 * The streamable HTTP transport's request headers; everything else the caller sent stays here.
 * Not the caller's content-type: a body is the JSON-RPC the sidecar parsed, so it goes as JSON (a
 * caller's form type would let a Rails or Spring server read `_method` out of a JSON string).
 */
const FORWARDED = ['accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'];
/** The transport's answer headers the caller gets back. */
export const RETURNED = ['content-type', 'mcp-session-id', 'mcp-protocol-version', 'cache-control'];

export interface UpstreamCall {
  target: URL;
  method: string;
  headers: IncomingMessage['headers'];
  body?: Buffer;
  agent: HttpAgent | HttpsAgent;
  timeoutMs: number;
  /** Headers only the sidecar adds (for example the endpoint's projected token). */
  extra?: Record<string, string>;
}

export class UpstreamError extends Error {
  readonly timeout: boolean;
  constructor(message: string, timeout: boolean) {
    super(message);
    this.timeout = timeout;
  }
}

export function callUpstream(c: UpstreamCall): Promise<IncomingMessage> {
  const headers: Record<string, string | number> = {};
  for (const h of FORWARDED) {
    const v = c.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  headers['accept-encoding'] = 'identity';
  if (c.body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = c.body.length;
  }
  Object.assign(headers, c.extra);
  const request = c.target.protocol === 'https:' ? httpsModule().request : http.request;
  return new Promise((resolve, reject) => {
    const r = request(c.target, { method: c.method, headers, agent: c.agent, timeout: c.timeoutMs }, (res) => {
      r.setTimeout(0);
      const bad = statusProblem(res);
      if (!bad) return resolve(res);
      res.destroy();
      reject(new UpstreamError(`the MCP server ${bad.message} (${bad.code})`, false));
    });
    r.once('timeout', () => r.destroy(new UpstreamError(`the MCP server did not answer within ${c.timeoutMs} ms`, true)));
    r.once('error', (e: NodeJS.ErrnoException) =>
      reject(e instanceof UpstreamError ? e : new UpstreamError(`the MCP server could not be reached (${e.code ?? e.message})`, false)),
    );
    failWithoutAnswer(r, (e) => reject(new UpstreamError(`the MCP server ${e.message} (${e.code})`, false)));
    r.end(c.body);
  });
}

/** The answer's body as plain bytes; undefined for an encoding the sidecar cannot read. */
export function decoded(res: IncomingMessage): NodeJS.ReadableStream | undefined {
  switch (
    String(res.headers['content-encoding'] ?? 'identity')
      .trim()
      .toLowerCase()
  ) {
    case 'identity':
    case '':
      return res;
    case 'gzip':
    case 'x-gzip':
      return res.pipe(createGunzip());
    case 'deflate':
      return res.pipe(createInflate());
    case 'br':
      return res.pipe(createBrotliDecompress());
    case 'zstd':
      return res.pipe(createZstdDecompress());
    default:
      return undefined;
  }
}

/** The answer, whole: at most `limit` bytes, each taken from the body budget through `lease` (BodyBudgetError past it). */
export async function readAll(stream: NodeJS.ReadableStream, limit: number, lease: BodyLease): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error(`the answer is over ${limit} bytes`);
    lease.take((c as Buffer).length);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, size);
}
