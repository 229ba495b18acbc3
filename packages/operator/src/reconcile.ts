// The two reconcilers as pure functions of observed state and the clock: given an object (and
// what it refers to) they return the status it should have, the Events its transitions deserve,
// what to create, and when to look again. controller.ts performs the side effects.
import {
  countingPeriodic,
  reviewValidity,
  scopeProblems,
  type AccessReview,
  type AccessReviewStatus,
  type ModelScope,
  type ModelScopeStatus,
  type ReviewValidity,
} from '@scopekeeper/core';
import type { EventSpec } from '@scopekeeper/kube';
import { findCondition, rfc3339, sameJson, setCondition } from './conditions.ts';

export const VALID = 'Valid';
export const EXPIRING_SOON = 'ExpiringSoon';
export const READY = 'Ready';

export const LABEL_SCOPE = 'scopekeeper.dev/scope';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const ANNOTATION_PREVIOUS = 'scopekeeper.dev/previous-review';
export const ANNOTATION_PREVIOUS_EXPIRES = 'scopekeeper.dev/previous-review-expires-at';

export interface ReviewInput {
  review: AccessReview;
  /** The ModelScope of spec.scopeRef in the review's namespace, if it exists. */
  scope: ModelScope | undefined;
  /** The reviews of the same scope (this one may be among them); asked for only when the window is open. */
  siblings: () => readonly AccessReview[];
  now: number;
}

export interface ReviewResult {
  /** The status to write; undefined when the current one is right. */
  status?: AccessReviewStatus;
  /** Events for the transitions this status makes; emit them once it is written. */
  events: EventSpec[];
  /** The next Pending Periodic review, to create when the expiring-soon window opens. */
  create?: AccessReview;
  /** The next instant at which the result changes by the clock alone. */
  requeueAt?: number;
  validity: ReviewValidity;
}

/** `<scope>-<yyyymmdd of the expiring review's expiresAt>`, cut to fit a name's 253 characters. */
export function nextReviewName(scope: string, expiresAt: number): string {
  const d = new Date(expiresAt).toISOString().slice(0, 10).replace(/-/g, '');
  return `${scope.slice(0, 253 - 9).replace(/[-.]+$/, '')}-${d}`;
}

const labelValue = (v: string): string | undefined =>
  v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v) ? v : undefined;

/** The Periodic review that decides the scope's access (core's countingPeriodic), when it is valid. */
export function bestValidPeriodic(
  reviews: readonly AccessReview[],
  scope: ModelScope | undefined,
  now: number,
): { review: AccessReview; validity: ReviewValidity } | undefined {
  const review = countingPeriodic(reviews, (r) => r);
  if (!review) return undefined;
  const validity = reviewValidity(review, scope, now);
  return validity.valid ? { review, validity } : undefined;
}

export function reconcileReview({ review, scope, siblings: siblingsOf, now }: ReviewInput): ReviewResult {
  // A Periodic review counts only while it is its scope's newest decided one (as in the sidecar).
  const v = reviewValidity(review, scope, now, review.spec.type === 'Periodic' ? siblingsOf() : undefined);
  const generation = review.metadata.generation;
  const before = review.status?.conditions;
  const prevValid = findCondition(before, VALID);
  const prevSoon = findCondition(before, EXPIRING_SOON);

  // The next review: opened by the review that carries the scope (the valid Periodic one that
  // lasts longest) when its window opens. Its name is deterministic, so this happens once.
  let create: AccessReview | undefined;
  let windowNote = '';
  if (scope && review.spec.type === 'Periodic' && v.valid && v.expiringSoon) {
    const siblings = siblingsOf();
    const best = bestValidPeriodic([review, ...siblings.filter((s) => s.metadata.name !== review.metadata.name)], scope, now);
    if (best?.review.metadata.name === review.metadata.name) {
      const nextName = nextReviewName(scope.metadata.name, v.expiresAt!);
      const exists = nextName === review.metadata.name || siblings.some((s) => s.metadata.name === nextName);
      if (!exists) create = nextReview(review, scope, nextName, v.expiresAt!);
      windowNote = `; the next review is ${review.metadata.namespace}/${nextName}`;
    } else if (best) {
      windowNote = `; review ${best.review.metadata.name} lasts longer (until ${rfc3339(best.validity.expiresAt!)})`;
    }
  }

  let conditions = setCondition(
    before,
    { type: VALID, status: v.valid ? 'True' : 'False', reason: v.reason, message: v.message, observedGeneration: generation },
    // A clock-driven flip happened at the deadline, whenever we get to write it.
    v.reason === 'Expired' && v.expiresAt !== undefined ? Math.min(now, v.expiresAt) : now,
  );
  const soon = v.valid && v.expiringSoon;
  conditions = setCondition(
    conditions,
    {
      type: EXPIRING_SOON,
      status: soon ? 'True' : 'False',
      reason: soon ? 'ExpiringSoon' : 'NotExpiringSoon',
      message: soon
        ? `Expires at ${rfc3339(v.expiresAt!)}, within the review window of ModelScope ${scope?.metadata.name}${windowNote}.`
        : v.valid
          ? v.expiringSoonAt !== undefined
            ? `The review window opens at ${rfc3339(v.expiringSoonAt)}.`
            : 'This review has no review window (JustInTime, or the scope sets none).'
          : `The review is not valid (${v.reason}).`,
      observedGeneration: generation,
    },
    soon && v.expiringSoonAt !== undefined
      ? Math.min(now, v.expiringSoonAt)
      : !v.valid && v.reason === 'Expired'
        ? Math.min(now, v.expiresAt!)
        : now,
  );
  const desired: AccessReviewStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...(v.expiresAt !== undefined ? { expiresAt: rfc3339(v.expiresAt) } : {}),
    conditions,
  };

  const events: EventSpec[] = [];
  if (prevValid && prevValid.reason !== v.reason) {
    if (v.reason === 'Expired') events.push({ type: 'Warning', reason: 'ReviewExpired', action: 'Expire', note: v.message });
    if (v.reason === 'Revoked') events.push({ type: 'Warning', reason: 'ReviewRevoked', action: 'Revoke', note: v.message });
  }
  if (soon && prevSoon?.status !== 'True') {
    events.push({
      type: 'Normal',
      reason: 'ReviewExpiringSoon',
      action: 'OpenNextReview',
      note: conditions.find((c) => c.type === EXPIRING_SOON)!.message,
    });
  }

  return {
    ...(sameJson(review.status ?? {}, desired) ? {} : { status: desired }),
    events,
    ...(create ? { create } : {}),
    ...(v.nextEdge !== undefined ? { requeueAt: v.nextEdge } : {}),
    validity: v,
  };
}

