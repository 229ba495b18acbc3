// A tightened ModelScope from what was used: keep each grant a use needed, drop the rest, and
// say why for every line removed. Deny lists, data rules, limits, approval and review settings
// are kept as they are: a recommendation only ever narrows access.
import { stringify } from 'yaml';
import type { ModelScope } from '../types/generated.ts';
import { matchName, matchPath } from '../util/glob.ts';
import type { Counted, ScopeUsage, UnusedGrant } from './usage.ts';

export interface Recommendation {
  /** The tightened scope, ready for kubectl apply; undefined when nothing used the scope at all. */
  scope?: ModelScope;
  yaml: string;
  diff: string;
  removed: UnusedGrant[];
  /** What the reviewer should know that is not a removal. */
  notes: string[];
  /** Set when no allowed request used the scope in the window. */
  unusedScope?: string;
}

/** How specific a glob is: literal characters count, wildcards do not. */
const literal = (g: string) => g.replace(/\*/g, '').length;

/**
 * The globs of `grants` to keep for `uses`: for each use, the narrowest grant that matches it
 * (most literal characters), so a wide glob survives only where no narrower one covers a use.
 */
export function keepGlobs(
  grants: readonly string[],
  uses: readonly string[],
  match: (g: string, name: string) => boolean = matchName,
): string[] {
  const keep = new Set<string>();
  for (const use of uses) {
    let best: string | undefined;
    for (const g of grants) if (match(g, use) && (best === undefined || literal(g) > literal(best))) best = g;
    if (best !== undefined) keep.add(best);
  }
  return grants.filter((g) => keep.has(g));
}

const names = (cs: Counted[], minUses: number) => cs.filter((c) => c.count >= minUses).map((c) => c.name);

function removedGrants(
  field: string,
  before: readonly string[],
  after: readonly string[],
  u: ScopeUsage,
  narrower: (g: string) => string | undefined,
): UnusedGrant[] {
  const out: UnusedGrant[] = [];
  for (const g of before) {
    if (after.includes(g)) continue;
    const why =
      u.unused.find((x) => x.field === field && x.grant === g)?.why ?? `every use is covered by the narrower ${narrower(g) ?? 'grant'}`;
    out.push({ field, grant: g, why });
  }
  return out;
}

/** Tightens `scope` to the use counted in `u` (names used fewer than `minUses` times count as unused). */
export function recommend(scope: ModelScope, u: ScopeUsage, minUses = 1): Recommendation {
  const spec = structuredClone(scope.spec);
  const removed: UnusedGrant[] = [];
  const models = names(u.models, minUses);
  if (!models.length) {
    const why = `no allowed request used ModelScope ${u.namespace}/${u.scope}${minUses > 1 ? ` ${minUses} or more times` : ''} in the window: consider deleting it (kubectl delete ms ${u.scope} -n ${u.namespace}) rather than renewing its review`;
    return { yaml: '', diff: '', removed: u.unused, notes: [], unusedScope: why };
  }
  const notes: string[] = [];
  const narrowerOf =
    (grants: string[], kept: string[], match = matchName) =>
    (g: string) =>
      kept.find((k) => k !== g && grants.includes(k) && match(g, k.replace(/\*/g, '')));
  const keptModels = keepGlobs(scope.spec.models, models);
  if (keptModels.length) {
    spec.models = keptModels;
    removed.push(...removedGrants('spec.models', scope.spec.models, spec.models, u, narrowerOf(scope.spec.models, spec.models)));
  } else {
    // A scope needs one model; when every use came through a JustInTime approval, say so instead of guessing.
    notes.push(
      `every model used came through approvals (spec.approval), none through spec.models [${scope.spec.models.join(', ')}]; the list is kept because a scope needs one — consider whether this scope should allow any model without a person's yes`,
    );
  }
  if (scope.spec.tools?.allow) {
    const kept = keepGlobs(scope.spec.tools.allow, names(u.toolsUsed, minUses));
    spec.tools = { ...spec.tools, allow: kept };
    removed.push(...removedGrants('spec.tools.allow', scope.spec.tools.allow, kept, u, narrowerOf(scope.spec.tools.allow, kept)));
  }
  if (scope.spec.endpoints) {
    const hits = names(u.endpoints, minUses).map((h) => h.split(' '));
    spec.endpoints = [];
    for (const ep of scope.spec.endpoints) {
      const mine = hits.filter((h) => h[0] === ep.name);
      if (!mine.length) {
        removed.push(...removedGrants('spec.endpoints', [ep.name], [], u, () => undefined));
        continue;
      }
      const next = { ...ep };
      if (ep.paths) {
        next.paths = keepGlobs(
          ep.paths,
          mine.map((h) => h.slice(2).join(' ')),
          matchPath,
        );
        removed.push(
          ...removedGrants(`spec.endpoints[${ep.name}].paths`, ep.paths, next.paths, u, narrowerOf(ep.paths, next.paths, matchPath)),
        );
      }
      if (ep.methods) {
        const used = new Set(mine.map((h) => h[1]!));
        next.methods = ep.methods.filter((m) => used.has(m));
        removed.push(...removedGrants(`spec.endpoints[${ep.name}].methods`, ep.methods, next.methods, u, () => undefined));
      }
      spec.endpoints.push(next);
    }
    if (!spec.endpoints.length) delete spec.endpoints;
  }
  const tightened: ModelScope = {
    apiVersion: scope.apiVersion,
    kind: scope.kind,
    metadata: { name: scope.metadata.name, namespace: u.namespace },
    spec,
  };
  const before = stringify(applyable(scope));
  const yaml = stringify(tightened);
  return { scope: tightened, yaml, diff: lineDiff(before, yaml, 2), removed, notes };
}

/** What kubectl apply needs of a scope: no status, no server-set metadata. */
function applyable(s: ModelScope): ModelScope {
  return { apiVersion: s.apiVersion, kind: s.kind, metadata: { name: s.metadata.name, namespace: s.metadata.namespace }, spec: s.spec };
}

/** A unified-style diff of two texts (`-` removed, `+` added, two-space context), by longest common subsequence. */
export function lineDiff(a: string, b: string, context = Infinity): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--)
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      out.push(`  ${x[i++]}`);
      j++;
    } else if (j < y.length && (i === x.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+ ${y[j++]}`);
    else out.push(`- ${x[i++]}`);
  }
  while (out.length && out[out.length - 1]!.trim() === '') out.pop();
  return withContext(out, context).join('\n') + '\n';
}

/** Only the changed lines and `n` unchanged lines around each run of them; `…` marks a gap. */
function withContext(lines: string[], n: number): string[] {
  const near = lines.map(() => false);
  lines.forEach((l, i) => {
    if (l.startsWith('  ')) return;
    for (let k = Math.max(0, i - n); k <= Math.min(lines.length - 1, i + n); k++) near[k] = true;
  });
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (near[i]) out.push(l);
    else if (i > 0 && near[i - 1]) out.push('  …');
  });
  return out;
}
