// metav1.Condition handling: set a condition, keeping lastTransitionTime unless the status changes.
import type { AccessReviewStatusCondition } from '@scopekeeper/core';

export type Condition = AccessReviewStatusCondition;
export type ConditionStatus = Condition['status'];

/** RFC 3339 in UTC; milliseconds only when there are some. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 to the second, as Kubernetes writes condition times. */
export function rfc3339Seconds(ms: number): string {
  return rfc3339(Math.floor(ms / 1000) * 1000);
}

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

/**
 * The list with `c` set in place of the condition of its type. lastTransitionTime is kept when
 * the status is unchanged; otherwise it becomes `transitionAt` (when the change happened).
 */
export function setCondition(
  list: readonly Condition[] | undefined,
  c: Omit<Condition, 'lastTransitionTime'>,
  transitionAt: number,
): Condition[] {
  const before = findCondition(list, c.type);
  const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : rfc3339Seconds(transitionAt);
  const next: Condition = { ...c, lastTransitionTime };
  if (next.observedGeneration === undefined) delete next.observedGeneration;
  const out = (list ?? []).filter((x) => x.type !== c.type);
  // Keep a stable order: ours first in the order they are set, anybody else's after.
  const at = (list ?? []).findIndex((x) => x.type === c.type);
  if (at >= 0) out.splice(at, 0, next);
  else out.push(next);
  return out;
}

/** Deep equality of JSON values, ignoring key order and undefined fields. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