function nextReview(previous: AccessReview, scope: ModelScope, name: string, expiresAt: number): AccessReview {
  const namespace = previous.metadata.namespace!;
  const link = `/apis/scopekeeper.dev/v1alpha1/namespaces/${namespace}/accessreviews/${previous.metadata.name}`;
  const scopeLabel = labelValue(scope.metadata.name);
  return {
    apiVersion: 'scopekeeper.dev/v1alpha1',
    kind: 'AccessReview',
    metadata: {
      name,
      namespace,
      labels: { [LABEL_MANAGED_BY]: 'scopekeeper', ...(scopeLabel ? { [LABEL_SCOPE]: scopeLabel } : {}) },
      annotations: { [ANNOTATION_PREVIOUS]: previous.metadata.name, [ANNOTATION_PREVIOUS_EXPIRES]: rfc3339(expiresAt) },
      ...(scope.metadata.uid
        ? {
            ownerReferences: [
              { apiVersion: 'scopekeeper.dev/v1alpha1', kind: 'ModelScope', name: scope.metadata.name, uid: scope.metadata.uid },
            ],
          }
        : {}),
    },
    spec: {
      scopeRef: { name: scope.metadata.name },
      type: 'Periodic',
      decision: 'Pending',
      // The justification is left to the reviewer; the evidence links the review this one follows.
      evidence: [link, ...(previous.spec.evidence ?? [])].slice(0, 32),
    },
  };
}

export interface ScopeInput {
  scope: ModelScope;
  /** The AccessReviews whose spec.scopeRef names this scope. */
  reviews: readonly AccessReview[];
  now: number;
}

export interface ScopeResult {
  status?: ModelScopeStatus;
  events: EventSpec[];
  requeueAt?: number;
  problems: string[];
}

export function reconcileScope({ scope, reviews, now }: ScopeInput): ScopeResult {
  const problems = scopeProblems(scope);
  const generation = scope.metadata.generation;
  const prevReady = findCondition(scope.status?.conditions, READY);
  const reviewers = scope.spec.review?.reviewers?.length ?? 0;
  const conditions = setCondition(
    scope.status?.conditions,
    problems.length
      ? { type: READY, status: 'False', reason: 'Invalid', message: problems.join('; '), observedGeneration: generation }
      : {
          type: READY,
          status: 'True',
          reason: 'Valid',
          message: `The scope compiles and names ${reviewers} reviewer${reviewers === 1 ? '' : 's'}.`,
          observedGeneration: generation,
        },
    now,
  );
  const best = bestValidPeriodic(reviews, scope, now);
  const desired: ModelScopeStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...(best ? { validReview: best.review.metadata.name, expiresAt: rfc3339(best.validity.expiresAt!) } : {}),
    conditions,
  };
  const events: EventSpec[] = [];
  if (problems.length && prevReady?.status !== 'False') {
    events.push({
      type: 'Warning',
      reason: 'ScopeInvalid',
      action: 'Validate',
      note: `ModelScope ${scope.metadata.name} grants nothing until fixed: ${problems.join('; ')}`,
    });
  }
  return {
    ...(sameJson(scope.status ?? {}, desired) ? {} : { status: desired }),
    events,
    ...(best ? { requeueAt: best.validity.expiresAt } : {}),
    problems,
  };
}
