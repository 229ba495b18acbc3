// /services/<endpoint>/… of an endpoint with protocol: mcp, once the caller may reach the
// endpoint at all: every JSON-RPC message is decided by decide() on route 'mcp' with the same
// snapshot, identity and clock, and recorded on its own (method, tool, arguments hash,
// decision, masked counts, latency, MCP session id beside the SDK session id).
import type { IncomingMessage } from 'node:http';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import {
  decide,
  describeIdentity,
  rpcError,
  RPC,
  type AuditDecision,
  type AuditEvent,
  type Decision,
  type Masking,
  type PolicySnapshot,
} from '@scopekeeper/core';
import type { RequestContext } from '../context.ts';
import { BODY_TIMEOUT_MS, readBody, BodyTimeoutError, BodyTooLargeError, lingerOnClose } from '../http/body.ts';
import { BODY_BUDGET_RETRY_AFTER_S, BodyBudgetError, type BodyBudget } from '../http/body-budget.ts';
import { REFUSALS } from '../http/refusals.ts';
import { upstreamTarget } from '../http/service-path.ts';
import type { HeldRequests } from '../policy/held.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Logger } from '../log.ts';
import type { SidecarMetrics } from '../metrics.ts';
import { runMcpExchange, type McpCallRecord } from './exchange.ts';
import { McpSessions } from './sessions.ts';

/** Largest MCP message body (a tool call's arguments); larger bodies get 413 and a JSON-RPC error. */
export const MCP_MAX_BODY = 4 * 1024 * 1024;
const MCP_MAX_ANSWER = 64 * 1024 * 1024;

export interface McpRouteDeps {
  /** Where held calls become Pending reviews: the data path's one HeldRequests. */
  held: HeldRequests;
  audit: AuditLog;
  log: Logger;
  metrics: SidecarMetrics;
  now: () => number;
  namespace: string;
  pod?: string;
  pinnedScope?: string;
  /** Keep-alive pools to the endpoints; close() ends both when the sidecar stops. */
  agents: { http: HttpAgent; https: HttpsAgent; close(): void };
  timeoutMs: number;
  maxBodyBytes: number;
  /** Time a POST's body has to arrive after its headers (default BODY_TIMEOUT_MS). */
  bodyTimeoutMs?: number;
  /** --audit-required: refuse while the audit cannot be written. */
  auditRequired: boolean;
  sessions: McpSessions;
  /** The sidecar's budget of bodies held whole (the message read, the answer read to check it). */
  bodies: BodyBudget;
  /** The masking engine of the decision's scope (the sidecar's cache). */
  masking(decision: Decision): Masking | undefined;
  /** Headers only the sidecar sends to this endpoint (its projected token), if any. */
  upstreamHeaders?(decision: Decision): Record<string, string> | undefined;
}

export { McpSessions };

export interface McpTarget {
  endpoint: string;
  rawPath: string;
  query: string;
}

export async function serveMcp(
  ctx: RequestContext,
  at: McpTarget,
  decision: Decision,
  snap: PolicySnapshot,
  d: McpRouteDeps,
): Promise<void> {
  const { req, res } = ctx;
  ctx.done = true; // one record per JSON-RPC message, written here, instead of one per HTTP request
  const ep = decision.endpoint!;
  const up = upstreamTarget(ep.url, at);
  const target = new URL(`${up.origin}${up.path}`);
  const headers = {
    'x-scopekeeper-request-id': ctx.requestId,
    'x-scopekeeper-decision': decision.auditOnly ? 'allow-audit-only' : 'allow',
  };
  const record = (r: McpCallRecord) => void writeRecord(req, ctx, r, d);
  if (d.auditRequired && d.audit.healthy === false) {
    const text = JSON.stringify(
      rpcError(
        null,
        RPC.unavailable,
        'The audit log cannot be written and --audit-required is set, so MCP calls are refused; restore the audit sink (see the sidecar logs and /readyz).',
      ),
    );
    res
      .writeHead(503, {
        ...headers,
        'x-scopekeeper-decision': 'error',
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      })
      .end(text);
    return record({
      method: req.method === 'POST' ? '(unread)' : req.method!,
      decision: 'error',
      reasons: ['AuditUnavailable'],
      status: 503,
      latencyMs: 0,
    });
  }
  let body: Buffer | undefined;
  const lease = d.bodies.lease();
  res.once('close', () => lease.release());
  if (req.method === 'POST') {
    const limit = Math.min(d.maxBodyBytes, MCP_MAX_BODY);
    try {
      body = await readBody(req, limit, d.bodyTimeoutMs, lease);
    } catch (e) {
      const r = unreadBody(e as Error, limit, d.bodyTimeoutMs ?? BODY_TIMEOUT_MS);
      const text = JSON.stringify(rpcError(null, r.rpc, r.message));
      // The rest of the body is not read: answer, then close (lingering, so the answer arrives).
      if (r.close) lingerOnClose(req.socket);
      res
        .writeHead(r.status, {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          ...(r.close ? { connection: 'close' } : {}),
          ...(r.status === 529 ? { 'retry-after': String(BODY_BUDGET_RETRY_AFTER_S) } : {}),
        })
        .end(text);
      return record({ method: '(invalid)', decision: r.decision, reasons: [r.reason], status: r.status, latencyMs: 0 });
    }
  }
  const id = ctx.identity!;
  await runMcpExchange({
    req,
    res,
    body,
    endpoint: at.endpoint,
    target,
    owner: `${id.issuer}\u0000${describeIdentity(id)}`,
    sessions: d.sessions,
    decideCall: (call) =>
      decide(snap, id, { route: 'mcp', endpoint: at.endpoint, url: ep.url, call }, d.now(), { pinnedScope: d.pinnedScope }),
    hold: (approval) => {
      const reason = req.headers['x-scopekeeper-reason'];
      return d.held.record(approval, typeof reason === 'string' ? reason : undefined);
    },
    masking: d.masking(decision),
    maskFields: [...(decision.data?.maskFields(at.endpoint) ?? ep.maskFields ?? [])],
    agent: target.protocol === 'https:' ? d.agents.https : d.agents.http,
    timeoutMs: d.timeoutMs,
    maxAnswerBytes: MCP_MAX_ANSWER,
    lease,
    headers,
    upstreamHeaders: d.upstreamHeaders?.(decision),
    record,
  });
}

