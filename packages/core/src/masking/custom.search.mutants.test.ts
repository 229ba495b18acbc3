// Custom patterns at the edges the mutation run of custom.ts left untested (docs/testing.md,
// "Mutation testing"): which characters \b counts as word characters, classes whose ranges
// overlap, the leftmost-longest choice of find(), the exact answer of hold() when several
// assertions wait for the next character, and a few parser edges. Exact outputs throughout.
import { compileCustomPattern } from './custom.ts';
import { compileMasking } from './index.ts';

const compile = (p: string) => compileCustomPattern('t', p, 'f');
/** The masked span [start, end) of the leftmost-longest match at or after `from`, or -1. */
function find(p: string, s: string, from = 0): number | number[] {
  const span = { start: -1, end: -1 };
  return compile(p).find(s, from, span) < 0 ? -1 : [span.start, span.end];
}

describe('\\b: the word characters are exactly [0-9A-Za-z_]', () => {
  // ' \b.' matches " X" only when X is a word character
  it.each([
    ['/', false],
    ['0', true],
    ['9', true],
    [':', false],
    ['@', false],
    ['A', true],
    ['Z', true],
    ['[', false],
    ['^', false],
    ['_', true],
    ['`', false],
    ['a', true],
    ['z', true],
    ['{', false],
    ['é', false],
  ])('%j is a word character: %s', (c, word) => {
    expect(find(' \\b.', ` ${c}`)).toEqual(word ? [0, 2] : -1);
    expect(find(' \\B.', ` ${c}`)).toEqual(word ? -1 : [0, 2]);
  });
});

describe('classes whose ranges overlap or touch', () => {
  it.each([
    ['[^a-eb-c]', 'cdx', [2, 3]],
    ['[^a-eb-c]{2}', 'abcdefg', [5, 7]],
    ['[^b-ca-e]', 'eaf', [2, 3]],
    ['[^a-cc-e]', 'cef', [2, 3]],
    ['[^a-cd-e]', 'dbf', [2, 3]],
    ['[^\\u0100-\\u0120\\u0105-\\u0106]', '\u0110\u0106\u0121', [2, 3]],
    // two sets whose ranges joined without a separator read alike ("9797"): each keeps its own
    ['a[\\t-\\u031d]', 'bbab', [2, 4]],
    ['[\\t-\\u031d]a', 'bbba', [2, 4]],
  ])('%j in %j', (p, s, want) => expect(find(p, s)).toEqual(want));
});

describe('find(): leftmost, then longest', () => {
  it.each([
    ['ab|bcd', 'abcd', [0, 2]], // a longer match starting later loses
    ['ab|bcde', 'xabcde', [1, 3]],
    ['b|abc', 'abc', [0, 3]],
    ['a|ab|abc', 'abcabc', [0, 3]],
    ['(?:(?:a?)?)?b', 'ab', [0, 2]], // splits nested in splits: every branch is followed
    ['(?:(?:(?:a?)?)?)?b', 'xab', [1, 3]],
    ['x(?:(?:(?:a?)?)?)?b', 'xb xab', [0, 2]],
    ['(?:(?:(?:(?:(?:(?:a?)?)?)?)?)?)?b', 'ab', [0, 2]],
    ['(?:(?:(?:(?:(?:(?:(?:(?:a?)?)?)?)?)?)?)?)?b', 'xaab', [2, 4]],
  ])('%j in %j', (p, s, want) => expect(find(p, s)).toEqual(want));
});

describe('hold(): several assertions waiting for the next character', () => {
  it.each([
    ['ab\\b|b\\b', 'ab', 0, 2, 0],
    ['ab\\b|b\\b', 'xab', 0, 3, 1],
    ['b\\b|ab\\b', 'ab', 0, 2, 0],
    ['abc\\b|bc\\b|c\\b', 'abc', 0, 3, 0],
    ['ab\\b|b\\b', '0b cb', 0, 4, 4], // threads that ended two steps back are not read again
    ['ab\\b|b\\b', 'cKK2K2a', 2, 4, 4],
  ])('%j: hold(%j, %i, %i) = %i', (p, s, from, upTo, want) => {
    expect(compile(p).hold(s, from, upTo)).toBe(want);
  });
});

describe('hold() on a detector used before', () => {
  it('answers from this text alone', () => {
    const d = compile('a[0-9]{3}');
    expect(d.hold('a', 0, 1)).toBe(0);
    expect(d.hold('0', 0, 1)).toBe(1);
    expect(d.hold('xa1', 0, 3)).toBe(1);
    expect(d.hold('12', 0, 2)).toBe(2);
  });
});

describe('parser edges', () => {
  it('reads a quantifier bound of several digits', () => {
    expect(find('a{10}', 'a'.repeat(12))).toEqual([0, 10]);
    expect(find('a{10,12}', 'b'.repeat(3) + 'a'.repeat(14))).toEqual([3, 15]);
  });

  it('refuses a quantifier on a group holding only an assertion', () => {
    expect(() => compile('a(?:\\b){2}')).toThrow(
      'f: custom pattern "t" at offset 7 (…"{2}"): nothing to repeat: \\b and \\B match no characters',
    );
    expect(() => compile('a(\\B)?')).toThrow(
      'f: custom pattern "t" at offset 5 (…"?"): nothing to repeat: \\b and \\B match no characters',
    );
  });

  it("refuses a quantifier with nothing before it after '|' or '('", () => {
    expect(() => compile('a|{2}')).toThrow('f: custom pattern "t" at offset 2 (…"{2}"): nothing to repeat before \'{\'');
    expect(() => compile('(?:{2})')).toThrow('f: custom pattern "t" at offset 3 (…"{2})"): nothing to repeat before \'{\'');
  });
});

describe('masking: \\b at the start of a pattern, right after another mask', () => {
  it('reads the character before the attempt, not the one after it', () => {
    const m = compileMasking({
      custom: [
        { name: 'k', pattern: 'K[0-9]{2}' },
        { name: 'ref', pattern: '\\bR-[0-9]{2}' },
      ],
    });
    expect(m.maskText('K12R-12 xR-12 R-12').text).toBe('[MASKED:k][MASKED:ref] xR-12 [MASKED:ref]');
  });
});
