// Custom patterns at the edges the mutation run found untested (docs/testing.md, "Mutation
// testing"): every refusal's whole message (offset and excerpt included), what each escape and
// class matches, and the exact answers of find() and hold() (hold may over-approximate by
// contract, so only a direct check sees a mutant that makes it hold more than it must).
import { compileCustomPattern } from './custom.ts';
import { compileMasking } from './index.ts';

const compile = (p: string) => compileCustomPattern('t', p, 'f');
/** The masked span [start, end) of the leftmost-longest match at or after `from`, or -1. */
function find(p: string, s: string, from = 0): number | number[] {
  const span = { start: -1, end: -1 };
  return compile(p).find(s, from, span) < 0 ? -1 : [span.start, span.end];
}

describe('refused patterns: the whole message', () => {
  it.each([
    ['{2}a', ' at offset 0 (…"{2}a"): nothing to repeat before \'{\''],
    ['{x', ' at offset 0 (…"{x"): write \\{ for a literal brace'],
    ['a}', ' at offset 1 (…"}"): write \\} for a literal \'}\''],
    ['a]', ' at offset 1 (…"]"): write \\] for a literal \']\''],
    ['?a', ' at offset 0 (…"?a"): nothing to repeat before \'?\''],
    ['*a', ' at offset 0 (…"*a"): nothing to repeat before \'*\''],
    ['+a', ' at offset 0 (…"+a"): nothing to repeat before \'+\''],
    ['a{3,2}', ' at offset 1 (…"{3,2}"): quantifier {3,2} has its bounds the wrong way round'],
    ['[z-a]', ' at offset 2 (…"-a]"): class range out of order'],
    ['[\\d-z]', ' at offset 3 (…"-z]"): a range in a class needs single characters at both ends'],
    ['[a-\\d]', ' at offset 2 (…"-\\\\d]"): a range in a class needs single characters at both ends'],
    ['[[:alpha:]]', ' at offset 1 (…"[:alpha:]]"): POSIX classes like [:alpha:] are not supported; use \\w, \\d, \\s or ranges'],
    ['[^\\s\\S]', ' at offset 0 (…"[^\\\\s\\\\S]"): this class matches no character'],
    ['[a', ' at offset 0 (…"[a"): missing \']\''],
    ['\\01', ' at offset 0 (…"\\\\01"): octal escapes are not supported; use \\xHH'],
    ['\\x4', ' at offset 0 (…"\\\\x4"): \\x needs two hex digits'],
    ['\\u12', ' at offset 0 (…"\\\\u12"): \\u needs four hex digits (\\u{…} is not supported)'],
    [
      '\\k<x>',
      ' at offset 0 (…"\\\\k<x>"): backreferences are not supported (they cannot be matched in linear time); repeat the sub-pattern instead',
    ],
    ['\\cA', ' at offset 0 (…"\\\\cA"): control escapes (\\cX) are not supported; use \\xHH'],
    [
      '\\P{L}',
      ' at offset 0 (…"\\\\P{L}"): unicode property escapes (\\p{…}) are not supported; list the characters in a class, e.g. [A-Za-zÀ-ÿ]',
    ],
    ['[\\B]', ' at offset 1 (…"\\\\B]"): \\B is not valid inside a class'],
    ['\\', ' at offset 0 (…"\\\\"): pattern ends with a lone backslash'],
    [
      '(?P<x>a)',
      ' at offset 0 (…"(?P<x>a)"): unsupported group syntax \'(?\'; use ( ), (?: ) or (?<name> ) — inline flags are not supported, write [Aa] for case variants',
    ],
    [
      '(?<1x>a)',
      ' at offset 0 (…"(?<1x>a)"): unsupported group syntax \'(?\'; use ( ), (?: ) or (?<name> ) — inline flags are not supported, write [Aa] for case variants',
    ],
    [
      'a{2,}',
      ' at offset 1 (…"{2,}"): unbounded quantifier \'{2,}\': give it an upper bound, e.g. {1,64} instead of + or {0,64} instead of * (a custom match is at most 256 characters, which is also the most a streamed response holds back for it)',
    ],
    ['a{1,2}{2}', ' at offset 6 (…"{2}"): a quantifier cannot follow another quantifier; wrap the first in (?: )'],
    ['a??', ' at offset 2 (…"?"): lazy quantifiers are not supported: custom patterns always mask the longest match; remove the \'?\''],
    ['a{2}*', ' at offset 4 (…"*"): a quantifier cannot follow another quantifier; wrap the first in (?: )'],
    ['a?+', ' at offset 2 (…"+"): a quantifier cannot follow another quantifier; wrap the first in (?: )'],
    [
      '(?=a)',
      ' at offset 0 (…"(?=a)"): lookahead and lookbehind are not supported (they cannot be matched in linear time); match the surrounding text explicitly, or use \\b for a word boundary',
    ],
    [
      '(?!a)b',
      ' at offset 0 (…"(?!a)b"): lookahead and lookbehind are not supported (they cannot be matched in linear time); match the surrounding text explicitly, or use \\b for a word boundary',
    ],
    [
      '(?<=a)b',
      ' at offset 0 (…"(?<=a)b"): lookahead and lookbehind are not supported (they cannot be matched in linear time); match the surrounding text explicitly, or use \\b for a word boundary',
    ],
    [
      '\\1',
      ' at offset 0 (…"\\\\1"): backreferences are not supported (they cannot be matched in linear time); repeat the sub-pattern instead',
    ],
    [
      '\\9',
      ' at offset 0 (…"\\\\9"): backreferences are not supported (they cannot be matched in linear time); repeat the sub-pattern instead',
    ],
    ['a$', ' at offset 1 (…"$"): anchor \'$\' is not supported: responses are scanned as running text; use \\b to require a word boundary'],
    [
      'a|^b',
      ' at offset 2 (…"^b"): anchor \'^\' is not supported: responses are scanned as running text; use \\b to require a word boundary',
    ],
    ['[]', ' at offset 0 (…"[]"): empty class [] matches nothing; write \\] for a literal bracket'],
    ['ab)', ' at offset 2 (…")"): unmatched \')\''],
    ['(a', ' at offset 0 (…"(a"): missing \')\''],
    ['\\q', ' at offset 0 (…"\\\\q"): unknown escape \'\\q\''],
    ['a{99999}', ' at offset 1 (…"{99999}"): \'{\' does not start a quantifier {n}, {n,m}; write \\{ for a literal brace'],
    ['a{1,300}', ' at offset 1 (…"{1,300}"): quantifier {1,300} allows more than 256 repetitions'],
    ['\\b?', ' at offset 2 (…"?"): nothing to repeat: \\b and \\B match no characters'],
    ['\\B{2}', ' at offset 2 (…"{2}"): nothing to repeat: \\b and \\B match no characters'],
    ['x{1,256}y', ': the pattern can match up to 257 characters; the limit is 256: lower the upper bounds of its quantifiers'],
    // Malformed patterns whose validation the mutation run found untested: each regex of the
    // parser is anchored at the current position, and a class's edges are read exactly.
    ['a{x}{2}', ' at offset 1 (…"{x}{2}"): \'{\' does not start a quantifier {n}, {n,m}; write \\{ for a literal brace'],
    ['a{2,x}{3}', ' at offset 1 (…"{2,x}{3}"): \'{\' does not start a quantifier {n}, {n,m}; write \\{ for a literal brace'],
    ['{x{2}', ' at offset 0 (…"{x{2}"): write \\{ for a literal brace'],
    [
      '(?i)(?<n>a)',
      ' at offset 0 (…"(?i)(?<n>a)"): unsupported group syntax \'(?\'; use ( ), (?: ) or (?<name> ) — inline flags are not supported, write [Aa] for case variants',
    ],
    ['\\xg12', ' at offset 0 (…"\\\\xg12"): \\x needs two hex digits'],
    ['\\x4g', ' at offset 0 (…"\\\\x4g"): \\x needs two hex digits'],
    ['\\ug1234', ' at offset 0 (…"\\\\ug1234"): \\u needs four hex digits (\\u{…} is not supported)'],
    ['\\u123g', ' at offset 0 (…"\\\\u123g"): \\u needs four hex digits (\\u{…} is not supported)'],
    ['x[^]', ' at offset 1 (…"[^]"): empty class [] matches nothing; write \\] for a literal bracket'],
    ['[^', ' at offset 0 (…"[^"): missing \']\''],
    ['[a-', ' at offset 0 (…"[a-"): missing \']\''],
    ['x[a-', ' at offset 1 (…"[a-"): missing \']\''],
  ])('%j', (pattern, message) => {
    expect(() => compile(pattern)).toThrow(`f: custom pattern "t"${message}`);
    try {
      compile(pattern);
    } catch (e) {
      expect((e as Error).message).toBe(`f: custom pattern "t"${message}`);
    }
  });
});

