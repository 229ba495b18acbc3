// The built-in detectors. Each is documented in docs/masking.md with what it reports and what
// it deliberately does not. Regexes: every quantifier is bounded; no quantified group contains
// an alternative that can match the same text another way; matches start after a boundary
// check (a lookbehind on one character), so a run of alphabet characters is attempted once.

import {
  asciiSet,
  holdScan,
  inSet,
  regexDetector,
  runHold,
  startsCompatible,
  type Detector,
  type HoldScan,
  type Span,
} from './detector.ts';
import { cardNetwork, hasDigitAndLetter, IBAN_LENGTHS, ibanChecksumValid, ipv6Valid, looksRandom, luhnValid } from './checks.ts';

// Stryker disable next-line ConditionalExpression: only characters of a phone match ([0-9 ().+-], none above '9') reach it (docs/testing.md)
const isDigit = (c: number) => c >= 48 && c <= 57;
const WORD = asciiSet('A-Za-z0-9_');
const ALNUM = asciiSet('A-Za-z0-9');

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

// ----------------------------------------------------------------------------- ip-address

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_RE = new RegExp(`(?<![A-Za-z0-9_.])(?:${OCTET}\\.){3}${OCTET}(?![A-Za-z0-9_]|\\.[0-9])`, 'g');

export const ipv4: Detector = regexDetector({
  id: 'ip-address/v4',
  category: 'ip-address',
  re: IPV4_RE,
  maxLen: 17,
  alpha: '0-9.',
  start: '0-9',
  notAfter: 'A-Za-z0-9_.',
});

const V6_RUN = asciiSet('0-9A-Fa-f:.');
const HEX = asciiSet('0-9A-Fa-f');
const HEX_OR_COLON = asciiSet('0-9A-Fa-f:');

/**
 * The first position at or after `from` of "h:h", "h::" or "::" (h a hex digit), -1 when there is
 * none: what /[0-9A-Fa-f]:[0-9A-Fa-f:]|::/g finds (builtin.regex.test.ts holds it to that). Every
 * candidate has a colon at or right after its start, and colons are rare in text, so it goes from
 * colon to colon (a native scan, ~4x faster than that pattern, which opened with a letter of a-f).
 */
export function v6Candidate(text: string, from: number): number {
  for (let c = text.indexOf(':', from); c >= 0; c = text.indexOf(':', c + 1)) {
    // (charCodeAt past the end is NaN, in no set)
    if (c > from && inSet(HEX, text.charCodeAt(c - 1)) && inSet(HEX_OR_COLON, text.charCodeAt(c + 1))) return c - 1;
    if (text.charCodeAt(c + 1) === 58 /* : */) return c;
  }
  return -1;
}
const V6_MAXRUN = 46; // 45 characters of address plus one trailing '.' or ':'
const V6_HOLD = holdScan(V6_RUN, V6_RUN, asciiSet('0-9A-Za-z_:.'));

/** Candidates are maximal runs of [0-9A-Fa-f:.] containing "h:h", "h::" or "::". */
export const ipv6: Detector = {
  id: 'ip-address/v6',
  category: 'ip-address',
  maxLen: V6_MAXRUN + 2,
  leftContext: (text, q) => {
    const before = text.charCodeAt(q - 1);
    return (inSet(V6_RUN, before) || inSet(WORD, before)) && inSet(V6_RUN, text.charCodeAt(q));
  },
  find(text, from, out) {
    const len = text.length;
    for (let k = v6Candidate(text, from); k >= 0;) {
      let s = k;
      // Stryker disable all: bounds on the walk (linear time): a run longer than any address is refused
      // by the checks below whatever its walked length; charCodeAt out of range is NaN, in no set,
      // like -1 (docs/testing.md)
      const lim = k - V6_MAXRUN > from ? k - V6_MAXRUN : from;
      while (s > lim && inSet(V6_RUN, text.charCodeAt(s - 1))) s--;
      let e = k;
      const elim = s + V6_MAXRUN + 1;
      while (e < len && e < elim && inSet(V6_RUN, text.charCodeAt(e))) e++;
      const before = s > 0 ? text.charCodeAt(s - 1) : -1;
      const after = e < len ? text.charCodeAt(e) : -1;
      // Stryker restore all
      let ok = !inSet(V6_RUN, before) && !inSet(WORD, before) && !inSet(V6_RUN, after) && !inSet(WORD, after);
      if (ok) {
        let end = e;
        let cand = text.slice(s, e);
        if (!ipv6Valid(cand)) {
          ok = false;
          const last = cand.charCodeAt(cand.length - 1);
          // a sentence's full stop or a label's colon right after the address
          if (last === 46 || (last === 58 && cand.charCodeAt(cand.length - 2) !== 58)) {
            cand = cand.slice(0, -1);
            end--;
            ok = ipv6Valid(cand);
          }
        }
        if (ok) {
          out.start = s;
          out.end = end;
          return s;
        }
      }
      // skip the rest of this run (each character is looked at a bounded number of times)
      // Stryker disable next-line all: without the skip the next candidate of the same run is refused by its left neighbour; only the work differs (docs/testing.md)
      while (e < len && inSet(V6_RUN, text.charCodeAt(e))) e++;
      k = v6Candidate(text, e); // past k + 1: the candidate's own "h:" is part of the run
    }
    return -1;
  },
  hold(text, from, upTo) {
    return runHold(text, from, upTo, V6_MAXRUN + 2, V6_HOLD);
  },
};

