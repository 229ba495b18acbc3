// What opens a scope besides its fit: the Periodic review that counts, and for a request the
// scope holds for approval, a JustInTime review that covers exactly what was held.
import type { AccessReview } from '../types/generated.ts';
import type { CompiledScope } from './compile.ts';
import type { Reason, ReasonCode } from './decision.ts';
import { identityMatchesRef, type Identity, type SubjectRef } from './identity.ts';
import { validityAt, type ReviewValidity } from './review.ts';

const VALIDITY_CODE: Record<ReviewValidity['reason'], ReasonCode> = {
  Approved: 'Allowed',
  Pending: 'ReviewPending',
  Revoked: 'ReviewRevoked',
  Expired: 'ReviewExpired',
  ScopeNotFound: 'NoReview',
  PeriodExceeded: 'ReviewPeriodExceeded',
  SelfApproval: 'ReviewSelfApproval',
  Superseded: 'ReviewRevoked',
};

interface PeriodicGate {
  review?: AccessReview;
  reason?: Reason;
}

const isValid = (t: { invalid?: unknown; expiresAt?: number }, now: number) => t.invalid === undefined && now < t.expiresAt!;

/** A closed gate's reason when only whether it is closed is read (explain=false). */
const CLOSED: Reason = { code: 'NoReview', rule: '', detail: '' };

/**
 * The scope's review gate: only the Periodic review that counts (the newest decided) can open it.
 * With explain=false a closed gate's reason says nothing (no strings are built).
 */
export function periodicGate(s: CompiledScope, now: number, explain: boolean): PeriodicGate {
  const counting = s.counting;
  if (counting && isValid(counting.timeline, now)) return { review: counting.review };
  const first = counting ?? s.periodic[0];
  // Stryker disable next-line ConditionalExpression: without explain only the effect is read; the short cut only saves building the reason
  if (!explain) return { review: first?.review, reason: CLOSED };
  if (!first) {
    return {
      reason: {
        code: 'NoReview',
        rule: 'AccessReview',
        detail: `ModelScope ${s.name} has no AccessReview; ask a reviewer (${reviewersOf(s)}) to approve one`,
      },
    };
  }
  const v: ReviewValidity = validityAt(first.review, first.timeline, s.scope, now);
  return {
    review: first.review,
    reason: { code: VALIDITY_CODE[v.reason], rule: `AccessReview ${first.review.metadata.name}`, detail: v.message.replace(/\.$/, '') },
  };
}

function reviewersOf(s: CompiledScope): string {
  return (s.scope.spec.review?.reviewers ?? []).map((r) => `${r.kind} ${r.name}`).join(', ') || 'none named';
}

/** A Valid JustInTime review for this caller that covers the gated model and tools. */
export function justInTimeFor(
  s: CompiledScope,
  id: Identity,
  model: string | undefined,
  tools: string[],
  now: number,
): AccessReview | undefined {
  for (const { review, timeline } of s.justInTime) {
    if (!isValid(timeline, now)) continue;
    const req = review.spec.request;
    if (!req || !identityMatchesRef(id, req.subject, s.namespace)) continue;
    // Exact names: an approval is for what was held, never a pattern (issue 14 class 4).
    if (model !== undefined && req.model !== model) continue;
    if (tools.every((t) => (req.tools ?? []).includes(t))) return review;
  }
  return undefined;
}

/** FNV-1a over the request shape: a short, stable key without crypto in the hot path. */
export function approvalFingerprint(scope: string, subject: SubjectRef, model: string | undefined, tools: string[]): string {
  // The issuer too: the same name from two identity providers is two callers, two reviews.
  const text = [scope, subject.kind, subject.namespace ?? '', subject.name, subject.issuer ?? '', model ?? '', ...[...tools].sort()].join(
    '\u0000',
  );
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}
