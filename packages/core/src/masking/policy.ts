// The masking policy of a scope (a ModelScope's `data` section): its checks, with an error that
// names the field and the fix, and the Engine it builds (the enabled built-in detectors in their
// priority order, then the custom patterns).

import { BUILTIN, BUILTIN_CATEGORIES } from './builtin.ts';
import { compileCustomPattern } from './custom.ts';
import type { Detector } from './detector.ts';
import { Engine } from './engine.ts';
import { MaskingConfigError } from './errors.ts';

export interface CustomPatternPolicy {
  /** Category name: [MASKED:<name>], counts and metrics. A DNS label, not a built-in name. */
  name: string;
  /** Pattern in the supported regex subset (see docs/masking.md). */
  pattern: string;
  /** Default 'mask'. */
  action?: 'mask' | 'block';
}

/** The `data` section of a ModelScope (ModelScopeSpecData is assignable to it). */
export interface MaskingPolicy {
  mask?: readonly string[];
  block?: readonly string[];
  custom?: readonly CustomPatternPolicy[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Builds the engine for a policy; throws MaskingConfigError naming the field and the fix. */
export function buildEngine(policy: MaskingPolicy | undefined): Engine {
  const mask = policy?.mask ?? [];
  const block = policy?.block ?? [];
  const custom = policy?.custom ?? [];
  const customNames = new Map<string, number>();
  custom.forEach((c, i) => {
    const where = `data.custom[${i}].name`;
    if (typeof c?.name !== 'string' || !DNS_LABEL.test(c.name)) {
      throw new MaskingConfigError(
        where,
        `"${String(c?.name)}" is not a valid name: use lower-case letters, digits and '-', at most 63 characters (it appears as [MASKED:<name>])`,
      );
    }
    if (BUILTIN_CATEGORIES.includes(c.name)) {
      throw new MaskingConfigError(
        where,
        `"${c.name}" is a built-in category; list it under data.mask or data.block instead, or pick another name for the custom pattern`,
      );
    }
    if (customNames.has(c.name)) {
      throw new MaskingConfigError(where, `"${c.name}" is already used by data.custom[${customNames.get(c.name)}]; names must be unique`);
    }
    if (c.action !== undefined && c.action !== 'mask' && c.action !== 'block') {
      throw new MaskingConfigError(`data.custom[${i}].action`, `"${String(c.action)}" is not an action: use mask or block`);
    }
    customNames.set(c.name, i);
  });
  const known = [...BUILTIN_CATEGORIES, ...customNames.keys()];
  const check = (list: readonly string[], field: string) =>
    list.forEach((cat, i) => {
      if (!known.includes(cat)) {
        const hint = suggest(cat, known);
        throw new MaskingConfigError(
          `data.${field}[${i}]`,
          `unknown category "${cat}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${known.join(', ')}`,
        );
      }
    });
  check(mask, 'mask');
  check(block, 'block');
  const blockSet = new Set<string>(block);
  const enabled = new Set<string>([...mask, ...block]);
  for (const c of custom) {
    enabled.add(c.name);
    if (c.action === 'block') blockSet.add(c.name);
  }
  const detectors: Detector[] = [];
  for (const [cat, dets] of BUILTIN) if (enabled.has(cat)) detectors.push(...dets);
  custom.forEach((c, i) => detectors.push(compileCustomPattern(c.name, c.pattern, `data.custom[${i}].pattern`)));
  return new Engine(detectors, blockSet);
}

function suggest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
