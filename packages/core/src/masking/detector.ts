// The contract every detector (built-in or custom) implements, and the helpers they share.
//
// Matching model. A detector answers, for every position q of a text, whether a match
// *starts an attempt* at q and which span [start, end) it masks (start >= q; usually start = q).
// That answer may only depend on text[q-1 .. q+maxLen] (one character of left context, at most
// maxLen characters from q on). This locality is what lets the streaming masker decide early:
// an attempt at q is *determined* once text[q+maxLen] has arrived, or once a character the
// detector can never consume (outside its alphabet) has arrived at or after q.
//
// Linear time. Every detector scans with regular expressions whose quantifiers are bounded and
// unambiguous (no nested or overlapping quantifiers), anchored on a cheap literal or character
// class (V8 skips ahead with Boyer-Moore on those), and retries at most once per position. The
// cost of a scan is therefore O(n * maxLen) in the worst case and O(n) in practice; the
// adversarial tests feed 1-2 MB inputs made to defeat each detector.

export interface Span {
  start: number;
  end: number;
}

export interface Detector {
  /** Detector id, e.g. "email" or "api-key/github" (for docs and tests). */
  readonly id: string;
  /** Category reported in [MASKED:<category>] and counts. */
  readonly category: string;
  /** An attempt at q reads at most text[q-1 .. q+maxLen]. */
  readonly maxLen: number;
  /**
   * The first position q >= from where a match attempt succeeds; writes the masked span to
   * `out`. Returns -1 when there is none.
   */
  find(text: string, from: number, out: Span): number;
  /**
   * The first position q in [from, upTo) whose attempt is not yet determined by `text` (more
   * text could change its outcome), or upTo when there is none. Over-approximating is safe
   * (it only delays output); under-approximating is a bug the streaming property tests catch.
   */
  hold(text: string, from: number, upTo: number): number;
  /**
   * Whether text[q-1] can rule out an attempt at q (q > 0): the engine then re-tries that
   * attempt as if a boundary were there, right after a masked value. Omitted when no attempt
   * reads the character before it. Over-approximating is safe (it only costs the re-try); it
   * may look at most maxLen characters ahead, and must allow for text that is cut short.
   */
  readonly leftContext?: (text: string, q: number) => boolean;
}

/** A 128-entry ASCII membership table from a class body like "A-Za-z0-9._\\-" (backslash escapes). */
export function asciiSet(spec: string): Uint8Array {
  const t = new Uint8Array(128);
  // Stryker disable next-line EqualityOperator: at i === spec.length, t[NaN] = 1 sets no entry of a typed array
  for (let i = 0; i < spec.length; i++) {
    if (spec[i] === '\\') i++; // escaped: literal
    const a = spec.charCodeAt(i);
    if (i + 2 < spec.length && spec[i + 1] === '-') {
      let j = i + 2;
      if (spec[j] === '\\') j++;
      const b = spec.charCodeAt(j);
      for (let c = a; c <= b; c++) t[c] = 1;
      i = j;
    } else {
      t[a] = 1;
    }
  }
  return t;
}

/** Word characters, as `\\w` reads them; the left and right context of most built-in detectors. */
export const WORD = asciiSet('A-Za-z0-9_');
export const ALNUM = asciiSet('A-Za-z0-9');

export function inSet(set: Uint8Array, c: number): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a typed array reads undefined past its end (and at NaN), so the bound only spares V8 an out-of-range read (docs/testing.md)
  return c < 128 && set[c] === 1;
}

/** Source of a JavaScript character class with the table's characters (or all others). */
export function classSource(set: Uint8Array, negate: boolean): string {
  let s = '';
  for (let c = 0; c < 128; c++) if (set[c] === 1) s += '\\x' + c.toString(16).padStart(2, '0');
  if (s === '') return negate ? '[\\s\\S]' : '[^\\s\\S]';
  return negate ? `[^${s}]` : `[${s}]`;
}

/** Regexes runHold() needs for a detector: see runHold. */
export interface HoldScan {
  /** Matches one character outside the detector's alphabet (global). */
  nonAlpha: RegExp;
  /** Matches at positions where an attempt can start (global; lookbehind for the left boundary). */
  cand: RegExp;
  /** Extra check of a candidate position (e.g. literal prefixes). */
  check?: (text: string, q: number) => boolean;
  isAlpha: (c: number) => boolean;
}