async function writeRecord(req: IncomingMessage, ctx: RequestContext, r: McpCallRecord, d: McpRouteDeps): Promise<void> {
  const id = ctx.identity;
  const sdkSession = req.headers['x-claude-code-session-id'];
  d.metrics.requests.inc({ decision: r.decision, reason: r.reasons[0] ?? '', model: '', scope: r.scope ?? ctx.decision?.scope ?? '' });
  d.metrics.duration.observe({ route: 'mcp' }, r.latencyMs / 1000);
  if (r.masked) for (const [k, v] of Object.entries(r.masked)) d.metrics.masked.inc({ category: k }, v);
  const event: AuditEvent = {
    time: new Date(ctx.startedAt).toISOString(),
    requestId: ctx.requestId,
    sessionId: typeof sdkSession === 'string' ? sdkSession.slice(0, 128) : undefined,
    subject: id ? describeIdentity(id) : undefined,
    issuer: id?.issuer,
    namespace: d.namespace,
    pod: d.pod,
    scope: r.scope ?? ctx.decision?.scope,
    review: r.review ?? ctx.decision?.review,
    route: 'mcp',
    method: req.method ?? '',
    path: (req.url ?? '').split('?')[0]!.slice(0, 512),
    tools: r.tool ? [r.tool] : undefined,
    toolsUsed: r.tool && r.decision === 'allow' ? [r.tool] : undefined,
    decision: r.decision,
    reasons: r.reasons,
    auditOnly: ctx.decision?.auditOnly || undefined,
    status: r.status,
    masked: r.masked,
    blocked: r.blocked,
    latencyMs: r.latencyMs,
    error: r.error,
    approval: r.approval,
    mcpSessionId: r.sessionId?.slice(0, 128),
    mcpMethod: r.method.slice(0, 256),
    mcpId: r.id?.slice(0, 128),
    mcpTool: r.tool?.slice(0, 256),
    mcpArgsSha256: r.argsSha256,
    mcpHidden: r.hidden,
  };
  try {
    await d.audit.record(event);
  } catch (e) {
    d.log.error({ requestId: ctx.requestId, err: (e as Error).message }, 'audit record failed');
  }
}

/** How the MCP route answers a body it could not read. */
function unreadBody(
  e: Error,
  limit: number,
  timeoutMs: number,
): { status: number; rpc: number; reason: string; decision: AuditDecision; message: string; close: boolean } {
  // Status, reason and decision as the Messages route records the same refusal (http/refusals.ts).
  const as = (r: { status: number; code: string; decision: AuditDecision }) => ({ status: r.status, reason: r.code, decision: r.decision });
  if (e instanceof BodyTooLargeError) {
    const message = `The MCP message is too large (${e.message}); the sidecar accepts up to ${limit} bytes. Send smaller arguments.`;
    return { ...as(REFUSALS.requestTooLarge), rpc: RPC.invalidRequest, message, close: true };
  }
  if (e instanceof BodyBudgetError) {
    const message = `scopekeeper did not keep this MCP message: ${e.message}; retry after ${BODY_BUDGET_RETRY_AFTER_S} s.`;
    return { ...as(REFUSALS.bodiesBusy), rpc: RPC.unavailable, message, close: false };
  }
  if (e instanceof BodyTimeoutError) {
    const message = `The MCP message did not arrive in time (${e.message} within ${timeoutMs / 1000} s of the headers); send the whole body without pausing.`;
    return { ...as(REFUSALS.bodyTimeout), rpc: RPC.invalidRequest, message, close: true };
  }
  const message = `The request body could not be read (${e.message}); send it again.`;
  return { ...as(REFUSALS.bodyUnreadable), rpc: RPC.parseError, message, close: false };
}
