// decide(): a pure function of the compiled policy, the verified caller, the request and the
// clock. Every outcome carries machine-readable reasons and one sentence that says what to do.
// The scopes that name the caller (scopes.ts) are fitted to the request (fit.ts), then opened by
// their review or a JustInTime approval (gates.ts).
import type { PolicySnapshot, CompiledScope } from './compile.ts';
import type { Decision, PolicyRequest, Reason } from './decision.ts';
import { fitOf } from './fit.ts';
import { approvalFingerprint, justInTimeFor, periodicGate } from './gates.ts';
import { describeCaller, requesterOf, type Identity } from './identity.ts';
import { matchingScopes, representatives } from './scopes.ts';

function sentence(scope: string, reasons: Reason[]): string {
  const first = reasons[0]!;
  const more =
    reasons.length > 1
      ? ` (and ${reasons.length - 1} more: ${reasons
          .slice(1)
          .map((r) => r.code)
          .join(', ')})`
      : '';
  return `Denied by ModelScope ${scope}, rule ${first.rule}: ${first.detail}${more}.`;
}

function evaluate(s: CompiledScope, id: Identity, req: PolicyRequest, now: number, explain: boolean): Decision {
  const base = { scope: s.name, namespace: s.namespace, compiled: s };
  const gate = periodicGate(s, now, explain);
  const auditOnly = gate.reason !== undefined && s.scope.spec.review?.onExpiry === 'AuditOnly';
  const fit = fitOf(s, req, explain);
  const denies = gate.reason && !auditOnly ? [gate.reason, ...fit.denies] : fit.denies;
  if (denies.length) {
    return {
      ...base,
      effect: 'deny',
      reasons: denies,
      message: explain ? sentence(s.name, denies) : '',
      review: gate.review?.metadata.name,
    };
  }
  const reviewName = gate.review?.metadata.name;
  const allowReasons: Reason[] = auditOnly
    ? [
        {
          code: 'AuditOnlyExpiredReview',
          rule: 'spec.review.onExpiry',
          detail: `no valid review (${gate.reason!.code}); allowed because onExpiry is AuditOnly`,
        },
      ]
    : [{ code: 'Allowed', rule: 'spec', detail: 'the request fits the scope' }];
  if (fit.gatedModel !== undefined || fit.gatedTools.length) {
    const jit = justInTimeFor(s, id, fit.gatedModel, fit.gatedTools, now);
    if (jit) {
      return {
        ...base,
        effect: 'allow',
        review: jit.metadata.name,
        auditOnly,
        endpoint: fit.endpoint,
        reasons: [
          ...allowReasons,
          { code: 'ApprovedJustInTime', rule: `AccessReview ${jit.metadata.name}`, detail: `approved by ${jit.spec.reviewer}` },
        ],
        message: `Allowed by ModelScope ${s.name} with the JustInTime approval ${jit.metadata.name}.`,
      };
    }
    const subject = requesterOf(id);
    const gated = [fit.gatedModel ? `model ${fit.gatedModel}` : '', ...fit.gatedTools.map((t) => `tool ${t}`)].filter(Boolean).join(', ');
    const approvers = (s.scope.spec.approval?.approvers ?? []).map((a) => `${a.kind} ${a.name}`).join(', ');
    const reason: Reason = { code: 'ApprovalRequired', rule: 'spec.approval.requiredFor', detail: `${gated} needs a person's approval` };
    return {
      ...base,
      effect: 'approval-required',
      review: reviewName,
      reasons: [reason],
      approval: {
        scope: s.name,
        namespace: s.namespace,
        subject,
        model: fit.gatedModel,
        tools: fit.gatedTools,
        fingerprint: approvalFingerprint(s.name, subject, fit.gatedModel, fit.gatedTools),
      },
      message: `Held by ModelScope ${s.name}, rule spec.approval.requiredFor: ${gated} needs approval; ask an approver (${approvers}) to approve the pending JustInTime AccessReview, then retry.`,
    };
  }
  return {
    ...base,
    effect: 'allow',
    review: reviewName,
    auditOnly,
    endpoint: fit.endpoint,
    reasons: allowReasons,
    message: auditOnly
      ? `Allowed by ModelScope ${s.name} without a valid review (onExpiry: AuditOnly); this request is recorded as unreviewed.`
      : `Allowed by ModelScope ${s.name} under AccessReview ${reviewName}.`,
  };
}

export function decide(
  snapshot: PolicySnapshot,
  id: Identity,
  req: PolicyRequest,
  now: number,
  opts: { pinnedScope?: string } = {},
): Decision {
  const scopes = matchingScopes(snapshot, id, opts.pinnedScope);
  if (scopes.length === 0) {
    const where = snapshot.namespace ? ` in namespace ${snapshot.namespace}` : '';
    if (opts.pinnedScope !== undefined && matchingScopes(snapshot, id).length > 0) {
      const reason: Reason = {
        code: 'ScopeNotPinned',
        rule: 'scopekeeper.dev/scope',
        detail: `the pod is pinned to ModelScope ${opts.pinnedScope}, which does not name ${describeCaller(id)}`,
      };
      return {
        effect: 'deny',
        reasons: [reason],
        message: `Denied: ${reason.detail}; add the caller to its spec.subjects or change the pod's scopekeeper.dev/scope annotation.`,
      };
    }
    const reason: Reason = { code: 'NoMatchingScope', rule: 'spec.subjects', detail: `no ModelScope${where} names ${describeCaller(id)}` };
    return {
      effect: 'deny',
      reasons: [reason],
      message: `Denied: ${reason.detail}; ask your platform team to add it to a ModelScope's spec.subjects.`,
    };
  }
  let held: CompiledScope | undefined;
  // A scope whose fit denies the request denies it whatever its review, and the fit depends on
  // the scope's shape only: fit one scope per shape, and look at the others only when their
  // shape fits.
  let fitting: Set<number> | undefined;
  // Stryker disable all: the fit per shape only saves work; evaluating every scope decides alike (docs/testing.md)
  if (scopes.length > 1) {
    fitting = new Set();
    for (const r of representatives(scopes)) if (fitOf(r, req, false).denies.length === 0) fitting.add(r.shape);
  }
  for (const s of scopes) {
    if (fitting && !fitting.has(s.shape)) {
      if (fitting.size === 0) break;
      continue;
    }
    const effect = evaluate(s, id, req, now, false).effect;
    // Stryker restore all
    if (effect === 'allow') return { ...evaluate(s, id, req, now, true), data: snapshot.dataRules.for(scopes) };
    if (effect === 'approval-required') held ??= s;
  }
  return evaluate(held ?? scopes[0]!, id, req, now, true);
}

/** Model globs the caller may use through any matching scope with a valid review (for GET /v1/models). */
export function allowedModelGlobs(snapshot: PolicySnapshot, id: Identity, now: number, pinned?: string): string[] {
  const globs: string[] = [];
  for (const s of matchingScopes(snapshot, id, pinned)) {
    const gate = periodicGate(s, now, false);
    if (gate.reason && s.scope.spec.review?.onExpiry !== 'AuditOnly') continue;
    globs.push(...s.scope.spec.models);
  }
  return globs;
}
