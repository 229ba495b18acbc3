// Status writes: a merge patch through the status subresource, guarded by the resourceVersion
// the status was computed from; on 409 Conflict read the object again, recompute, retry.
import { isConflict, isNotFound } from './errors.ts';
import type { KubeObject, ResourceClient } from './resources.ts';

/**
 * The merge patch that turns status `from` into `to` (top-level fields; arrays such as
 * conditions are replaced whole, as merge patch does). Fields `to` lacks are removed (null).
 */
export function statusMergePatch(from: object | undefined, to: object): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...to };
  for (const k of Object.keys(from ?? {})) if (!(k in to) || (to as Record<string, unknown>)[k] === undefined) patch[k] = null;
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete patch[k];
  return patch;
}

export interface StatusDecision<S> {
  /** The status to write, or undefined when the current one is right. */
  status?: S;
}

export interface StatusWriteResult<T, R> {
  /** The decision whose status was written (or that needed no write). */
  decision: R;
  /** The object as the API server returned it after the write, or as read when nothing was written. */
  object: T;
  written: boolean;
}

/**
 * Computes a decision from the object and writes its status when it has one. A conflict means the
 * object changed under us: read it again and decide again (at most `attempts` times).
 * Returns undefined when the object is gone.
 */
export async function writeStatus<T extends KubeObject, R extends StatusDecision<object>>(
  client: ResourceClient<T>,
  object: T,
  decide: (current: T) => R,
  attempts = 5,
): Promise<StatusWriteResult<T, R> | undefined> {
  let current = object;
  const { namespace = '', name } = object.metadata;
  for (let attempt = 1; ; attempt++) {
    const decision = decide(current);
    if (!decision.status) return { decision, object: current, written: false };
    try {
      const patched = await client.patchStatus(
        namespace,
        name,
        statusMergePatch(current.status, decision.status),
        current.metadata.resourceVersion,
      );
      return { decision, object: patched, written: true };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      if (!isConflict(e) || attempt >= attempts) throw e;
      const fresh = await client.get(namespace, name);
      if (!fresh) return undefined;
      current = fresh;
    }
  }
}
