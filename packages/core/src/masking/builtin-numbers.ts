// Built-in detectors of numbered identifiers: payment card numbers (Luhn and a known network),
// IBANs (their checksum) and US social security numbers (docs/masking.md).
//
// Regexes: every quantifier is bounded; no quantified group contains an alternative that can
// match the same text another way; matches start after a boundary check (a lookbehind on one
// character), so a run of alphabet characters is attempted once.

import { type Detector, inSet, regexDetector, WORD } from './detector.ts';
import { cardNetwork, IBAN_LENGTHS, ibanChecksumValid, luhnValid } from './checks.ts';

// ---------------------------------------------------------------------------- credit-card

// Read as: (?<![0-9]) then 13-19 digits, or four groups (4-4-4-1..4, an optional fifth of 3) with
// one separator, or Amex's 4-6-5 (Diners' 4-6-4). The first digit is matched before the
// lookbehind looks at the character before it: a pattern that opens with a lookbehind is tried at
// every position of the text, one that opens with [0-9] only where there is a digit (3x faster
// here, and card numbers were the slowest default detector). Same matches, same groups: a test
// compares it with the lookbehind-first form (builtin.regex.test.ts).
export const CARD_RE =
  /[0-9](?<![0-9]{2})(?:[0-9]{12,18}|[0-9]{3}([ .-])[0-9]{4}\1[0-9]{4}\1[0-9]{1,4}(?:\1[0-9]{3})?|[0-9]{3}([ -])[0-9]{6}\2[0-9]{4,5})(?![0-9])/g;

const cardOk = (d: string) => luhnValid(d) && cardNetwork(d) !== undefined;

export const creditCard: Detector = regexDetector({
  id: 'credit-card',
  category: 'credit-card',
  re: CARD_RE,
  maxLen: 24,
  alpha: '0-9 .\\-',
  start: '0-9',
  notAfter: '0-9',
  accept(_text, m, out) {
    const s = m[0];
    const grouped = m[1] !== undefined || m[2] !== undefined;
    const d = grouped ? s.replace(/[ .-]/g, '') : s;
    out.start = m.index;
    if (cardOk(d)) {
      out.end = m.index + s.length;
      return true;
    }
    // "4111 1111 1111 1111 123": the 16-digit card followed by another group
    if (grouped && d.length === 19 && cardOk(d.slice(0, 16))) {
      out.end = m.index + 19;
      return true;
    }
    return false;
  },
});

// ----------------------------------------------------------------------------------- iban

const IBAN_RE = /(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){10,30}/g;

export const iban: Detector = regexDetector({
  id: 'iban',
  category: 'iban',
  re: IBAN_RE,
  maxLen: 66,
  alpha: 'A-Z0-9 ',
  start: 'A-Z',
  notAfter: 'A-Za-z0-9',
  accept(text, m, out) {
    const s = m[0];
    const want = IBAN_LENGTHS[s.slice(0, 2)];
    // Stryker disable next-line ConditionalExpression: without it an unknown country compacts nothing and the letter at the start then refuses it (docs/testing.md)
    if (want === undefined) return false;
    let compact = '';
    let spaced = false;
    let i = 0;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: reading past the match appends "undefined", which the checksum refuses like the short IBAN it is (docs/testing.md)
    for (; i < s.length && compact.length < want; i++) {
      const c = s[i]!;
      if (c === ' ') {
        // printed form: a space after every fourth character, nowhere else
        if (compact.length % 4 !== 0 || (!spaced && compact.length !== 4)) return false;
        spaced = true;
      } else {
        if (spaced && compact.length % 4 === 0 && s[i - 1] !== ' ') return false;
        compact += c;
      }
    }
    if (compact.length < want) return false;
    const end = m.index + i;
    if (inSet(WORD, text.charCodeAt(end))) return false;
    if (!ibanChecksumValid(compact)) return false;
    out.start = m.index;
    out.end = end;
    return true;
  },
});

// ------------------------------------------------------------------------------------ ssn

const SSN_RE = /(?<![0-9-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![0-9-])/g;

export const ssn: Detector = regexDetector({
  id: 'ssn',
  category: 'ssn',
  re: SSN_RE,
  maxLen: 12,
  alpha: '0-9\\-',
  start: '0-9',
  notAfter: '0-9\\-',
  accept(_text, m, out) {
    const area = m[1]!;
    if (area === '000' || area === '666' || area.charCodeAt(0) === 57 /* 9xx: ITIN, not SSN */) return false;
    if (m[2] === '00' || m[3] === '0000') return false;
    out.start = m.index;
    out.end = m.index + m[0].length;
    return true;
  },
});
