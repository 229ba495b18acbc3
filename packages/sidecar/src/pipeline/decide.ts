// Stage 3, decide: core's decide() on the current policy snapshot. A denial or a held request is
// answered here; an allowed one leaves with the caller's masking (compiled with the policy) on the context.
import { decide as decidePolicy, denialErrorType, type Decision, type PolicyRequest, type PolicySnapshot } from '@scopekeeper/core';
import type { RequestContext } from '../context.ts';
import { firstHeader } from '../http/headers.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

/** The current snapshot, or undefined after answering 503. */
export function snapshotOrRefuse(dp: DataPath, ctx: RequestContext): PolicySnapshot | undefined {
  const snap = dp.policy.current();
  if (!snap) refuse(dp, ctx, 'policyUnavailable', { lastError: dp.policy.status().lastError });
  return snap;
}

export function decideRequest(dp: DataPath, ctx: RequestContext, snap: PolicySnapshot, request: PolicyRequest): Decision {
  return decidePolicy(snap, ctx.identity!, request, dp.now(), { pinnedScope: dp.opts.pinnedScope });
}

/** True when the request may be forwarded; otherwise it has been answered (403 or 503). */
export async function enforce(dp: DataPath, ctx: RequestContext, decision: Decision): Promise<boolean> {
  ctx.decision = decision;
  if (decision.effect === 'deny') {
    const which = denialErrorType(decision) === 'invalid_request_error' ? 'requestNotAllowed' : 'permissionDenied';
    refuse(dp, ctx, which, { message: decision.message, reasons: ctx.reasonCodes });
    return false;
  }
  if (decision.effect === 'approval-required') {
    await hold(dp, ctx, decision);
    return false;
  }
  if (dp.opts.auditRequired && dp.audit.healthy === false) {
    refuse(dp, ctx, 'auditUnavailable', undefined);
    return false;
  }
  // The caller's data rules: the union over every scope naming it (core's DataRules).
  ctx.masking = decision.data?.masking.active ? decision.data.masking : undefined;
  return true;
}

/** A request that needs a person's yes: record the Pending JustInTime review (policy/held.ts) and name it. */
async function hold(dp: DataPath, ctx: RequestContext, decision: Decision): Promise<void> {
  const held = await dp.held.record(decision.approval!, firstHeader(ctx.req, 'x-scopekeeper-reason'));
  if (held.problem !== undefined) {
    if (!held.limited) dp.log.error({ requestId: ctx.requestId, err: held.problem }, 'could not record the held request');
    refuse(dp, ctx, 'approvalRequired', {
      message: `${decision.message} (the pending review could not be created: ${held.problem})`,
      reasons: ctx.reasonCodes,
    });
    return;
  }
  ctx.approval = held.ref;
  const message = decision.message.replace(/ the pending JustInTime AccessReview,/, ` the pending JustInTime AccessReview ${held.ref},`);
  refuse(dp, ctx, 'approvalRequired', { message, reasons: ctx.reasonCodes, ref: held.ref });
}
