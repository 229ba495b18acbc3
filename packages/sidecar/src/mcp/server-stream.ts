// GET (the server's own event stream) and DELETE (the end of a session) on an MCP endpoint: the
// caller may reach the endpoint, so they pass; what the server sends is governed like any answer.
import type { IncomingMessage } from 'node:http';
import { rpcError, RPC } from '@scopekeeper/core';
import { callUpstream, decoded, readAll, type UpstreamError } from './upstream.ts';
import { answerFor, answerHeaders, pump, reply } from './io.ts';
import type { McpCallRecord, McpExchange } from './exchange.ts';

/** GET (the server's stream) and DELETE (end the session): one record each. */
export async function relayStream(x: McpExchange, ms: () => number, base: { sessionId?: string }): Promise<void> {
  const record = (status: number, extra: Partial<McpCallRecord> = {}) =>
    x.record({
      ...base,
      method: x.req.method!,
      decision: status < 500 ? 'allow' : 'error',
      reasons: ['Allowed'],
      status,
      latencyMs: ms(),
      ...extra,
    });
  let upstream: IncomingMessage;
  try {
    upstream = await callUpstream({
      target: x.target,
      method: x.req.method!,
      headers: x.req.headers,
      agent: x.agent,
      timeoutMs: x.timeoutMs,
      extra: x.upstreamHeaders,
    });
  } catch (e) {
    const err = e as UpstreamError;
    reply(x, err.timeout ? 504 : 502, rpcError(null, RPC.unavailable, `${err.message}; retry later.`));
    return record(err.timeout ? 504 : 502, { error: err.message });
  }
  const status = upstream.statusCode ?? 502;
  if (x.req.method === 'DELETE' && base.sessionId !== undefined && status < 300) x.sessions.end(x.endpoint, base.sessionId);
  const source = decoded(upstream);
  if (String(upstream.headers['content-type'] ?? '').startsWith('text/event-stream') && source) {
    const masked: Record<string, number> = {};
    let hidden = 0;
    x.res.writeHead(status, answerHeaders(x, upstream));
    const error = await pump(
      source,
      upstream,
      x.res,
      answerFor(x).stream((o) => {
        for (const [k, v] of Object.entries(o.counts)) masked[k] = (masked[k] ?? 0) + v;
        hidden += o.hidden;
      }),
      { hold: x.lease.part() },
    );
    return record(status, { masked: Object.keys(masked).length ? masked : undefined, hidden: hidden || undefined, error });
  }
  // Anything else (405 when the server has no stream, a DELETE's empty answer): governed as JSON when it has a body.
  const raw = source ? await readAll(source, x.maxAnswerBytes, x.lease).catch(() => undefined) : undefined;
  if (raw === undefined) {
    upstream.destroy();
    reply(x, 502, rpcError(null, RPC.unavailable, 'The MCP server answer could not be read; nothing of it was passed on.'));
    return record(502, { error: 'unreadable answer' });
  }
  const body = raw.length ? answerFor(x).json(raw).body : raw;
  x.res.writeHead(status, { ...answerHeaders(x, upstream), 'content-length': body.length });
  x.res.end(body);
  record(status);
}
