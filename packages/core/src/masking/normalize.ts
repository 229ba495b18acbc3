// The text detectors see: each code point folded on its own (NFKC: fullwidth digits and '＠',
// ligatures, small forms), every decimal digit of any script as its ASCII digit (NFKC leaves
// Arabic-Indic '٤١١١', Devanagari, Thai, … as they are), Unicode spaces as ' ', dashes (\p{Pd}:
// hyphen, non-breaking hyphen, figure dash, en dash, …) and the minus sign as '-', ideographic and
// halfwidth full stops as '.', zero-width characters, soft hyphens and combining marks dropped,
// and a percent-encoded printable ASCII character ("%40") as that character ('@'). Masking
// replaces the ORIGINAL characters: every character of the folded text remembers the span of the
// code point (or the three characters "%40") it came from.
//
// Folding code point by code point (not the whole string) keeps it local: text that arrives
// later never changes how earlier text folded, which streamed masking relies on. Only a high
// surrogate or a '%' at the very end waits for what follows (settledLength: callers keep it back).

/** Default-ignorable and format characters (Cf: ZWSP, ZWJ, soft hyphen, bidi controls, BOM, …) and combining marks. */
const DROP = /^[\p{Cf}\p{Mn}\p{Me}]$/u;
const SPACE = /^[\p{Zs}]$/u;
/** Dash punctuation and U+2212 MINUS SIGN: '4111‑1111‑1111‑1111' (U+2011) is a card number. */
const DASH = /^[\p{Pd}\u2212]$/u;
/** Ideographic full stop, fullwidth and halfwidth full stops: 'jane@example。com' is an address. */
const FULL_STOP = /^[\u3002\uff0e\uff61]$/u;
/** A decimal digit of any script (Nd). */
const DIGIT = /^\p{Nd}$/u;

export interface Folded {
  /** What the detectors scan. */
  text: string;
  /** For each character of `text`: start and end (in the original) of the code point it came from. */
  from: Int32Array;
  to: Int32Array;
  /** Length of the original. */
  length: number;
}

const cache = new Map<number, string>();

function foldCodePoint(cp: number): string {
  let f = cache.get(cp);
  if (f !== undefined) return f;
  const c = String.fromCodePoint(cp);
  if (DROP.test(c)) f = '';
  else if (SPACE.test(c)) f = ' ';
  else if (DASH.test(c)) f = '-';
  else if (FULL_STOP.test(c)) f = '.';
  else if (cp === 0x2028 || cp === 0x2029) f = '\n';
  else if (DIGIT.test(c)) f = String(digitValue(cp));
  else f = c.normalize('NFKC');
  if (cache.size < 4096) cache.set(cp, f);
  return f;
}

/**
 * Unicode encodes decimal digits in runs of ten, zero first and in order (its stability policy),
 * so a digit's value is its place in its run; runs that touch (the mathematical digits) are
 * whole tens apart.
 */
function digitValue(cp: number): number {
  let zero = cp;
  while (DIGIT.test(String.fromCodePoint(zero - 1))) zero--;
  return (cp - zero) % 10;
}

/** What can fold: a run of non-ASCII characters, or a percent-encoded printable ASCII character. */
const FOLDABLE = /[\u0080-\uffff]+|%[2-7][0-9A-Fa-f]/g;
/** What can fold in ASCII text (2-3x faster than FOLDABLE there: it opens with its one character). */
const PERCENT_SEQ = /%[2-7][0-9A-Fa-f]/g;
const PERCENT = 0x25;

/**
 * How much of a text that is still arriving folds now as it will in the end: all of it but a
 * high surrogate at the end (its partner has not come) or a '%' with at most the first digit of
 * a printable character after it ("%4" may become "%40", '@').
 */
export function settledLength(s: string): number {
  const n = s.length;
  const last = s.charCodeAt(n - 1); // (NaN when empty: none of the cases below)
  if ((last >= 0xd800 && last <= 0xdbff) || last === PERCENT) return n - 1;
  if (last >= 0x32 && last <= 0x37 && s.charCodeAt(n - 2) === PERCENT) return n - 2;
  return n;
}

/**
 * The folded form of `s`, or undefined when folding changes nothing. ASCII text without '%' costs
 * two native scans; text whose non-ASCII characters all fold to themselves (accents, emoji, CJK)
 * one scan of those characters; only text that really folds pays for the offset tables.
 */
export function fold(s: string): Folded | undefined {
  // ASCII text without a '%' is the common case: its UTF-8 length is its length (a native count,
  // ~6x faster than a regex test), and indexOf finds no '%'.
  const ascii = Buffer.byteLength(s, 'utf8') === s.length;
  if (ascii && s.indexOf('%') < 0) return undefined;
  // what folds to something else: [offset, width, folded] triples
  const edits: (number | string)[] = [];
  let grow = 0;
  const re = ascii ? PERCENT_SEQ : FOLDABLE;
  re.lastIndex = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    if (s.charCodeAt(m.index) === PERCENT) {
      // "%40" is '@': a value written into a URL (?email=jane.doe%40example.com) is still the value
      const c = parseInt(m[0].slice(1), 16);
      if (c !== 0x7f) {
        edits.push(m.index, 3, String.fromCharCode(c));
        grow -= 2;
      }
      continue;
    }
    const end = m.index + m[0].length;
    for (let i = m.index; i < end;) {
      const cp = s.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      const f = foldCodePoint(cp);
      if (f.length !== w || f !== s.slice(i, i + w)) {
        edits.push(i, w, f);
        grow += f.length - w;
      }
      i += w;
    }
  }
  if (edits.length === 0) return undefined;
  const n = s.length + grow;
  const from = new Int32Array(n);
  const to = new Int32Array(n);
  const parts: string[] = [];
  let o = 0; // original offset copied so far
  let k = 0; // folded offset written so far
  const copy = (until: number) => {
    // unchanged characters map one to one (a surrogate pair to its whole code point)
    parts.push(s.slice(o, until));
    for (let i = o; i < until; i++, k++) {
      const c = s.charCodeAt(i);
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < until && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      const lowHalf = (c & 0xfc00) === 0xdc00 && i > o && (s.charCodeAt(i - 1) & 0xfc00) === 0xd800;
      from[k] = lowHalf ? i - 1 : i;
      to[k] = pair ? i + 2 : i + 1;
    }
    o = until;
  };
  for (let e = 0; e < edits.length; e += 3) {
    const at = edits[e] as number;
    const w = edits[e + 1] as number;
    const f = edits[e + 2] as string;
    copy(at);
    parts.push(f);
    for (let j = 0; j < f.length; j++, k++) {
      from[k] = at;
      to[k] = at + w;
    }
    o = at + w;
  }
  copy(s.length);
  return { text: parts.join(''), from, to, length: s.length };
}

/**
 * Original offset for a boundary in the folded text: the start of the code point that
 * folded position p belongs to (p === text.length: the original's end).
 */
export function originalStart(f: Folded, p: number): number {
  return p >= f.text.length ? f.length : f.from[p]!;
}

/** Original offset after folded position p - 1: the end of the code point it came from. */
export function originalEnd(f: Folded, p: number): number {
  return p <= 0 ? 0 : f.to[p - 1]!;
}
