// GET (the server's own event stream) and DELETE (the end of a session) on an MCP endpoint. The
// transport has one MCP path, and GET and DELETE name a session there: they pass only with an
// Mcp-Session-Id this caller opened, on the path the session was opened on (sessions.ts). Anything
// else would reach the server's other routes (a REST API in the same process) past the tool rules,
// with the endpoint's credential: without a session id, 405 (the MCP SDK's client then goes on
// without a server stream); with an id the sidecar does not know as this caller's, or on another
// path, 404 (the client opens a new session). A refusal reaches nothing and is recorded. What the
// server sends is governed like any answer; a GET answered 2xx with anything but an event stream
// is not relayed (502).
import type { IncomingMessage } from 'node:http';
import { rpcError, RPC } from '@scopekeeper/core';
import { callUpstream, decoded, readAll, type UpstreamError } from './upstream.ts';
import { answerFor, answerHeaders, pump, reply } from './io.ts';
import { isEventStream } from '../http/headers.ts';
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
  const refused = sessionRefusal(x, base.sessionId);
  if (refused) {
    reply(x, refused.status, rpcError(null, RPC.denied, refused.message), {
      ...x.headers,
      'x-scopekeeper-decision': 'deny',
      ...refused.headers,
    });
    return record(refused.status, { decision: 'deny', reasons: [refused.reason] });
  }
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
  const type = String(upstream.headers['content-type'] ?? '');
  if (x.req.method === 'GET' && status >= 200 && status < 300 && !isEventStream(type)) {
    // A stream request answered with a page or a JSON document is not the MCP transport: nothing of it goes out.
    upstream.destroy();
    const what = (type || 'no content type').slice(0, 128);
    reply(
      x,
      502,
      rpcError(
        null,
        RPC.unavailable,
        `The MCP server answered its stream request with ${what}, not an event stream; nothing of it was passed on.`,
      ),
    );
    return record(502, { error: `stream request answered ${status} with ${what}` });
  }
  if (isEventStream(type) && source) {
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

/** Why a GET or DELETE does not reach the server, if it does not: no session, or none this caller opened on this path. */
function sessionRefusal(
  x: McpExchange,
  session: string | undefined,
): { status: number; reason: string; message: string; headers?: Record<string, string> } | undefined {
  if (session === undefined)
    return {
      status: 405,
      reason: 'McpStreamWithoutSession',
      message: `scopekeeper passes ${x.req.method} to an MCP server only for a session: send the Mcp-Session-Id of a session you opened (initialize over POST) on the path you opened it on. Without a session there is no server stream to open and no session to end.`,
      headers: { allow: 'POST' },
    };
  const path = x.sessions.pathOf(x.endpoint, session, x.owner);
  if (path === undefined)
    return {
      status: 404,
      reason: 'McpSessionUnknown',
      message: `scopekeeper does not know the MCP session ${session.slice(0, 64)} as yours (it ended, or the sidecar restarted); open a new session (send initialize without Mcp-Session-Id).`,
    };
  if (path !== x.target.pathname)
    return {
      status: 404,
      reason: 'McpSessionOtherPath',
      message: `The MCP session ${session.slice(0, 64)} was opened on another path; ${x.req.method} passes only on the path of its session. Open a new session here (send initialize without Mcp-Session-Id) or use the session's own path.`,
    };
  return undefined;
}