export function holdScan(
  alpha: Uint8Array,
  start: Uint8Array,
  notAfter: Uint8Array | undefined,
  check?: (text: string, q: number) => boolean,
): HoldScan {
  const lb = notAfter === undefined || notAfter.every((x) => x === 0) ? '' : `(?<!${classSource(notAfter, false)})`;
  const h: HoldScan = {
    nonAlpha: new RegExp(classSource(alpha, true), 'g'),
    cand: new RegExp(lb + classSource(start, false), 'g'),
    // Stryker disable next-line ConditionalExpression,EqualityOperator: as in inSet, the bound only spares an out-of-range read
    isAlpha: (c) => c < 128 && alpha[c] === 1,
  };
  if (check !== undefined) h.check = check;
  return h;
}

/**
 * hold() for detectors whose matches consist of alphabet characters only: the undetermined
 * attempts lie after the last non-alphabet character and within maxLen of the end; of those,
 * only candidate start positions can still become a match. Scans natively (regex), so a
 * long undetermined run costs microseconds, not a JavaScript loop over maxLen characters.
 */
export function runHold(text: string, from: number, upTo: number, maxLen: number, h: HoldScan): number {
  const len = text.length;
  let lo = len - maxLen;
  // Stryker disable next-line EqualityOperator: lo === from either way
  if (lo < from) lo = from;
  // the last non-alphabet character in [lo, len): usually a few characters back, so the last 32
  // are looked at here, and the rest (if need be) natively
  // Stryker disable next-line ArithmeticOperator: any near in [lo, len] finds the same character (near only splits the work between this loop and the regex)
  const near = Math.max(lo, len - 32);
  let i = len - 1;
  for (; i >= near; i--) if (!h.isAlpha(text.charCodeAt(i))) break;
  // Stryker disable next-line EqualityOperator: a character at near is the regex's last match as well
  if (i >= near) lo = i + 1;
  else {
    const re = h.nonAlpha;
    re.lastIndex = lo;
    let last = -1;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) last = m.index;
    // Stryker disable next-line EqualityOperator: lo is 0 then, and a non-alphabet character starts no attempt
    if (last >= 0) lo = last + 1;
  }
  const cand = h.cand;
  cand.lastIndex = lo;
  for (let m = cand.exec(text); m !== null; m = cand.exec(text)) {
    const q = m.index;
    // Stryker disable next-line EqualityOperator: a candidate at upTo returns upTo either way
    if (q >= upTo) break;
    if (h.check === undefined || h.check(text, q)) return q;
    cand.lastIndex = q + 1;
  }
  return upTo;
}

/** True when text[q..] is compatible with (a prefix of, or starts with) one of the literals. */
export function startsCompatible(text: string, q: number, literals: readonly string[]): boolean {
  const avail = text.length - q;
  for (const lit of literals) {
    // Stryker disable next-line EqualityOperator: both are the same number when equal
    const n = lit.length < avail ? lit.length : avail;
    let ok = true;
    for (let i = 0; i < n; i++) {
      if (text.charCodeAt(q + i) !== lit.charCodeAt(i)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

export interface RegexDetectorSpec {
  id: string;
  category: string;
  /** Global regex; a match at index q is the attempt at q (lookbehinds see the real text). */
  re: RegExp;
  /** Accepts or rejects the regex match; may narrow the span (default: the whole match). */
  accept?: (text: string, m: RegExpExecArray, out: Span) => boolean;
  maxLen: number;
  /** Every character a match (and the regex while trying) can consume. */
  alpha: string;
  /** Characters an attempt can start with. */
  start: string;
  /** Characters that, right before q, rule out an attempt at q. */
  notAfter: string;
  /** Literal prefixes every match starts with (refines hold()). */
  prefixes?: readonly string[];
}

export function regexDetector(spec: RegexDetectorSpec): Detector {
  const { re, accept, maxLen } = spec;
  if (!re.global) throw new Error(`detector ${spec.id}: regex must be global`);
  const prefixes = spec.prefixes;
  const scan = holdScan(
    asciiSet(spec.alpha),
    asciiSet(spec.start),
    asciiSet(spec.notAfter),
    prefixes === undefined ? undefined : (text, q) => startsCompatible(text, q, prefixes),
  );
  const notAfter = asciiSet(spec.notAfter);
  const start = asciiSet(spec.start);
  return {
    id: spec.id,
    category: spec.category,
    maxLen,
    leftContext: (text, q) =>
      inSet(notAfter, text.charCodeAt(q - 1)) &&
      inSet(start, text.charCodeAt(q)) &&
      (prefixes === undefined || startsCompatible(text, q, prefixes)),
    find(text, from, out) {
      re.lastIndex = from;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        const q = m.index;
        if (accept === undefined) {
          out.start = q;
          out.end = q + m[0].length;
          return q;
        }
        if (accept(text, m, out)) return q;
        re.lastIndex = q + 1;
      }
      return -1;
    },
    hold(text, from, upTo) {
      return runHold(text, from, upTo, maxLen, scan);
    },
  };
}