describe('what each escape, class and group matches', () => {
  it.each([
    ['\\D', '12a', [2, 3]],
    ['\\W', 'ab_!', [3, 4]],
    ['\\S', '  \u00a0x', [3, 4]],
    ['\\s', 'ab\u2028', [2, 3]],
    ['\\s', 'ab\ufeff', [2, 3]],
    ['\\t', 'a\tb', [1, 2]],
    ['\\n', 'a\nb', [1, 2]],
    ['\\v', 'a\vb', [1, 2]],
    ['\\f', 'a\fb', [1, 2]],
    ['\\r', 'a\rb', [1, 2]],
    ['\\0', 'a\0b', [1, 2]],
    ['[\\b]', 'a\bb', [1, 2]],
    ['\\x41', 'zA', [1, 2]],
    ['\\u00e9', 'xé', [1, 2]],
    ['\\.', 'a.b', [1, 2]],
    ['\\-', 'a-b', [1, 2]],
    ['[À-ÿ]{2}', 'aéèb', [1, 3]],
    ['[^a]', 'aaé', [2, 3]],
    ['[\\u0100-\\u0110\\u0200-\\u0210]', 'a\u00ff\u0111\u0150\u0205', [4, 5]],
    ['[\\u0100-\\u0110\\u0200-\\u0210]', '\u0111\u0150\u0211\uffff', -1],
    ['[\\u0100-\\u0110\\u0200-\\u0210]', '\u0111\u0110', [1, 2]],
    ['[\\u0100-\\u0110\\u0200-\\u0210]', '\u00ff\u0100', [1, 2]],
    ['[\\u0100-\\u0110\\u0200-\\u0210]', '\u01ff\u0200', [1, 2]],
    ['[\\u0100-\\u0110\\u0200-\\u0210]', '\u01ff\u0210', [1, 2]],
    ['x[\\u0100-\\u0110]', 'x\u00ffx\u0111x\u0100', [4, 6]],
    ['[a-zb]', 'z', [0, 1]], // a range inside another one does not shrink it
    ['[\\u007f-\\u0080]', 'a\u0080', [1, 2]], // a range ending at 128
    ['[\\u0080]', 'a\u007f\u0080', [2, 3]],
    ['[za]', 'a', [0, 1]],
    ['[\\u0200-\\u0210\\u0100-\\u0110]', '\u0105', [0, 1]],
    ['[^\\x00-\\ufffe]', 'a\uffff', [1, 2]],
    ['[\\x70-\\u0090]', '\u0091x\u0080', [1, 2]], // a range across ASCII's end
    ['[\\x70-\\u0090]{2}', 'ox\u0080', [1, 3]],
    ['[^\\u0080-\\u00ff]', '\u00ffa', [1, 2]],
    ['[^a]{2}', 'aa\u00e9\u00e9', [2, 4]],
    ['x[\\u0100-\\u0110\\u0200-\\u0210]', 'x\u0150x\u0211x\u0210', [4, 6]],
    ['[é]x', 'aéé éx', [4, 6]],
    ['.', '\n\r\u2028\u2029a', [4, 5]],
    ['[^\\n]', '\nb', [1, 2]],
    ['[\\w.-]{1,3}@c', 'ab.@c', [0, 5]],
    ['[a-]', 'x-', [1, 2]],
    ['[-a]', 'x-', [1, 2]],
    ['[a\\-z]', 'bz', [1, 2]],
    ['[\\d-]', 'x-', [1, 2]],
    ['\\w{2}', 'é_a', [1, 3]],
    ['[\\uffff]', 'a\uffff', [1, 2]],
    ['\\{\\}\\]', 'x{}]', [1, 4]],
    ['\\bab\\b', 'xab ab', [4, 6]],
    ['\\Bab', 'ab xab', [4, 6]],
    ['ab\\b', 'abc ab', [4, 6]],
    ['ab\\B', 'ab abc', [3, 5]],
    ['a{2}', 'a aa', [2, 4]],
    ['(?<n>ab){2}', 'ab abab', [3, 7]],
    ['a|ab|abc', 'xabc', [1, 4]],
    ['(?:a|b){1,3}c', 'bbbbc', [1, 5]],
    ['[a-a]', 'bab', [1, 2]], // a range of one character
    ['[b-b]{2}', 'abbb', [1, 3]],
    ['[a:]', 'x:', [1, 2]], // ':' after a character is no POSIX class
    ['[[]', 'x[', [1, 2]], // nor is '[' alone
    ['[[a]', 'xa', [1, 2]],
    ['[^^]', '^^x', [2, 3]],
    ['x[^a]', 'xaxb', [2, 4]],
    ['(?<_x>a)', 'ba', [1, 2]],
    ['(?<$x>a)', 'ba', [1, 2]],
    ['(?<ab9>a)b', 'xab', [1, 3]],
    ['\\x4a', 'J', [0, 1]],
    ['\\x4A1', 'J1', [0, 2]],
    ['\\u004a1', 'J1', [0, 2]],
  ])('%j in %j', (p, s, want) => expect(find(p, s)).toEqual(want));
});

