// Metric label values that come from a request, bounded (issue 14 class 9): a caller must not
// be able to grow what operators pay for in time series. A model is its own label value only
// when some scope of the snapshot names it by glob (spec.models or approval.requiredFor.models);
// any other name, and any name longer than MODEL_LABEL_MAX, is `other`.
import { matchAnyName } from '../util/glob.ts';
import type { PolicySnapshot } from './compile.ts';

export const OTHER_LABEL = 'other';
export const MODEL_LABEL_MAX = 64;

const globsOf = new WeakMap<PolicySnapshot, string[]>();

/** The distinct model globs of the snapshot's scopes, gathered once per snapshot. */
function modelGlobs(snapshot: PolicySnapshot): string[] {
  let globs = globsOf.get(snapshot);
  if (!globs) {
    const set = new Set<string>();
    for (const s of snapshot.scopes) {
      for (const g of s.scope.spec.models) set.add(g);
      for (const g of s.scope.spec.approval?.requiredFor?.models ?? []) set.add(g);
    }
    globs = [...set];
    globsOf.set(snapshot, globs);
  }
  return globs;
}

export function modelLabel(snapshot: PolicySnapshot | undefined, model: string | undefined): string {
  if (!model) return '';
  if (!snapshot || model.length > MODEL_LABEL_MAX || !matchAnyName(modelGlobs(snapshot), model)) return OTHER_LABEL;
  return model;
}
