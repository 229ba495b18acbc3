// Built-in detectors of signed and private key material: JWTs and PEM / OpenSSH / PGP private key
// blocks (docs/masking.md).
//
// Regexes: every quantifier is bounded; no quantified group contains an alternative that can
// match the same text another way; matches start after a boundary check (a lookbehind on one
// character), so a run of alphabet characters is attempted once.

import { type Detector, regexDetector, type Span } from './detector.ts';

// ------------------------------------------------------------------------------------ jwt

const JWT_RE = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,1024}\.eyJ[A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{0,1024}/g;

export const jwt: Detector = regexDetector({
  id: 'jwt',
  category: 'jwt',
  re: JWT_RE,
  maxLen: 3 + 1024 + 1 + 3 + 4096 + 1 + 1024 + 1,
  alpha: 'A-Za-z0-9_\\-.',
  start: 'e',
  notAfter: 'A-Za-z0-9_\\-',
  prefixes: ['eyJ'],
});

// ---------------------------------------------------------------------------- private-key

const PEM_HEAD = /-----BEGIN (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_FOOT = /-----END (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----/y;
const PEM_CAP = 32768;
const PEM_BODY = new RegExp(`[A-Za-z0-9+/= \\t\\r\\n:,.\\-]{0,${PEM_CAP}}`, 'y');
const PEM_PARTIAL_TAIL = /^[A-Z0-9 ]{0,100}-{0,4}$/;
const PEM_BEGIN = '-----BEGIN ';

/**
 * The match of a header at q: through the footer when one follows a clean base64 body, else
 * through the end of the body run (a truncated key is still masked). Returns whether more
 * text could still change it.
 */
function pemMatch(text: string, q: number, headEnd: number, out: Span): boolean {
  const cap = q + PEM_CAP;
  PEM_BODY.lastIndex = headEnd;
  PEM_BODY.exec(text);
  let runEnd = PEM_BODY.lastIndex;
  // Stryker disable next-line EqualityOperator: at cap, runEnd is set to itself
  if (runEnd > cap) runEnd = cap;
  const body = text.slice(headEnd, runEnd);
  // Stryker disable next-line StringLiteral: indexOf('') tries every position; the footer regex accepts the same one
  let f = body.indexOf('-----END ');
  while (f >= 0) {
    PEM_FOOT.lastIndex = headEnd + f;
    const m = PEM_FOOT.exec(text);
    // Stryker disable next-line EqualityOperator: a footer ending at cap is accepted, or refused and cut at cap: the same span
    if (m !== null && headEnd + f + m[0].length <= cap) {
      out.start = q;
      out.end = headEnd + f + m[0].length;
      return false;
    }
    f = body.indexOf('-----END ', f + 1);
  }
  out.start = q;
  out.end = runEnd;
  return runEnd === text.length && runEnd < cap;
}

function pemPartialHeader(text: string, p: number): boolean {
  const n = text.length - p;
  // Stryker disable next-line EqualityOperator: at exactly its length the header is whole, and the test below accepts it as well
  if (n <= PEM_BEGIN.length) return PEM_BEGIN.startsWith(text.slice(p));
  return text.startsWith(PEM_BEGIN, p) && PEM_PARTIAL_TAIL.test(text.slice(p + PEM_BEGIN.length));
}

const pemScratch: Span = { start: 0, end: 0 };

/** PEM / OpenSSH / PGP private key blocks ("-----BEGIN … PRIVATE KEY-----"). */
export const privateKey: Detector = {
  id: 'private-key',
  category: 'private-key',
  maxLen: PEM_CAP + 1,
  find(text, from, out) {
    PEM_HEAD.lastIndex = from;
    const m = PEM_HEAD.exec(text);
    if (m === null) return -1;
    pemMatch(text, m.index, m.index + m[0].length, out);
    return m.index;
  },
  hold(text, from, upTo) {
    const len = text.length;
    // Stryker disable next-line ArithmeticOperator: a header that far back has reached its limit, settled either way
    let lo = len - PEM_CAP - 1;
    if (lo < from) lo = from;
    PEM_HEAD.lastIndex = lo;
    let m: RegExpExecArray | null;
    // Stryker disable next-line EqualityOperator: a header at upTo would return upTo
    while ((m = PEM_HEAD.exec(text)) !== null && m.index < upTo) {
      if (pemMatch(text, m.index, m.index + m[0].length, pemScratch)) return m.index;
      PEM_HEAD.lastIndex = pemScratch.end; // past the header at least
    }
    // Stryker disable next-line all: a header cut short is at most 115 characters and starts with '-': a wider window or every position finds the same
    let p = text.indexOf('-', len - 128 > lo ? len - 128 : lo);
    // Stryker disable next-line EqualityOperator: a header cut short at upTo would return upTo
    while (p >= 0 && p < upTo) {
      if (pemPartialHeader(text, p)) return p;
      // Stryker disable next-line StringLiteral: see the window above
      p = text.indexOf('-', p + 1);
    }
    return upTo;
  },
};
