// Stage 6, record: exactly once per request, after the response, the metrics and one audit
// record. Never throws: a failed audit write is logged and counted by the audit log.
import { describeIdentity, modelLabel, OTHER_LABEL, type AuditDecision, type AuditEvent } from '@scopekeeper/core';
import type { RequestContext } from '../context.ts';
import type { RelayResult } from '../upstream/response.ts';
import { firstHeader } from '../http/headers.ts';
import type { DataPath } from './env.ts';

export function record(dp: DataPath, ctx: RequestContext, result: RelayResult, decision: AuditDecision, reasons: string[]): void {
  if (ctx.done) return;
  ctx.done = true;
  // Only the id is kept for the failure log: the record can stay queued for a while (a slow
  // disk, a burst of refusals), and holding the context would hold the whole request with it.
  const requestId = ctx.requestId;
  try {
    const event = observe(dp, ctx, result, decision, reasons);
    dp.audit.record(event).catch((e: unknown) => dp.log.error({ requestId, err: (e as Error).message }, 'audit record failed'));
  } catch (e) {
    dp.log.error({ requestId, err: (e as Error).message }, 'audit record failed');
  }
}

function observe(dp: DataPath, ctx: RequestContext, result: RelayResult, decision: AuditDecision, reasons: string[]): AuditEvent {
  const end = process.hrtime.bigint();
  const totalS = Number(end - ctx.t0) / 1e9;
  const upstreamS = ctx.upstreamStart !== undefined ? Number((ctx.upstreamEnd ?? end) - ctx.upstreamStart) / 1e9 : 0;
  const d = ctx.decision;
  // Label values from the request are bounded: a model no scope names is `other` (core labels.ts).
  const model = boundedModel(dp, ctx.model);
  const m = dp.metrics;
  m.requests.inc({ decision, reason: reasons[0] ?? '', model, scope: d?.scope ?? '' });
  m.duration.observe({ route: ctx.route }, totalS);
  m.overhead.observe(Math.max(0, totalS - upstreamS));
  if (result.masked) for (const [k, v] of Object.entries(result.masked)) if (v) m.masked.inc({ category: k }, v);
  if (result.usage && model) {
    for (const [k, v] of Object.entries(result.usage))
      if (typeof v === 'number' && v > 0) m.tokens.inc({ model, type: k.replace(/_tokens$/, '') }, v);
  }
  const id = ctx.identity;
  const req = ctx.req;
  return {
    time: new Date(ctx.startedAt).toISOString(),
    requestId: ctx.requestId,
    sessionId: firstHeader(req, 'x-claude-code-session-id')?.slice(0, 128),
    subject: id ? describeIdentity(id) : undefined,
    issuer: id?.issuer,
    namespace: dp.opts.namespace,
    pod: dp.opts.pod,
    scope: d?.scope,
    review: d?.review,
    route: ctx.route,
    method: req.method ?? '',
    path: (req.url ?? '').split('?')[0]!.slice(0, 512),
    model: ctx.model,
    tools: ctx.tools,
    decision,
    reasons,
    auditOnly: d?.auditOnly || undefined,
    status: result.status,
    masked: result.masked && Object.keys(result.masked).length ? result.masked : undefined,
    blocked: result.blocked,
    usage: result.usage && Object.keys(result.usage).length ? result.usage : undefined,
    toolsUsed: result.toolsUsed?.length ? result.toolsUsed : undefined,
    latencyMs: round(totalS * 1000),
    upstreamLatencyMs: ctx.upstreamStart !== undefined ? round(upstreamS * 1000) : undefined,
    bodySha256: ctx.bodySha256,
    error: result.error,
    approval: ctx.approval,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The model's metric label; `other` if even the policy lookup fails (the record must still be written). */
function boundedModel(dp: DataPath, model: string | undefined): string {
  try {
    return modelLabel(dp.policy.current(), model);
  } catch {
    return model ? OTHER_LABEL : '';
  }
}
