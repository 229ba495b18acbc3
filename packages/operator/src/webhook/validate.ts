// The validating webhook's dispatch and what its checks read: AccessReviews (validate-review.ts)
// and pods (validate-pod.ts); any other kind is allowed.
import type { ModelScope } from '@scopekeeper/core';
import { allow, type AdmissionRequest, type Verdict } from './admission.ts';
import type { InjectionConfig } from './config.ts';
import { validatePod } from './validate-pod.ts';
import { validateAccessReview } from './validate-review.ts';

type MaybePromise<T> = T | Promise<T>;

/** The part of a Namespace the checks read. */
export interface NamespaceLike {
  metadata?: { name?: string; labels?: Record<string, string> };
}

export interface ValidationDeps {
  /** The ModelScope `namespace/name`, e.g. from the operator's informer cache; undefined when absent. */
  getScope(namespace: string, name: string): MaybePromise<ModelScope | undefined>;
  /**
   * Every ModelScope of the namespace, from the same cache: their endpoints[].auth audiences are
   * projected into the sidecar and reserved for it. Without it no endpoint gets a token.
   */
  listScopes?(namespace: string): MaybePromise<readonly ModelScope[]>;
  /** The namespace (its labels), e.g. from an informer cache; undefined when unknown. */
  getNamespace(name: string): MaybePromise<NamespaceLike | undefined>;
  /** The injection settings: the key Secret's name and the sidecar a pod must carry. */
  injection: InjectionConfig;
}

/** The validating webhook: AccessReview decisions and pods; anything else is allowed. */
export async function validate(req: AdmissionRequest, deps: ValidationDeps): Promise<Verdict> {
  const kind = req.kind?.kind;
  if (kind === 'AccessReview' && req.kind.group === 'scopekeeper.dev') return validateAccessReview(req, deps);
  if (kind === 'Pod' && (req.kind.group ?? '') === '') return validatePod(req, deps);
  return allow();
}
