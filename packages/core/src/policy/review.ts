// Review validity: one function, used by the operator for status conditions and by the
// sidecar for decisions, so both always agree on the second access stops.
import type { AccessReview, ModelScope } from '../types/generated.ts';
import { parseDuration } from '../util/duration.ts';

export type ValidityReason =
  'Approved' | 'Pending' | 'Revoked' | 'Expired' | 'ScopeNotFound' | 'PeriodExceeded' | 'SelfApproval' | 'Superseded';

export interface ReviewValidity {
  valid: boolean;
  reason: ValidityReason;
  message: string;
  /** When the review stops being valid (ms since epoch), if it has a deadline. */
  expiresAt?: number;
  /** Whether it is valid and within the scope's expiring-soon window. */
  expiringSoon: boolean;
  /** Start of the expiring-soon window (ms), if any. */
  expiringSoonAt?: number;
  /** The next instant at which this result changes by the clock alone, for a timer. */
  nextEdge?: number;
}

export const DEFAULT_PERIOD = '90d';
export const DEFAULT_WINDOW = '14d';
export const DEFAULT_GRANT = '1h';

function time(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/** Whether the reviewer is the one who asked, i.e. approves their own access. */
export function isSelfApproval(review: AccessReview): boolean {
  const reviewer = review.spec.reviewer?.trim().toLowerCase();
  if (!reviewer) return false;
  const requesters = [review.spec.requestedBy, review.spec.request?.subject.name];
  const sa = review.spec.request?.subject;
  if (sa?.kind === 'ServiceAccount') requesters.push(`system:serviceaccount:${sa.namespace ?? review.metadata.namespace}:${sa.name}`);
  return requesters.some((r) => r !== undefined && r.trim().toLowerCase() === reviewer);
}

/**
 * The clock-independent part of a review's validity: either a reason it can never be valid,
 * or the instants where it stops (and starts expiring soon). Computed once per review when
 * policy compiles, so the hot path compares numbers.
 */
export interface ReviewTimeline {
  invalid?: { reason: ValidityReason; message: string };
  expiresAt?: number;
  expiringSoonAt?: number;
}

export function reviewTimeline(review: AccessReview, scope: ModelScope | undefined): ReviewTimeline {
  const name = `${review.metadata.namespace ?? ''}/${review.metadata.name}`;
  const spec = review.spec;
  const invalid = (reason: ValidityReason, message: string, expiresAt?: number): ReviewTimeline => ({
    invalid: { reason, message },
    expiresAt,
  });
  if (!scope) {
    return invalid(
      'ScopeNotFound',
      `ModelScope ${spec.scopeRef.name} does not exist in namespace ${review.metadata.namespace}; create it or point spec.scopeRef at an existing scope.`,
    );
  }
  if (spec.decision === 'Revoked') {
    return invalid(
      'Revoked',
      `Review ${name} was revoked${spec.reviewer ? ` by ${spec.reviewer}` : ''}; access needs a new approved review.`,
    );
  }
  if (spec.decision === 'Pending') {
    return invalid('Pending', `Review ${name} awaits a decision from a reviewer of ModelScope ${scope.metadata.name}.`);
  }
  const reviewedAt = time(spec.reviewedAt);
  let expiresAt = time(spec.expiresAt);
  if (reviewedAt === undefined || expiresAt === undefined) {
    return invalid('Pending', `Review ${name} is Approved but lacks reviewedAt or expiresAt; set both.`);
  }
  if (isSelfApproval(review)) {
    return invalid(
      'SelfApproval',
      `Review ${name} was approved by ${spec.reviewer}, who asked for the access; another reviewer must approve it.`,
    );
  }
  if (spec.type === 'JustInTime') {
    const grant = parseDuration(scope.spec.approval?.grantDuration ?? DEFAULT_GRANT);
    expiresAt = Math.min(expiresAt, reviewedAt + grant);
    return { expiresAt };
  }
  const period = parseDuration(scope.spec.review?.period ?? DEFAULT_PERIOD);
  if (expiresAt - reviewedAt > period) {
    return invalid(
      'PeriodExceeded',
      `Review ${name} lasts longer than the scope's review period of ${scope.spec.review?.period ?? DEFAULT_PERIOD}; approve it again with an earlier expiresAt.`,
      expiresAt,
    );
  }
  const window = parseDuration(scope.spec.review?.expiringSoonWindow ?? DEFAULT_WINDOW);
  return { expiresAt, expiringSoonAt: window > 0 ? expiresAt - window : undefined };
}

export function validityAt(review: AccessReview, t: ReviewTimeline, scope: ModelScope | undefined, now: number): ReviewValidity {
  if (t.invalid) return { valid: false, reason: t.invalid.reason, message: t.invalid.message, expiresAt: t.expiresAt, expiringSoon: false };
  const expiresAt = t.expiresAt!;
  if (now >= expiresAt) {
    const name = `${review.metadata.namespace ?? ''}/${review.metadata.name}`;
    return {
      valid: false,
      reason: 'Expired',
      message: `Review ${name} expired at ${new Date(expiresAt).toISOString()}; a reviewer of ModelScope ${scope?.metadata.name} must approve a new review.`,
      expiresAt,
      expiringSoon: false,
    };
  }
  const expiringSoon = t.expiringSoonAt !== undefined && now >= t.expiringSoonAt;
  return {
    valid: true,
    reason: 'Approved',
    message: `Approved by ${review.spec.reviewer} until ${new Date(expiresAt).toISOString()}.`,
    expiresAt,
    expiringSoon,
    expiringSoonAt: t.expiringSoonAt,
    nextEdge: t.expiringSoonAt !== undefined && !expiringSoon ? t.expiringSoonAt : expiresAt,
  };
}

/**
 * The validity of one review. With `siblings` (the other reviews of its scope), a Periodic review
 * that is not the one that counts (`countingPeriodic`) is not valid either: Revoked when a newer
 * revocation ended the scope's access, Superseded when a newer approval replaced it.
 */
export function reviewValidity(
  review: AccessReview,
  scope: ModelScope | undefined,
  now: number,
  siblings?: readonly AccessReview[],
): ReviewValidity {
  const own = validityAt(review, reviewTimeline(review, scope), scope, now);
  if (!own.valid || !siblings || review.spec.type !== 'Periodic') return own;
  const counting = countingPeriodic([review, ...siblings.filter((s) => s.metadata.name !== review.metadata.name)], (r) => r);
  if (!counting || counting.metadata.name === review.metadata.name) return own;
  const name = `${review.metadata.namespace ?? ''}/${review.metadata.name}`;
  const newer = `${counting.metadata.namespace ?? ''}/${counting.metadata.name}`;
  return counting.spec.decision === 'Revoked'
    ? {
        valid: false,
        reason: 'Revoked',
        message: `Review ${name} no longer counts: the newer review ${newer} was revoked${counting.spec.reviewer ? ` by ${counting.spec.reviewer}` : ''}; access needs a new approved review.`,
        expiresAt: own.expiresAt,
        expiringSoon: false,
      }
    : {
        valid: false,
        reason: 'Superseded',
        message: `Review ${name} no longer counts: the newer review ${newer} decides the scope's access.`,
        expiresAt: own.expiresAt,
        expiringSoon: false,
      };
}

/**
 * When a review was decided, for ordering: its reviewedAt (the CLI and the webhook stamp it on
 * approval and on revocation), else its creation. A revocation without either sorts newest, an
 * approval without either oldest: the order then fails closed.
 */
export function decidedAt(review: AccessReview): number {
  return (
    time(review.spec.reviewedAt) ?? time(review.metadata.creationTimestamp) ?? (review.spec.decision === 'Revoked' ? Infinity : -Infinity)
  );
}

/**
 * The Periodic review that decides a scope's access (DESIGN.md §9a): the newest decided one
 * (Approved or Revoked; Pending ones decide nothing). A revocation thus ends access until a newer
 * approval, whatever older approvals say. Ties: a revocation first, then the name. The sidecar's
 * decisions and the operator's conditions both use this.
 */
export function countingPeriodic<T>(items: readonly T[], reviewOf: (item: T) => AccessReview): T | undefined {
  let best: T | undefined;
  let bestAt = -Infinity;
  for (const item of items) {
    const r = reviewOf(item);
    if (r.spec.type !== 'Periodic' || (r.spec.decision !== 'Approved' && r.spec.decision !== 'Revoked')) continue;
    const at = decidedAt(r);
    if (best === undefined || at > bestAt || (at === bestAt && newerOnTie(r, reviewOf(best)))) {
      best = item;
      bestAt = at;
    }
  }
  return best;
}

function newerOnTie(a: AccessReview, b: AccessReview): boolean {
  if (a.spec.decision !== b.spec.decision) return a.spec.decision === 'Revoked';
  return a.metadata.name < b.metadata.name;
}