describe('sizes: shortest and longest match, states, how far a match may read', () => {
  it.each([
    ['a', 1, 1, 2, 2],
    ['ab', 2, 2, 3, 3],
    ['a|bc', 1, 2, 5, 3],
    ['a{2,4}', 2, 4, 7, 5],
    ['(?:ab|c){1,3}', 1, 6, 15, 7],
    ['\\ba\\b', 1, 1, 4, 2],
    ['a?b', 1, 2, 4, 3],
    ['[a-z]{2,8}-[0-9]{4}', 7, 13, 20, 14],
    ['(?:a|b|c|d|e|f|g|h){1,16}', 1, 16, 256, 17],
    ['x(?:a|bc)?y{0,2}z', 2, 6, 12, 7],
  ])('%j', (p, minLen, maxMatch, states, maxLen) => {
    expect(compile(p)).toMatchObject({ minLen, maxMatch, states, maxLen });
  });

  it('counts the states of the expanded pattern against the limit of 2048', () => {
    expect(compile('(?:(?:a|b|c|d|e|f|g)x){1,128}').maxMatch).toBe(256);
    expect(() => compile('(?:(?:a|b|c|d|e|f|g)x\\b){1,128}')).toThrow(
      'f: custom pattern "t": the pattern is too large once its repetitions are expanded (2176 states, limit 2048); use smaller bounds',
    );
    expect(() => compile('(?:(?:a|b|c|d|e|f|g)x){0,128}y')).toThrow(
      'f: custom pattern "t": the pattern can match up to 257 characters; the limit is 256: lower the upper bounds of its quantifiers',
    );
  });
});

