// The data rules that apply to a caller (DESIGN.md §9a): the union of the `spec.data` (mask,
// block, custom) and the endpoints' `maskFields` of every scope that names the caller — or of the
// pinned scope alone. They depend on who the caller is, never on what the request asks for: a
// request cannot shed a scope's masking by fitting another scope better. Every compiled scope
// counts, whatever its review says: masking more is the safe side, and the set then does not
// change with the clock. Compiled once per distinct set of scopes and kept on the snapshot.
import { compileMasking, type Masking } from '../masking/index.ts';
import type { CustomPatternPolicy } from '../masking/policy.ts';
import type { CompiledScope } from './compile.ts';

export interface DataRules {
  /** Detectors of the union (inactive when no scope masks or blocks anything). */
  masking: Masking;
  /** maskFields of the endpoint `name` in every scope that defines it; empty when none. */
  maskFields(endpoint: string): readonly string[];
}

/** The longest a category name may be (it appears as [MASKED:<name>], a DNS label). */
const MAX_NAME = 63;

export class DataRulesCache {
  #bySet = new WeakMap<readonly CompiledScope[], DataRules>();

  /** `scopes` must be a stable array (the snapshot's own lists are). */
  for(scopes: readonly CompiledScope[]): DataRules {
    let rules = this.#bySet.get(scopes);
    if (!rules) {
      rules = unionOf(scopes);
      this.#bySet.set(scopes, rules);
    }
    return rules;
  }
}

export function unionOf(scopes: readonly CompiledScope[]): DataRules {
  const mask = new Set<string>();
  const block = new Set<string>();
  const custom = new Map<string, CustomPatternPolicy>();
  const fields = new Map<string, Set<string>>();
  for (const s of scopes) {
    const data = s.scope.spec.data;
    for (const c of data?.mask ?? []) mask.add(c);
    for (const c of data?.block ?? []) block.add(c);
    for (const c of data?.custom ?? []) addCustom(custom, { name: c.name, pattern: c.pattern, action: c.action ?? 'mask' });
    for (const ep of s.scope.spec.endpoints ?? []) {
      if (!ep.maskFields?.length) continue;
      let set = fields.get(ep.name);
      if (!set) fields.set(ep.name, (set = new Set()));
      for (const f of ep.maskFields) set.add(f);
    }
  }
  // A category masked by one scope and blocked by another is blocked: the stricter rule holds.
  for (const c of block) mask.delete(c);
  const masking = compileMasking({ mask: [...mask] as never[], block: [...block] as never[], custom: [...custom.values()] });
  const byEndpoint = new Map([...fields].map(([name, set]) => [name, Object.freeze([...set])]));
  const none: readonly string[] = Object.freeze([]);
  return { masking, maskFields: (endpoint) => byEndpoint.get(endpoint) ?? none };
}

/**
 * Custom detectors of several scopes: the same name and pattern is one detector (blocking if any
 * scope blocks it); the same name with another pattern is kept under a suffixed name, so no
 * scope's pattern is lost.
 */
function addCustom(into: Map<string, CustomPatternPolicy>, c: CustomPatternPolicy): void {
  for (let k = 1; ; k++) {
    const name = k === 1 ? c.name : `${c.name.slice(0, MAX_NAME - String(k).length - 1)}-${k}`;
    const seen = into.get(name);
    if (!seen) {
      into.set(name, { ...c, name });
      return;
    }
    if (seen.pattern === c.pattern) {
      if (c.action === 'block') seen.action = 'block';
      return;
    }
  }
}
