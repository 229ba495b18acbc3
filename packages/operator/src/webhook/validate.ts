// Admission checks that need no patch:
//  - AccessReview decisions (Approved / Revoked, or any change to the spec of such a review) are
//    accepted only from an allowed reviewer of the referenced ModelScope who is not the requester,
//    and only with spec.reviewer = the authenticated user (which /mutate-accessreview stamps);
//  - pods in namespaces labelled scopekeeper.dev/enforce=true must carry our sidecar and may not
//    read the upstream key Secret from any other container.
// And the stamping itself (mutateAccessReview), which shares the "is this a decision" predicate.
import type { V1Pod } from '@kubernetes/client-node';
import { isSelfApproval, type AccessReview, type ModelScope } from '@scopekeeper/core';
import { allow, deny, type AdmissionRequest, type Verdict } from './admission.ts';
import { ANNOTATION_INJECT, ANNOTATION_STATUS, LABEL_ENFORCE, SIDECAR_NAME, STATUS_INJECTED } from './constants.ts';
import { describeKeyReads, describePod, findSidecar, hasOurSidecar, optIn, upstreamKeyReads, type InjectionConfig } from './inject.ts';
import { canonicalJson, type JsonPatchOp } from './jsonpatch.ts';

type MaybePromise<T> = T | Promise<T>;

/** The part of a Namespace the checks read. */
export interface NamespaceLike {
  metadata?: { name?: string; labels?: Record<string, string> };
}

export interface ValidationDeps {
  /** The ModelScope `namespace/name`, e.g. from the operator's informer cache; undefined when absent. */
  getScope(namespace: string, name: string): MaybePromise<ModelScope | undefined>;
  /** The namespace (its labels), e.g. from an informer cache; undefined when unknown. */
  getNamespace(name: string): MaybePromise<NamespaceLike | undefined>;
  /** The injection settings: the key Secret's name and the sidecar a pod must carry. */
  injection: InjectionConfig;
}

const NEVER_ENFORCED = new Set(['kube-system']);

// ---- AccessReview ---------------------------------------------------------------------------

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
 * /mutate-accessreview: stamps spec.reviewer with the authenticated user and spec.reviewedAt with
 * now on every decision, so the record says who decided and when whatever the client sent.
 */
