// One HTTP exchange with an MCP endpoint (streamable HTTP transport): POST carries JSON-RPC
// messages, checked one by one (refused, held or forwarded) and answered as JSON or as an event
// stream, governed on the way back; GET is the server's own stream and DELETE ends the session,
// both only for a session this caller opened, on its path (server-stream.ts): the path of a
// session is recorded when the server names it. Every JSON-RPC message gets its own audit record
// through `record`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import {
  forwardBody,
  idKey,
  JsonRpcBodyError,
  parseJsonRpc,
  planMcpPost,
  refusalFor,
  rpcError,
  RPC,
  sseMessages,
  type ApprovalRequest,
  type JsonRpcId,
  type Decision,
  type Masking,
  type McpCall,
  type McpEntry,
  type McpMessageOutcome,
} from '@scopekeeper/core';
import { callUpstream, decoded, readAll, type UpstreamError } from './upstream.ts';
import { answerFor, answerHeaders, pump, reply } from './io.ts';
import { isEventStream } from '../http/headers.ts';
import { relayStream } from './server-stream.ts';
import type { McpSessions } from './sessions.ts';
import type { HeldOutcome } from '../policy/held.ts';
import type { BodyLease } from '../http/body-budget.ts';
import { recordEntries, type McpCallRecord } from './records.ts';

export type { McpCallRecord } from './records.ts';

export interface McpExchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** The request body, already read (POST). */
  body?: Buffer;
  endpoint: string;
  target: URL;
  /** Who the caller is, for session ownership. */
  owner: string;
  sessions: McpSessions;
  decideCall(call: McpCall): Decision;
  /** Records a held call as a Pending JustInTime review (policy/held.ts): its `<namespace>/<name>`, or why none was written. */
  hold(approval: ApprovalRequest): Promise<HeldOutcome>;
  masking?: Masking;
  maskFields: string[];
  agent: HttpAgent | HttpsAgent;
  timeoutMs: number;
  /** Largest JSON answer read whole. */
  maxAnswerBytes: number;
  /** This exchange's share of the body budget (the message read, the answer read whole); released when the response closes. */
  lease: BodyLease;
  /** x-scopekeeper-* answer headers. */
  headers: Record<string, string>;
  upstreamHeaders?: Record<string, string>;
  record(r: McpCallRecord): void;
}

const JSON_TYPE = { 'content-type': 'application/json' };