// -------------------------------------------------------------------------------- api-key

interface SecretKind {
  /** Characters allowed right after the literal, up to the end of a match. */
  tail: Uint8Array;
  /** Longest match from the attempt position, plus one character of lookahead. */
  max: number;
  /** Characters that rule out an attempt when right before it. */
  notAfter: Uint8Array;
  match(text: string, q: number, out: Span): boolean;
}

const TOKEN_B64URL = asciiSet('A-Za-z0-9_\\-');

const ANTHROPIC_RE = /sk-ant-[A-Za-z0-9_-]{20,256}/y;
const OPENAI_RE = /sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,256}/y;
const AWS_RE = /A(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])/y;
const GITHUB_RE = /gh[pousr]_[A-Za-z0-9]{36,251}/y;
const GITHUB_PAT_RE = /github_pat_[A-Za-z0-9_]{22,244}/y;
const SLACK_RE = /xox[abpre]-[A-Za-z0-9-]{10,250}/y;
const BEARER_RE = /(?:Bearer|bearer|BEARER)[ \t]{1,8}([A-Za-z0-9._~+/-]{16,2048}={0,3})/y;

function sticky(re: RegExp, text: string, q: number): RegExpExecArray | null {
  re.lastIndex = q;
  return re.exec(text);
}

const SK: SecretKind = {
  tail: TOKEN_B64URL,
  max: 3 + 8 + 256 + 1,
  notAfter: TOKEN_B64URL,
  match(text, q, out) {
    if (text.startsWith('sk-ant-', q)) {
      const m = sticky(ANTHROPIC_RE, text, q);
      if (m === null) return false;
      out.start = q;
      out.end = q + m[0].length;
      return true;
    }
    const m = sticky(OPENAI_RE, text, q);
    // a random key has upper, lower and digits; "sk-learn-compatible-estimator" has not
    if (m === null || !looksRandom(m[0], 3)) return false;
    out.start = q;
    out.end = q + m[0].length;
    return true;
  },
};
const AWS: SecretKind = {
  tail: asciiSet('A-Z0-9'),
  max: 21,
  notAfter: ALNUM,
  match(text, q, out) {
    const m = sticky(AWS_RE, text, q);
    if (m === null) return false;
    out.start = q;
    out.end = q + 20;
    return true;
  },
};
const GITHUB: SecretKind = {
  tail: ALNUM,
  max: 4 + 251 + 1,
  notAfter: WORD,
  match(text, q, out) {
    const m = sticky(GITHUB_RE, text, q);
    if (m === null) return false;
    out.start = q;
    out.end = q + m[0].length;
    return true;
  },
};
const GITHUB_PAT: SecretKind = {
  tail: WORD,
  max: 11 + 244 + 1,
  notAfter: WORD,
  match(text, q, out) {
    const m = sticky(GITHUB_PAT_RE, text, q);
    if (m === null) return false;
    out.start = q;
    out.end = q + m[0].length;
    return true;
  },
};
const SLACK: SecretKind = {
  tail: asciiSet('A-Za-z0-9\\-'),
  max: 5 + 250 + 1,
  notAfter: TOKEN_B64URL,
  match(text, q, out) {
    const m = sticky(SLACK_RE, text, q);
    if (m === null || !hasDigitAndLetter(m[0], 5)) return false;
    out.start = q;
    out.end = q + m[0].length;
    return true;
  },
};
const BEARER: SecretKind = {
  tail: asciiSet(' \tA-Za-z0-9\\-._~+/='),
  max: 6 + 8 + 2048 + 3 + 1,
  notAfter: WORD,
  match(text, q, out) {
    const m = sticky(BEARER_RE, text, q);
    if (m === null) return false;
    const tok = m[1]!;
    if (!hasDigitAndLetter(tok)) return false;
    out.end = q + m[0].length;
    out.start = out.end - tok.length; // "Bearer " stays readable; the token goes
    return true;
  },
};

// Where one of SECRET_LITERALS starts. GitHub's are found by their '_' and looked behind from
// there: "gh" is frequent in prose (through, right, high), and an alternative that opens with it
// made this the slowest scan of the masker (~2.7x slower). SECRET_LITERAL_AS_READ in
// builtin.regex.test.ts is the pattern as it reads; the test holds secretLiteral to it.
const SECRET_CAND = /sk-|A[KS]IA|xox[abpre]-|[Bb]earer|BEARER|_(?:(?<=gh[pousr]_)|(?<=github_)pat_)/g;
const SECRET_LITERALS = [
  'sk-',
  'AKIA',
  'ASIA',
  'ghp_',
  'gho_',
  'ghu_',
  'ghs_',
  'ghr_',
  'github_pat_',
  'xoxa-',
  'xoxb-',
  'xoxp-',
  'xoxr-',
  'xoxe-',
  'Bearer',
  'bearer',
  'BEARER',
];
const SECRET_MAX = BEARER.max;

