// AccessReviews at admission: who asked, who decides, and what a service account may ask for.
//
// - /mutate-accessreview stamps spec.requestedBy from the authenticated user on CREATE, whatever
//   the client sent, and keeps it on every UPDATE; on every decision it stamps spec.reviewer and
//   spec.reviewedAt the same way.
// - /validate-accessreview: what a review is about (scopeRef, type, request, requestedBy) cannot
//   change after creation; a decision comes only from an allowed reviewer (approver for
//   JustInTime) of the scope who is neither a subject of the scope nor the requester; a
//   JustInTime review created by a service account names that account, exact names, and is Pending.
import { isSelfApproval, type AccessReview, type ModelScope } from '@scopekeeper/core';
import { allow, deny, type AdmissionRequest, type Verdict } from './admission.ts';
import { canonicalJson, type JsonPatchOp } from './jsonpatch.ts';
import type { ValidationDeps } from './validate.ts';

/**
 * Whether this create/update is a decision: it creates an Approved or Revoked review, moves a
 * review to Approved or Revoked, or changes anything in the spec of a review that is (or stays)
 * Approved or Revoked (its expiry, justification, scope, reviewer, …). Metadata-only updates
 * (labels, finalizers) and status writes (a subresource the webhooks do not see) are not.
 */
export function isDecision(operation: string, review: AccessReview | undefined, old: AccessReview | undefined): boolean {
  const d = review?.spec?.decision;
  if (d !== 'Approved' && d !== 'Revoked') return false;
  if (operation === 'CREATE' || !old) return true;
  if (operation !== 'UPDATE') return false;
  return canonicalJson(old.spec) !== canonicalJson(review!.spec);
}

/** RFC 3339 in whole seconds, as the CRD's date-time fields are written. */
export const rfc3339Seconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * /mutate-accessreview: on CREATE spec.requestedBy is the authenticated user; on UPDATE it stays
 * what it was; on every decision spec.reviewer and spec.reviewedAt say who decided and when.
 */