describe('find() with a required literal', () => {
  it.each([
    ['[a-z]{2,8}-[0-9]{4}', 'x-1 ab-12 cd-1234', [10, 17]],
    ['[a-z]{2,8}-[0-9]{4}', 'abcdefghij-1234', [2, 15]],
    ['[a-z]{0,3}-[0-9]{2}', 'q-12', [0, 4]],
    ['ab[0-9]{2}cd', 'ab1 ab12c ab12cd', [10, 16]],
    ['x[0-9]{1,3}yz', 'x1yx12yz', [3, 8]],
    ['(?:ab|cd)[0-9]{2}', 'cd12', [0, 4]],
    ['[0-9]{2}', 'a1b23', [3, 5]],
    ['TCK-[0-9]{6}', 'TCK-12345 TCK-123456', [10, 20]],
    ['[a-z]{1,3}-[a-z]{1,3}-x', 'ab-c-d-x', [3, 8]],
  ])('%j in %j', (p, s, want) => expect(find(p, s)).toEqual(want));

  it('starts at `from`', () => {
    expect(find('[0-9]{2}', 'a12b34', 2)).toEqual([4, 6]);
    expect(find('ab', 'abab', 1)).toEqual([2, 4]);
    expect(find('[a-z]{2,8}-[0-9]{4}', 'ab-1234 cd-5678', 1)).toEqual([8, 15]); // one letter left at 1
    expect(find('[a-z]{2,8}-[0-9]{4}', 'xab-1234 cd-5678', 1)).toEqual([1, 8]);
    expect(find('ab', 'abab', 4)).toBe(-1);
  });
});