export function mutateAccessReview(req: AdmissionRequest, now: number = Date.now()): JsonPatchOp[] {
  if (req.kind?.kind !== 'AccessReview' || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return [];
  const review = req.object as AccessReview | undefined;
  if (!review?.spec || !isDecision(req.operation, review, req.oldObject as AccessReview | undefined)) return [];
  const user = req.userInfo?.username ?? '';
  return [
    { op: 'add', path: '/spec/reviewer', value: user },
    { op: 'add', path: '/spec/reviewedAt', value: rfc3339Seconds(now) },
  ];
}

const describeSubject = (s: { kind: string; name: string }): string => `${s.kind} ${s.name}`;

function requesterMatch(review: AccessReview, user: string, groups: readonly string[]): string | undefined {
  const probe: AccessReview = { ...review, spec: { ...review.spec, reviewer: user } };
  const subject = review.spec.request?.subject;
  if (isSelfApproval(probe)) {
    if (review.spec.requestedBy && review.spec.requestedBy.trim().toLowerCase() === user.trim().toLowerCase()) return `spec.requestedBy is ${review.spec.requestedBy}`;
    return `spec.request.subject is ${subject ? describeSubject(subject) : user}`;
  }
  if (subject?.kind === 'Group' && groups.includes(subject.name)) return `spec.request.subject is Group ${subject.name}, and you are in it`;
  return undefined;
}

export async function validateAccessReview(req: AdmissionRequest, deps: Pick<ValidationDeps, 'getScope'>): Promise<Verdict> {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
  const review = req.object as AccessReview | undefined;
  const old = req.oldObject as AccessReview | undefined;
  if (!review?.spec) return deny('the AccessReview has no spec', 400);
  if (!isDecision(req.operation, review, old)) return allow();

  const user = req.userInfo?.username ?? '';
  const groups = req.userInfo?.groups ?? [];
  const ns = req.namespace || review.metadata?.namespace || '';
  const name = `${ns}/${review.metadata?.name || req.name || `${(review.metadata as { generateName?: string } | undefined)?.generateName ?? ''}*`}`;
  const decision = review.spec.decision;
  const changingApproved = req.operation === 'UPDATE' && old?.spec?.decision === decision;
  const verb = changingApproved ? `change the ${decision} AccessReview` : decision === 'Approved' ? 'approve AccessReview' : 'revoke AccessReview';
  const jit = review.spec.type === 'JustInTime';
  const who = jit ? 'approvers' : 'reviewers';
  const field = jit ? 'spec.approval.approvers' : 'spec.review.reviewers';

  if (!user) return deny(`AccessReview ${name}: a decision needs an authenticated user; the request has none.`);
  if (review.spec.reviewer !== user) {
    return deny(
      `AccessReview ${name}: spec.reviewer must be the user who makes the decision (${user}), but it is ${JSON.stringify(review.spec.reviewer ?? null)}. ` +
        `scopekeeper's mutating webhook (/mutate-accessreview) stamps it; check that the MutatingWebhookConfiguration "scopekeeper" is installed and calls it.`,
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
    return deny(`User ${user} may not ${verb} ${name}: ModelScope ${ns}/${scopeName} names no ${who} (${field}). Add the people or groups who may decide to the scope first.`);
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
  return allow();
}

// ---- Pods in enforced namespaces ------------------------------------------------------------

export async function validatePod(req: AdmissionRequest, deps: Pick<ValidationDeps, 'getNamespace' | 'injection'>): Promise<Verdict> {
  const ephemeral = req.operation === 'UPDATE' && req.subResource === 'ephemeralcontainers';
  if (!(req.operation === 'CREATE' && !req.subResource) && !ephemeral) return allow();
  const pod = req.object as V1Pod | undefined;
  if (!pod?.spec) return deny('the Pod has no spec', 400);
  const ns = req.namespace || pod.metadata?.namespace || '';
  if (NEVER_ENFORCED.has(ns)) return allow();
  const namespace = await deps.getNamespace(ns);
  if (!namespace) {
    return deny(`namespace ${ns} is not known to the scopekeeper webhook yet (its cache has not seen it), so whether it enforces injection cannot be checked. Retry in a few seconds.`);
  }
  if (namespace.metadata?.labels?.[LABEL_ENFORCE] !== 'true') return allow();

  const who = describePod(pod, ns);
  const why = `namespace ${ns} is labelled ${LABEL_ENFORCE}=true`;
  const problems: string[] = [];
  if (!ephemeral) {
    const injected = pod.metadata?.annotations?.[ANNOTATION_STATUS] === STATUS_INJECTED && hasOurSidecar(pod, deps.injection);
    if (!injected) {
      const opt = optIn(pod);
      if (opt.value === 'false') {
        problems.push(
          `${who} opts out of the scopekeeper sidecar (${ANNOTATION_INJECT}: "false"), but ${why}: every pod there must run it. ` +
            `Set ${ANNOTATION_INJECT}: "true" on the pod (for a Deployment: spec.template.metadata.annotations).`,
        );
      } else if (opt.value === 'true') {
        problems.push(
          findSidecar(pod)
            ? `${who} carries a container named ${SIDECAR_NAME} that is not the sidecar scopekeeper injects (image, command, args, env, mounts or security context differ) and ${why}. ` +
                `Remove that container from the pod spec and let the webhook inject the sidecar.`
            : `${who} asks for the scopekeeper sidecar but does not carry it, and ${why}: the injection webhook did not run. ` +
                `Check that the scopekeeper operator is running and its MutatingWebhookConfiguration "scopekeeper" is installed, then create the pod again.`,
        );
      } else {
        problems.push(
          `${who} is not injected with the scopekeeper sidecar, and ${why}: every pod there must run it. ` +
            `Add the annotation ${ANNOTATION_INJECT}: "true" to the pod (for a Deployment: spec.template.metadata.annotations).`,
        );
      }
    }
  }
  const reads = upstreamKeyReads(pod, deps.injection).filter((r) => !ephemeral || r.kind === 'ephemeralContainer');
  if (reads.length) {
    problems.push(
      `${who} may not read the upstream key Secret "${deps.injection.upstreamKeySecret}" (${why}): ${describeKeyReads(reads)}. ` +
        `Only the scopekeeper sidecar holds the key; the app calls http://127.0.0.1:15180 (ANTHROPIC_BASE_URL) with the token in $SCOPEKEEPER_TOKEN_FILE instead.`,
    );
  }
  return problems.length ? deny(problems.join(' Also: ')) : allow();
}

// ---- dispatch -------------------------------------------------------------------------------

/** The validating webhook: AccessReview decisions and pods; anything else is allowed. */
export async function validate(req: AdmissionRequest, deps: ValidationDeps): Promise<Verdict> {
  const kind = req.kind?.kind;
  if (kind === 'AccessReview' && req.kind.group === 'scopekeeper.dev') return validateAccessReview(req, deps);
  if (kind === 'Pod' && (req.kind.group ?? '') === '') return validatePod(req, deps);
  return allow();
}