/**
 * The first position at or after `from` where one of SECRET_LITERALS starts (-1: none); `lit.end`
 * is set to where that literal ends.
 */
export function secretLiteral(text: string, from: number, lit: Span): number {
  SECRET_CAND.lastIndex = from;
  for (let m = SECRET_CAND.exec(text); m !== null; m = SECRET_CAND.exec(text)) {
    // a GitHub literal was found by its '_': it starts 3 (ghp_) or 6 (github_pat_) characters before
    const q = m[0] === '_' ? m.index - 3 : m[0] === '_pat_' ? m.index - 6 : m.index;
    if (q >= from) {
      lit.start = q;
      lit.end = m.index + m[0].length;
      return q;
    }
    SECRET_CAND.lastIndex = m.index + 1;
  }
  return -1;
}
const LIT: Span = { start: 0, end: 0 };
/** The first characters of SECRET_LITERALS. */
const SECRET_START = asciiSet('sAgxBb');

function secretKind(text: string, q: number): SecretKind {
  switch (text.charCodeAt(q)) {
    case 115 /* s */:
      return SK;
    case 65 /* A */:
      return AWS;
    case 120 /* x */:
      return SLACK;
    case 103 /* g */:
      return text.charCodeAt(q + 3) === 95 /* _ */ ? GITHUB : GITHUB_PAT;
    default:
      return BEARER;
  }
}

/**
 * Anthropic (sk-ant-…), OpenAI (sk-…, sk-proj-…), AWS access key ids (AKIA/ASIA), GitHub
 * (ghp_/gho_/ghu_/ghs_/ghr_, github_pat_), Slack (xox[abpre]-) and "Bearer <token>".
 */
export const apiKey: Detector = {
  id: 'api-key',
  category: 'api-key',
  maxLen: SECRET_MAX,
  // every kind's notAfter is within TOKEN_B64URL
  leftContext: (text, q) => inSet(TOKEN_B64URL, text.charCodeAt(q - 1)) && startsCompatible(text, q, SECRET_LITERALS),
  find(text, from, out) {
    for (let q = secretLiteral(text, from, LIT); q >= 0; q = secretLiteral(text, q + 1, LIT)) {
      const kind = secretKind(text, q);
      // (charCodeAt(-1) is NaN, in no set)
      if (!inSet(kind.notAfter, text.charCodeAt(q - 1)) && kind.match(text, q, out)) return q;
    }
    return -1;
  },
  hold(text, from, upTo) {
    const len = text.length;
    let lo = len - SECRET_MAX;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a bound on the work: a literal further back than SECRET_MAX is complete and skipped below anyway
    if (lo < from) lo = from;
    let best = upTo;
    // complete literals whose token may still be growing
    // Stryker disable next-line EqualityOperator: a literal at best would set best to itself
    for (let q = secretLiteral(text, lo, LIT); q >= 0 && q < best; q = secretLiteral(text, q + 1, LIT)) {
      const kind = secretKind(text, q);
      if (q + kind.max <= len || inSet(kind.notAfter, text.charCodeAt(q - 1))) continue;
      let i = LIT.end;
      while (inSet(kind.tail, text.charCodeAt(i))) i++; // (past the end: NaN, in no set)
      if (i === len) {
        best = q;
        break;
      }
    }
    // a literal cut short by the end of the text
    const k0 = Math.min(len - lo, 11);
    for (let k = k0; k >= 1; k--) {
      const q = len - k;
      // Stryker disable next-line EqualityOperator: a literal at best would set best to itself
      if (q >= best) break;
      // Stryker disable next-line ConditionalExpression,LogicalOperator: the first-character test only spares startsCompatible's loop over the literals (no literal starts otherwise)
      if (inSet(SECRET_START, text.charCodeAt(q)) && startsCompatible(text, q, SECRET_LITERALS)) {
        const c = text.charCodeAt(q);
        const na = c === 65 ? ALNUM : c === 103 || c === 66 || c === 98 ? WORD : TOKEN_B64URL;
        if (!inSet(na, text.charCodeAt(q - 1))) {
          best = q;
          break;
        }
      }
    }
    return best;
  },
};

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

/** Built-in detectors by category, in priority order (on equal spans the first one wins). */
export const BUILTIN: ReadonlyArray<readonly [category: string, detectors: readonly Detector[]]> = [
  ['private-key', [privateKey]],
  ['jwt', [jwt]],
  ['api-key', [apiKey]],
  ['credit-card', [creditCard]],
  ['iban', [iban]],
  ['ssn', [ssn]],
  ['phone', [phone]],
  ['ip-address', [ipv4, ipv6]],
  ['email', [email]],
];

export const BUILTIN_CATEGORIES: readonly string[] = BUILTIN.map(([c]) => c);