export async function runMcpExchange(x: McpExchange): Promise<void> {
  const t0 = process.hrtime.bigint();
  const ms = () => Math.round(Number(process.hrtime.bigint() - t0) / 1e3) / 1e3;
  const session = typeof x.req.headers['mcp-session-id'] === 'string' ? x.req.headers['mcp-session-id'] : undefined;
  const base = { sessionId: session, latencyMs: 0 };
  if (session !== undefined && !x.sessions.mayUse(x.endpoint, session, x.owner)) {
    const msg = `The MCP session ${session.slice(0, 64)} was opened by another caller; open your own session (send initialize without Mcp-Session-Id).`;
    reply(x, 403, rpcError(null, RPC.denied, msg), { ...x.headers, 'x-scopekeeper-decision': 'deny' });
    return x.record({
      ...base,
      method: x.req.method === 'POST' ? '(session)' : x.req.method!,
      decision: 'deny',
      reasons: ['McpSessionNotOwned'],
      status: 403,
      latencyMs: ms(),
    });
  }
  if (x.req.method !== 'POST') return relayStream(x, ms, base);
  let parsed;
  try {
    parsed = parseJsonRpc(x.body ?? Buffer.alloc(0));
  } catch (e) {
    if (!(e instanceof JsonRpcBodyError)) throw e;
    reply(x, e.status, rpcError(null, e.code, e.message));
    return x.record({
      ...base,
      method: '(invalid)',
      decision: 'deny',
      reasons: ['McpInvalidMessage'],
      status: e.status,
      error: e.message,
      latencyMs: ms(),
    });
  }
  const entries = planMcpPost(parsed, x.endpoint, x.decideCall);
  const refusals: Record<string, unknown>[] = [];
  const approvals = new Map<McpEntry, string>();
  for (const e of entries) {
    let override: { message?: string; approval?: string } | undefined;
    if (e.verdict === 'hold') {
      const d = e.decision!;
      const held = await x.hold(d.approval!);
      if (held.ref === undefined) override = { message: `${d.message} (the pending review could not be created: ${held.problem})` };
      else {
        approvals.set(e, held.ref);
        override = {
          message: d.message.replace(/ the pending JustInTime AccessReview,/, ` the pending JustInTime AccessReview ${held.ref},`),
          approval: held.ref,
        };
      }
    }
    if (e.verdict !== 'forward') {
      const r = refusalFor(e, override);
      if (r) refusals.push(r);
    }
  }
  const out = forwardBody(x.body!, parsed, entries);
  const finish = (status: number, outcomes: McpMessageOutcome[], error?: string) =>
    recordEntries(x, { entries, approvals, outcomes }, { status, latencyMs: ms(), sessionId: session, error });
  if (out === undefined) {
    const single = !parsed.batch && entries[0]!.verdict === 'invalid';
    // One message refused: the headers say so too, as they do for a refused Messages request.
    const one = parsed.batch ? undefined : entries[0]!;
    const headers =
      one?.verdict === 'hold'
        ? { ...x.headers, 'x-scopekeeper-decision': 'approval-required', ...approvalHeader(approvals.get(one)) }
        : one
          ? { ...x.headers, 'x-scopekeeper-decision': 'deny' }
          : x.headers;
    if (refusals.length === 0) reply(x, 202, undefined, headers);
    else reply(x, single ? 400 : 200, parsed.batch ? refusals : refusals[0], headers);
    return finish(refusals.length === 0 ? 202 : single ? 400 : 200, []);
  }
  let upstream: IncomingMessage;
  try {
    upstream = await callUpstream({
      target: x.target,
      method: 'POST',
      headers: x.req.headers,
      body: out,
      agent: x.agent,
      timeoutMs: x.timeoutMs,
      extra: x.upstreamHeaders,
    });
  } catch (e) {
    const err = e as UpstreamError;
    reply(x, err.timeout ? 504 : 502, rpcError(null, RPC.unavailable, `${err.message}; retry later.`));
    return finish(err.timeout ? 504 : 502, [], err.message);
  }
  const status = upstream.statusCode ?? 502;
  const sid = upstream.headers['mcp-session-id'];
  if (typeof sid === 'string' && status < 300) x.sessions.bind(x.endpoint, sid, x.owner, x.target.pathname);
  const answer = answerFor(x);
  const source = decoded(upstream);
  const type = String(upstream.headers['content-type'] ?? '');
  if (source === undefined) {
    upstream.destroy();
    reply(
      x,
      502,
      rpcError(null, RPC.unavailable, 'The MCP server answered in an encoding scopekeeper cannot read; nothing of it was passed on.'),
    );
    return finish(502, [], 'unreadable content-encoding');
  }
  if (isEventStream(type) && status < 300) {
    const outcomes: McpMessageOutcome[] = [];
    x.res.writeHead(status, answerHeaders(x, upstream));
    if (refusals.length) x.res.write(sseMessages(refusals));
    const error = await pump(
      source,
      upstream,
      x.res,
      answer.stream((o) => outcomes.push(o)),
      {
        hold: x.lease.part(),
        lastWords: (why) =>
          sseMessages(
            unanswered(entries, outcomes).map((id) =>
              rpcError(id, RPC.unavailable, `The MCP server's answer could not be relayed (${why}); nothing more of it was passed on.`),
            ),
          ),
      },
    );
    return finish(status, outcomes, error);
  }
  let raw: Buffer;
  try {
    raw = await readAll(source, x.maxAnswerBytes, x.lease);
  } catch (e) {
    upstream.destroy();
    reply(x, 502, rpcError(null, RPC.unavailable, `The MCP server's answer could not be relayed (${(e as Error).message}); retry.`));
    return finish(502, [], (e as Error).message);
  }
  if (raw.length === 0) {
    // 202 Accepted for notifications and responses: our refusals, if any, are the answer.
    if (refusals.length) reply(x, 200, parsed.batch ? refusals : refusals[0]);
    else reply(x, status, undefined, answerHeaders(x, upstream));
    return finish(refusals.length ? 200 : status, []);
  }
  const governed = answer.json(raw, refusals);
  const unreadable = governed.outcomes.some((o) => o.unreadable);
  const code = unreadable ? 502 : status;
  x.res.writeHead(code, { ...answerHeaders(x, upstream), ...JSON_TYPE, 'content-length': governed.body.length });
  x.res.end(governed.body);
  return finish(code, governed.outcomes, unreadable ? 'the MCP server answered with something that is not JSON' : undefined);
}

/** Ids of the forwarded requests whose answer has not come (yet). */
function unanswered(entries: McpEntry[], outcomes: McpMessageOutcome[]): JsonRpcId[] {
  const answered = new Set<string>();
  for (const o of outcomes) if (o.id !== undefined) answered.add(idKey(o.id));
  const ids: JsonRpcId[] = [];
  for (const e of entries)
    if (e.verdict === 'forward' && e.message.kind === 'request' && !answered.has(idKey(e.message.id))) ids.push(e.message.id);
  return ids;
}

/** The held call's review, when one was written. */
function approvalHeader(ref: string | undefined): Record<string, string> {
  return ref === undefined ? {} : { 'x-scopekeeper-approval': ref };
}