describe('hold(): the first attempt more text could change', () => {
  it.each([
    ['TCK-[0-9]{6}', 'see TCK-12', 0, 10, 4],
    ['TCK-[0-9]{6}', 'see TCK-123456', 0, 14, 14],
    ['TCK-[0-9]{6}', 'see TCK-123456', 0, 5, 5],
    ['TCK-[0-9]{6}', 'see TCK-12', 0, 4, 4],
    ['TCK-[0-9]{6}', 'see TCK-12', 0, 3, 3],
    ['TCK-[0-9]{6}', 'see TCK-12', 5, 10, 10],
    ['TCK-[0-9]{6}', 'see TC', 0, 6, 4],
    ['TCK-[0-9]{6}', 'see TX', 0, 6, 6],
    ['TCK-[0-9]{2}\\b', 'x TCK-12', 0, 8, 2],
    ['TCK-[0-9]{2}\\b', 'x TCK-12', 0, 1, 1],
    ['TCK-[0-9]{2}\\b', 'x TCK-12 ', 0, 9, 9],
    ['[0-9]{2,4}', 'a 12', 0, 4, 2],
    ['[0-9]{2,4}', 'a 1234', 0, 6, 3],
    ['\\bab', 'x', 0, 1, 1],
    ['ab\\B', 'ab', 0, 2, 0],
    ['x{1,3}', 'a x xx', 0, 6, 4],
    ['a[0-9]{3}', 'a1 a12', 0, 6, 3],
    ['a[0-9]{3}', 'a1 a12', 0, 3, 3],
    ['a[0-9]{3}', 'a1 a12', 0, 20, 3],
  ])('%j: hold(%j, %i, %i) = %i', (p, s, from, upTo, want) => {
    expect(compile(p).hold(s, from, upTo)).toBe(want);
  });

  it('looks back at most the longest match (plus one character)', () => {
    const long = `${'y'.repeat(300)} TCK-12`;
    expect(compile('TCK-[0-9]{6}').hold(long, 0, long.length)).toBe(301);
    expect(compile('[y ]{1,3}TCK-[0-9]{6}').hold(long, 0, long.length)).toBe(298);
  });

  it('a held pattern after an assertion keeps its answer for the next find()', () => {
    const d = compile('ab\\b');
    expect(d.hold('x ab', 0, 4)).toBe(2);
    const span = { start: 0, end: 0 };
    expect(d.find('x ab', 0, span)).toBe(2);
    expect(span).toEqual({ start: 2, end: 4 });
    expect(d.find('x abc', 0, span)).toBe(-1);
  });
});

describe('masking with custom patterns', () => {
  it('right after another mask, \\b at the start of a pattern sees a boundary', () => {
    const m = compileMasking({
      custom: [
        { name: 'k', pattern: 'K[0-9]{2}' },
        { name: 'ref', pattern: '\\bREF-[0-9]{3}' },
        { name: 'mid', pattern: '\\BZZ[0-9]{2}' },
      ],
    });
    expect(m.maskText('K12REF-123 xREF-123 REF-123 aZZ12 ZZ12 K12ZZ12').text).toBe(
      '[MASKED:k][MASKED:ref] xREF-123 [MASKED:ref] a[MASKED:mid] ZZ12 [MASKED:k][MASKED:mid]',
    );
  });
});