export function mutateAccessReview(req: AdmissionRequest, now: number = Date.now()): JsonPatchOp[] {
  if (req.kind?.kind !== 'AccessReview' || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return [];
  const review = req.object as AccessReview | undefined;
  if (!review?.spec) return [];
  const old = req.oldObject as AccessReview | undefined;
  const user = req.userInfo?.username ?? '';
  const ops: JsonPatchOp[] = [];
  const requestedBy = req.operation === 'CREATE' ? user : old?.spec?.requestedBy;
  if (requestedBy === undefined) {
    if (review.spec.requestedBy !== undefined) ops.push({ op: 'remove', path: '/spec/requestedBy' });
  } else if (review.spec.requestedBy !== requestedBy) {
    ops.push({ op: 'add', path: '/spec/requestedBy', value: requestedBy });
  }
  if (isDecision(req.operation, review, old)) {
    ops.push({ op: 'add', path: '/spec/reviewer', value: user }, { op: 'add', path: '/spec/reviewedAt', value: rfc3339Seconds(now) });
  }
  return ops;
}

const describeSubject = (s: { kind: string; name: string; namespace?: string }): string =>
  `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`;
const same = (a: string | undefined, b: string): boolean => a !== undefined && a.trim().toLowerCase() === b.trim().toLowerCase();
const GLOB = /[*?[\]{}]/;
const SA_PREFIX = 'system:serviceaccount:';

/** `system:serviceaccount:<ns>:<name>` → its namespace and name. */
export function serviceAccountOf(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const [namespace, name, ...rest] = username.slice(SA_PREFIX.length).split(':');
  return namespace && name && rest.length === 0 ? { namespace, name } : undefined;
}

/** Why the user, as Kubernetes authenticated them, is one of the scope's subjects (or undefined). */
export function subjectMatch(scope: ModelScope, user: string, groups: readonly string[]): string | undefined {
  const ns = scope.metadata?.namespace ?? '';
  for (const s of scope.spec.subjects ?? []) {
    // The subject's issuer is not compared: a name that might be this person is enough to refuse.
    if (s.kind === 'User' && same(s.name, user)) return `spec.subjects names User ${s.name}`;
    if (s.kind === 'Group' && groups.includes(s.name)) return `spec.subjects names Group ${s.name}, and you are in it`;
    if (s.kind === 'ServiceAccount' && same(`${SA_PREFIX}${s.namespace ?? ns}:${s.name}`, user))
      return `spec.subjects names ServiceAccount ${s.namespace ?? ns}/${s.name}`;
  }
  return undefined;
}

function requesterMatch(review: AccessReview, user: string, groups: readonly string[]): string | undefined {
  if (same(review.spec.requestedBy, user)) return `spec.requestedBy is ${review.spec.requestedBy}`;
  const subject = review.spec.request?.subject;
  if (isSelfApproval({ ...review, spec: { ...review.spec, reviewer: user } }))
    return `spec.request.subject is ${subject ? describeSubject(subject) : user}`;
  if (subject?.kind === 'Group' && groups.includes(subject.name)) return `spec.request.subject is Group ${subject.name}, and you are in it`;
  return undefined;
}

/** What a service account may put into a JustInTime review: itself, exact names, Pending. */
function serviceAccountRequestProblems(review: AccessReview, sa: { namespace: string; name: string }, ns: string): string[] {
  const problems: string[] = [];
  const req = review.spec.request;
  const subj = req?.subject;
  if (!subj || subj.kind !== 'ServiceAccount' || subj.name !== sa.name || (subj.namespace ?? ns) !== sa.namespace) {
    problems.push(
      `spec.request.subject must be the service account itself (ServiceAccount ${sa.namespace}/${sa.name}), not ${subj ? describeSubject(subj) : 'missing'}`,
    );
  }
  if (req?.model !== undefined && GLOB.test(req.model))
    problems.push(`spec.request.model must be an exact model name, not the pattern ${JSON.stringify(req.model)}`);
  const globs = (req?.tools ?? []).filter((t) => GLOB.test(t));
  if (globs.length)
    problems.push(`spec.request.tools must be exact tool names, not the patterns ${globs.map((t) => JSON.stringify(t)).join(', ')}`);
  if (review.spec.decision !== 'Pending') problems.push(`spec.decision must be Pending (got ${review.spec.decision})`);
  return problems;
}

const IMMUTABLE = ['scopeRef', 'type', 'request', 'requestedBy'] as const;

export async function validateAccessReview(req: AdmissionRequest, deps: Pick<ValidationDeps, 'getScope'>): Promise<Verdict> {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
  const review = req.object as AccessReview | undefined;
  const old = req.oldObject as AccessReview | undefined;
  if (!review?.spec) return deny('the AccessReview has no spec', 400);

  const user = req.userInfo?.username ?? '';
  const groups = req.userInfo?.groups ?? [];
  const ns = req.namespace || review.metadata?.namespace || '';
  const name = `${ns}/${review.metadata?.name || req.name || `${(review.metadata as { generateName?: string } | undefined)?.generateName ?? ''}*`}`;
  const mutating = `scopekeeper's mutating webhook (/mutate-accessreview) stamps it; check that the MutatingWebhookConfiguration "scopekeeper" is installed and calls it.`;

  if (req.operation === 'CREATE' && review.spec.requestedBy !== user) {
    return deny(
      `AccessReview ${name}: spec.requestedBy must be the user who creates the review (${user}), but it is ${JSON.stringify(review.spec.requestedBy ?? null)}. ${mutating}`,
    );
  }
  if (req.operation === 'UPDATE' && old?.spec) {
    const changed = IMMUTABLE.filter((k) => canonicalJson(old.spec[k]) !== canonicalJson(review.spec[k]));
    if (changed.length) {
      return deny(
        `User ${user} may not change ${changed.map((k) => `spec.${k}`).join(', ')} of AccessReview ${name}: what a review is about and who asked for it are fixed when it is created. ` +
          `Create a new AccessReview for other access.`,
      );
    }
  }
  const sa = serviceAccountOf(user);
  // (After creation the request cannot change: IMMUTABLE above.)
  if (sa && review.spec.type === 'JustInTime' && req.operation === 'CREATE') {
    const problems = serviceAccountRequestProblems(review, sa, ns);
    if (problems.length) {
      return deny(
        `ServiceAccount ${sa.namespace}/${sa.name} may not create JustInTime AccessReview ${name}: ${problems.join('; ')}. ` +
          `A service account (the sidecar holding a request) may only ask, Pending, for its own access to one exact model and exact tools.`,
      );
    }
  }
  if (!isDecision(req.operation, review, old)) return allow();

  const decision = review.spec.decision;
  const changingApproved = req.operation === 'UPDATE' && old?.spec?.decision === decision;
  const verb = changingApproved
    ? `change the ${decision} AccessReview`
    : decision === 'Approved'
      ? 'approve AccessReview'
      : 'revoke AccessReview';
  const jit = review.spec.type === 'JustInTime';
  const who = jit ? 'approvers' : 'reviewers';
  const field = jit ? 'spec.approval.approvers' : 'spec.review.reviewers';

  if (!user) return deny(`AccessReview ${name}: a decision needs an authenticated user; the request has none.`);
  if (review.spec.reviewer !== user) {
    return deny(
      `AccessReview ${name}: spec.reviewer must be the user who makes the decision (${user}), but it is ${JSON.stringify(review.spec.reviewer ?? null)}. ${mutating}`,
    );
  }
  const scopeName = review.spec.scopeRef?.name ?? '';
  const scope = await deps.getScope(ns, scopeName);
  if (!scope) {
    return deny(
      `User ${user} may not ${verb} ${name}: it refers to ModelScope ${JSON.stringify(scopeName)}, which does not exist in namespace ${ns}, ` +
        `so nobody can be its ${who}. Create the ModelScope (or fix spec.scopeRef.name), then decide the review.`,
    );
  }
  const list = (jit ? scope.spec.approval?.approvers : scope.spec.review?.reviewers) ?? [];
  if (list.length === 0) {
    return deny(
      `User ${user} may not ${verb} ${name}: ModelScope ${ns}/${scopeName} names no ${who} (${field}). Add the people or groups who may decide to the scope first.`,
    );
  }
  const allowed = list.some((s) => (s.kind === 'User' ? s.name === user : groups.includes(s.name)));
  if (!allowed) {
    return deny(
      `User ${user} may not ${verb} ${name}: only the ${who} of ModelScope ${ns}/${scopeName} may (${field}: ${list.map(describeSubject).join(', ')}). ` +
        `Ask one of them to decide it.`,
    );
  }
  const self = requesterMatch(review, user, groups);
  if (self) {
    return deny(
      `User ${user} may not ${verb} ${name}: it is their own request (${self}). Another of the ${who} of ModelScope ${ns}/${scopeName} ` +
        `(${list.map(describeSubject).join(', ')}) must decide it.`,
    );
  }
  const subject = subjectMatch(scope, user, groups);
  if (subject) {
    return deny(
      `User ${user} may not ${verb} ${name}: they are a subject of ModelScope ${ns}/${scopeName} (${subject}), so the decision would be about their own access. ` +
        `One of the ${who} (${list.map(describeSubject).join(', ')}) who is not a subject of the scope must decide it.`,
    );
  }
  return allow();
}
