// Median and spread of repeated measurements.

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(xs: number[]): Spread | undefined {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

/** "0.42 (0.40–0.47)" with `digits` decimals; "—" when there is nothing. */
export function fmt(s: Spread | undefined, digits = 2, unit = ''): string {
  if (!s) return '—';
  const f = (x: number) => x.toFixed(digits);
  return s.n > 1 ? `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})` : `${f(s.median)}${unit}`;
}

export function fmtInt(s: Spread | undefined): string {
  if (!s) return '—';
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}
