// Character sets of custom patterns (custom.ts): the ranges the parser builds classes from, and
// CharSet, the form the Pike VM tests a character against. That test runs for every live state at
// every character of a response, so an ASCII character (most text) costs one table lookup and only
// the others walk the normalized range list.

/** Sorted, non-overlapping inclusive UTF-16 code unit ranges: [lo0, hi0, lo1, hi1, …]. */
export type Ranges = number[];

export function normalize(r: Ranges): Ranges {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    // (out[-1] is undefined: the comparison with NaN is false for the first pair)
    if (lo <= out[n - 1]! + 1) {
      // Stryker disable next-line EqualityOperator: at equality the same bound is written
      if (hi > out[n - 1]!) out[n - 1] = hi;
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

export function complement(r: Ranges): Ranges {
  const n = normalize(r);
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < n.length; i += 2) {
    if (n[i]! > next) out.push(next, n[i]! - 1);
    next = n[i + 1]! + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

export const DIGIT: Ranges = [48, 57];
export const WORDR: Ranges = [48, 57, 65, 90, 95, 95, 97, 122];
export const SPACE: Ranges = [
  9, 13, 32, 32, 160, 160, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
];
export const DOT: Ranges = complement([10, 10, 13, 13, 0x2028, 0x2029]);

export class CharSet {
  readonly ascii = new Uint8Array(128);
  readonly hi: Int32Array;
  constructor(ranges: Ranges) {
    const n = normalize(ranges);
    const hi: number[] = [];
    // Stryker disable next-line EqualityOperator: a pair read past the end is undefined, and adds nothing
    for (let i = 0; i < n.length; i += 2) {
      const lo = n[i]!;
      const h = n[i + 1]!;
      // Stryker disable next-line EqualityOperator: writing ascii[128] is a no-op (the table has 128 entries)
      for (let c = lo; c <= h && c < 128; c++) this.ascii[c] = 1;
      if (h >= 128) {
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a range starting below 128 answers alike above it
        hi.push(lo < 128 ? 128 : lo, h);
      }
    }
    this.hi = Int32Array.from(hi);
  }
  has(c: number): boolean {
    if (c < 128) return this.ascii[c] === 1;
    const hi = this.hi;
    // Stryker disable next-line EqualityOperator: a pair read past the end is undefined: both comparisons are false
    for (let i = 0; i < hi.length; i += 2) {
      if (c < hi[i]!) return false;
      if (c <= hi[i + 1]!) return true;
    }
    return false;
  }
  /** Source of an equivalent JavaScript character class (used only to skip ahead). */
  // A wider class than the set only makes find() try more positions (each is checked by the NFA):
  // the mutants that widen it are equivalent and marked; those that narrow it are tested.
  // Stryker disable next-line BlockStatement: no source is new RegExp(undefined), which stops everywhere
  classSource(): string {
    const hex = (c: number) => '\\u' + c.toString(16).padStart(4, '0');
    // Stryker disable next-line StringLiteral: a stray start only widens the class
    let s = '';
    let c = 0;
    // Stryker disable next-line EqualityOperator: ascii[128] is undefined, never 1
    while (c < 128) {
      // Stryker disable next-line ConditionalExpression: a run started at a character outside the set only widens the class
      if (this.ascii[c] === 1) {
        const lo = c;
        // Stryker disable next-line all: shorter runs or a run to 127 give the same class or a wider one
        while (c + 1 < 128 && this.ascii[c + 1] === 1) c++;
        // Stryker disable next-line ConditionalExpression: a run of one character written as the range lo-lo is the same class
        s += lo === c ? hex(lo) : hex(lo) + '-' + hex(c);
      }
      c++;
    }
    for (let i = 0; i < this.hi.length; i += 2) s += hex(this.hi[i]!) + '-' + hex(this.hi[i + 1]!);
    // Stryker disable next-line StringLiteral,ConditionalExpression: unreachable: a pattern matches at least one character, so its first set is never empty
    return s === '' ? '[^\\s\\S]' : `[${s}]`;
  }
}
