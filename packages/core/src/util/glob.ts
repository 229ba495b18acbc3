// Glob matching without regular expressions, so a scope author cannot write a pattern that
// backtracks: names use '*' for any run of characters; paths use '*' within one segment and
// '**' across segments.

/** Two-pointer wildcard match ('*' only), O(n·m) worst case on short inputs, no allocation. */
export function matchName(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern.charCodeAt(p) === 42 /* * */) {
      star = p++;
      mark = t;
    } else if (p < pattern.length && pattern.charCodeAt(p) === text.charCodeAt(t)) {
      p++;
      t++;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

export function matchAnyName(patterns: readonly string[] | undefined, text: string): boolean {
  if (!patterns) return false;
  for (const p of patterns) if (matchName(p, text)) return true;
  return false;
}

/** Segment-wise path match: '**' matches zero or more whole segments. */
export function matchPath(pattern: string, path: string): boolean {
  const ps = pattern.split('/');
  const ts = path.split('/');
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < ts.length) {
    if (p < ps.length && ps[p] === '**') {
      star = p++;
      mark = t;
    } else if (p < ps.length && matchName(ps[p]!, ts[t]!)) {
      p++;
      t++;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < ps.length && ps[p] === '**') p++;
  return p === ps.length;
}

/** Reports why a glob cannot be used, or undefined when it is fine. */
export function globProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'is empty';
  if (/[?[\]{}]/.test(pattern))
    return `uses "${pattern.match(/[?[\]{}]/)![0]}", which scopekeeper globs do not support; use '*' (and '**' in paths)`;
  return undefined;
}

/**
 * Whether some name matches both globs ('*' only). Used when the request itself stands for a
 * set of names (mcp__crm__* = every tool of a server): a deny or approval rule that could match
 * any member applies to it.
 */
export function globsOverlap(a: string, b: string): boolean {
  const memo = new Map<number, boolean>();
  const w = b.length + 1;
  const go = (i: number, j: number): boolean => {
    if (i === a.length && j === b.length) return true;
    const key = i * w + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const ca = i < a.length ? a.charCodeAt(i) : -1;
    const cb = j < b.length ? b.charCodeAt(j) : -1;
    let r = false;
    if (ca === 42) r = go(i + 1, j) || (cb !== -1 && go(i, j + 1));
    else if (cb === 42) r = go(i, j + 1) || (ca !== -1 && go(i + 1, j));
    else r = ca !== -1 && ca === cb && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}
