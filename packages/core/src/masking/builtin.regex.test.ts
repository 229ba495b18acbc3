// Three scans of the built-in detectors are written for speed rather than as they read
// (builtin.ts says why): the card pattern looks behind its first digit instead of before it,
// API-key literals are found by GitHub's '_', IPv6 candidates colon by colon. These tests hold each
// to the form that reads as the rule: the same places from every start position, over text made of
// the characters those values are written with.
import { v6Candidate } from './builtin-ip.ts';
import { CARD_RE } from './builtin-numbers.ts';
import { secretLiteral } from './builtin-secrets.ts';
import { cardNumber, formatCard, realisticText, rng } from './fixtures.ts';

const AS_READ =
  /(?<![0-9])(?:[0-9]{13,19}|[0-9]{4}([ .-])[0-9]{4}\1[0-9]{4}\1[0-9]{1,4}(?:\1[0-9]{3})?|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5})(?![0-9])/g;

/** Every match from `from` on, as index, text and groups. */
function matches(re: RegExp, text: string, from: number): string[] {
  const out: string[] = [];
  re.lastIndex = from;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push(`${m.index}:${m.map((g) => g ?? '-').join('|')}`);
    re.lastIndex = m.index + 1; // as the detector goes on after a refused candidate
  }
  return out;
}

/** Text of digits, the separators of a card, and a few other characters, in runs of every length. */
function cardish(seed: number, length: number): string {
  const r = rng(seed);
  const alphabet = '0123456789012345678901234567890123456789 .- .-x\n٤';
  let s = '';
  while (s.length < length) {
    if (r() < 0.05) s += formatCard(r, cardNumber(r).number);
    else s += alphabet[Math.floor(r() * alphabet.length)];
  }
  return s;
}

test('finds what the lookbehind-first form finds, from every start position', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const text = cardish(seed, 400);
    for (let from = 0; from <= text.length; from += 7) {
      expect(matches(CARD_RE, text, from)).toEqual(matches(AS_READ, text, from));
    }
  }
});

test('finds what the lookbehind-first form finds in model output with cards in it', () => {
  const text = realisticText(256 * 1024, 11, 0.2);
  const found = matches(CARD_RE, text, 0);
  expect(found.length).toBeGreaterThan(50);
  expect(found).toEqual(matches(AS_READ, text, 0));
});

test.each([
  ['a digit before it', '94111111111111111', 1, []],
  ['a letter before it', 'x4111111111111111', 0, ['1:4111111111111111|-|-']],
  ['at the start of the text', '4111 1111 1111 1111', 0, ['0:4111 1111 1111 1111| |-']],
  ['Amex grouping', 'card 3782 822463 10005.', 0, ['5:3782 822463 10005|-| ']],
  ['a digit after it', '41111111111111111111', 0, []],
])('%s', (_what, text, from, want) => {
  expect(matches(CARD_RE, text, from)).toEqual(want);
  expect(matches(AS_READ, text, from)).toEqual(want);
});

/** Random text over `alphabet`, with the given pieces mixed in. */
function mixed(seed: number, length: number, alphabet: string, pieces: string[]): string {
  const r = rng(seed);
  let s = '';
  while (s.length < length) s += r() < 0.15 ? pieces[Math.floor(r() * pieces.length)]! : alphabet[Math.floor(r() * alphabet.length)]!;
  return s;
}

/** Where `re` (global) finds its next match from `from`, -1 for none. */
function nextAt(re: RegExp, text: string, from: number): number {
  re.lastIndex = from;
  return re.exec(text)?.index ?? -1;
}

const SECRET_LITERAL_AS_READ = /sk-|A[KS]IA|gh[pousr]_|github_pat_|xox[abpre]-|[Bb]earer|BEARER/g;
const SECRET_PIECES = [
  'sk-',
  'AKIA',
  'ASIA',
  'ghp_',
  'gho_',
  'ghu_',
  'ghs_',
  'ghr_',
  'github_pat_',
  'xoxb-',
  'xoxe-',
  'Bearer',
  'bearer',
  'BEARER',
  'gh',
  'github',
  'github_',
  'github_pa',
  'hub_pat_',
  'gh_',
  'ghx_',
  'ghp',
  'pat_',
  'ghghp_',
  'githubghp_',
];

test('secretLiteral finds where the literals start, and where they end, as the pattern that lists them does', () => {
  const lit = { start: 0, end: 0 };
  for (let seed = 1; seed <= 40; seed++) {
    const text = mixed(seed, 300, 'ghpithub_askABSIxoreE- ', SECRET_PIECES);
    for (let from = 0; from <= text.length + 1; from++) {
      const want = nextAt(SECRET_LITERAL_AS_READ, text, from);
      expect([from, secretLiteral(text, from, lit)]).toEqual([from, want]);
      if (want >= 0) expect(text.slice(lit.start, lit.end)).toBe(text.slice(want, SECRET_LITERAL_AS_READ.lastIndex));
    }
  }
});

test.each([
  ['ghp_ at the start', 'ghp_x', 0, 0, 4],
  ['github_pat_ after text', 'see github_pat_11AB', 0, 4, 15],
  ['ghp_ starting before from is not found', 'ghp_ sk-', 1, 5, 8],
  ['github_pat_ starting before from is not found', 'github_pat_', 1, -1, 0],
  ['github_ without pat_', 'github_x ghs_', 0, 9, 13],
  ['"through_" is not a literal', 'through_ xoxb-', 0, 9, 14],
])('secretLiteral: %s', (_what, text, from, start, end) => {
  const lit = { start: 0, end: 0 };
  expect(secretLiteral(text, from, lit)).toBe(start);
  if (start >= 0) expect([lit.start, lit.end]).toEqual([start, end]);
});

const V6_AS_READ = /[0-9A-Fa-f]:[0-9A-Fa-f:]|::/g;

test('v6Candidate finds what the h:h | :: pattern finds, from every start position', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const text = mixed(seed, 300, '0123456789abcdefABCDEFgxz:::. \n', [
      '::',
      'fe80::1',
      '2001:db8::8a2e:370:7334',
      '10:30',
      'a:',
      ':b',
      'x::y',
    ]);
    for (let from = 0; from <= text.length + 1; from++)
      expect([from, v6Candidate(text, from)]).toEqual([from, nextAt(V6_AS_READ, text, from)]);
  }
});

test.each([
  ['h:h', 'at 10:30', 0, 4],
  ['h:h whose digit is before from', 'at 10:30', 5, -1],
  ['h::', 'a::', 0, 0],
  [':: whose digit is before from', 'a::', 1, 1],
  ['a colon with no hex before it', 'x:1 g::', 0, 5],
  ['a colon at the end', 'a:', 0, -1],
])('v6Candidate: %s', (_what, text, from, want) => {
  expect(v6Candidate(text, from)).toBe(want);
  expect(nextAt(V6_AS_READ, text, from)).toBe(want);
});
