// Built-in detectors of contact data: email addresses and phone numbers (docs/masking.md says
// what each reports and what it deliberately does not).
//
// Regexes: every quantifier is bounded; no quantified group contains an alternative that can
// match the same text another way; matches start after a boundary check (a lookbehind on one
// character), so a run of alphabet characters is attempted once.

import { ALNUM, asciiSet, type Detector, type HoldScan, inSet, regexDetector, runHold, WORD } from './detector.ts';

// Stryker disable next-line ConditionalExpression: only characters of a phone match ([0-9 ().+-], none above '9') reach it (docs/testing.md)
const isDigit = (c: number) => c >= 48 && c <= 57;

// ---------------------------------------------------------------------------------- email

const EMAIL_LOCAL = asciiSet('A-Za-z0-9._%+\\-');
const EMAIL_ALPHA = asciiSet('A-Za-z0-9._%+\\-@');
/** Latin letters beyond ASCII (À-ɏ without × and ÷): jürgen@müller.de is one address. */
const LATIN = '\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u024F';
const isLatin = (c: number) => c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7;
const isLocal = (c: number) => inSet(EMAIL_LOCAL, c) || isLatin(c);
// From the start of the local part (the caller guarantees a boundary before it). The TLD ends at
// the last letter: a digit or '-' after it does not make the address something else
// ("jane@example.com4111 1111 1111 1111" is an address glued to a card; refusing it left the
// address clear while the card was masked). Only a letter after 24 is refused (a longer word).
const EMAIL_AT = new RegExp(
  `[A-Za-z0-9${LATIN}][A-Za-z0-9._%+${LATIN}-]{0,63}@(?:[A-Za-z0-9${LATIN}](?:[A-Za-z0-9${LATIN}-]{0,61}[A-Za-z0-9${LATIN}])?\\.){1,6}[A-Za-z]{2,24}(?![A-Za-z${LATIN}])`,
  'y',
);
const EMAIL_MAX = 64 + 1 + 6 * 64 + 24 + 2; // + two characters of lookahead
const EMAIL_HOLD: HoldScan = {
  nonAlpha: new RegExp(`[^A-Za-z0-9._%+@${LATIN}-]`, 'g'),
  cand: new RegExp(`(?<![A-Za-z0-9._%+${LATIN}-])[A-Za-z0-9${LATIN}]`, 'g'),
  // Stryker disable next-line ConditionalExpression: runHold finds the last non-alphabet character by regex when this shortcut passes over it (docs/testing.md)
  isAlpha: (c) => inSet(EMAIL_ALPHA, c) || isLatin(c),
};

/** Anchored on '@' (indexOf, fast): the attempt starts where the local-part run starts. */
export const email: Detector = {
  id: 'email',
  category: 'email',
  maxLen: EMAIL_MAX,
  leftContext(text, q) {
    const c = text.charCodeAt(q);
    if (!isLocal(text.charCodeAt(q - 1)) || !(inSet(ALNUM, c) || isLatin(c))) return false;
    // the local part must reach an '@' (or the end of the text so far) within 64 characters
    // (past the end, charCodeAt is NaN: not a local character)
    let i = q;
    const lim = q + 64;
    while (i < lim && isLocal(text.charCodeAt(i))) i++;
    return i === text.length || text.charCodeAt(i) === 64; /* @ */
  },
  find(text, from, out) {
    // Stryker disable next-line StringLiteral: indexOf('') visits every position; only the '@' ones can start a match, so the result is the same (docs/testing.md)
    let at = text.indexOf('@', from);
    // Stryker disable next-line EqualityOperator: an '@' at 0 has no local part either way
    while (at >= 0) {
      let s = at;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: a bound on the walk back; the regex refuses a local part over 64 from the run's start alike (docs/testing.md)
      const lim = at - 64 > from ? at - 64 : from;
      while (s > lim && isLocal(text.charCodeAt(s - 1))) s--;
      // s is the run start unless the run goes on before `from` or is longer than 64 (an empty
      // run fails the regex; charCodeAt(-1) is NaN, not local)
      if (!isLocal(text.charCodeAt(s - 1))) {
        EMAIL_AT.lastIndex = s;
        const m = EMAIL_AT.exec(text);
        if (m !== null) {
          out.start = s;
          out.end = s + m[0].length;
          return s;
        }
      }
      at = text.indexOf('@', at + 1);
    }
    return -1;
  },
  hold(text, from, upTo) {
    return runHold(text, from, upTo, EMAIL_MAX, EMAIL_HOLD);
  },
};

// ---------------------------------------------------------------------------------- phone

const PHONE_RE =
  /(?<![A-Za-z0-9_+.-])(?:\+[1-9][0-9 ().-]{6,22}|\([2-9][0-9]{2}\) ?[2-9][0-9]{2}[.-][0-9]{4}|[2-9][0-9]{2}-[2-9][0-9]{2}-[0-9]{4}|[2-9][0-9]{2}\.[2-9][0-9]{2}\.[0-9]{4})/g;

/** Structure of "+<country> <groups>": 8-15 digits, single separators, one optional "(…)". */
function intlPhoneValid(s: string, end: number): boolean {
  let digits = 0;
  let cur = 0;
  let groups = 0;
  let singles = 0;
  let maxGroup = 0;
  let inParen = false;
  let parens = 0;
  // Stryker disable next-line BooleanLiteral: s[1] is a digit (the regex), which sets it before it is read
  let prevSep = false;
  const close = () => {
    if (cur === 0) return;
    groups++;
    if (groups > 1 && !inParen && cur === 1) singles++;
    // Stryker disable next-line EqualityOperator: cur >= maxGroup assigns the same maximum
    if (cur > maxGroup) maxGroup = cur;
    cur = 0;
  };
  for (let i = 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c)) {
      cur++;
      digits++;
      prevSep = false;
    } else if (c === 40 /* ( */) {
      if (inParen || parens > 0) return false;
      close();
      inParen = true;
      // Stryker disable next-line BooleanLiteral: inside "(…)" a separator is refused whatever prevSep says, and ")" resets it
      prevSep = false;
    } else if (c === 41 /* ) */) {
      if (!inParen || cur === 0 || cur > 4) return false;
      cur = 0; // a parenthesized trunk/area code does not count as a group of its own
      inParen = false;
      parens++;
      prevSep = false;
    } else {
      if (prevSep || inParen) return false;
      close();
      prevSep = true;
    }
  }
  if (inParen) return false;
  close();
  if (digits < 8 || digits > 15) return false;
  if (groups > 1 && (maxGroup > 8 || singles > 1 || groups > 7)) return false;
  return true;
}

export const phone: Detector = regexDetector({
  id: 'phone',
  category: 'phone',
  re: PHONE_RE,
  maxLen: 27,
  alpha: '0-9 ().+\\-',
  start: '2-9(+',
  notAfter: 'A-Za-z0-9_+.\\-',
  accept(text, m, out) {
    const q = m.index;
    const s = m[0];
    let e = s.length;
    if (s.charCodeAt(0) === 43 /* + */) {
      while (!isDigit(s.charCodeAt(e - 1))) e--; // stops at s[1] at the latest: the regex puts a digit there
      if (!intlPhoneValid(s, e)) return false;
    }
    const end = q + e;
    // Glued to a word, it is part of a token, not a phone. Digits after a separator do not
    // refuse it: they may be a value masking replaces ("(229) 512-0694 64.91.117.64"), and a
    // decision that depends on them would change when the output is masked again.
    if (inSet(WORD, text.charCodeAt(end))) return false;
    out.start = q;
    out.end = end;
    return true;
  },
});
