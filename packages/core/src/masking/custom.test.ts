import fc from 'fast-check';
import { compileCustomPattern } from './custom.ts';
import { CUSTOM_MAX_MATCH } from './custom-parser.ts';
import { compileMasking, MaskingConfigError } from './index.ts';

const compile = (p: string) => compileCustomPattern('t', p, 'data.custom[0].pattern');

describe('custom pattern validation: rejected with a message that says what to write instead', () => {
  it.each([
    ['(a)\\1', /backreferences are not supported.*repeat the sub-pattern/],
    ['(?<x>a)\\k<x>', /backreferences are not supported/],
    ['a(?=b)', /lookahead and lookbehind are not supported.*\\b/],
    ['(?<!x)a', /lookahead and lookbehind are not supported/],
    ['^TCK', /anchor '\^' is not supported.*use \\b/],
    ['TCK$', /anchor '\$' is not supported/],
    ['TCK-[0-9]+', /unbounded quantifier '\+'.*\{1,64\}/],
    ['a*b', /unbounded quantifier '\*'/],
    ['a{2,}', /unbounded quantifier '\{2,\}'/],
    ['a{1,5}?', /lazy quantifiers are not supported/],
    ['\\p{L}', /unicode property escapes/],
    ['(?i)abc', /inline flags are not supported.*\[Aa\]/],
    ['', /the pattern is empty/],
    ['a?', /can match empty text/],
    ['[a-z]{1,200}[0-9]{1,100}', new RegExp(`up to 300 characters; the limit is ${CUSTOM_MAX_MATCH}`)],
    ['a{1,300}', /allows more than 256 repetitions/],
    ['\\q', /unknown escape '\\q'/],
    ['(ab', /missing '\)'/],
    ['ab)', /unmatched '\)'/],
    ['[]', /empty class/],
    ['[z-a]', /class range out of order/],
    ['a{x}', /write \\\{ for a literal brace/],
    ['a{2}{3}', /a quantifier cannot follow another quantifier/],
    ['\\b{2}', /nothing to repeat/],
    ['(?:(?:a|b|c|d|e|f|g|h){1,16}){1,16}', /too large once its repetitions are expanded/],
  ])('%j', (pattern, message) => {
    let err: unknown;
    try {
      compile(pattern);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MaskingConfigError);
    expect((err as MaskingConfigError).field).toBe('data.custom[0].pattern');
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/^data\.custom\[0\]\.pattern: custom pattern "t"/);
  });

  it('accepts the documented subset', () => {
    for (const p of [
      'TCK-[0-9]{6}',
      '\\b(?:ACME|acme)-[A-Z0-9]{4,12}\\b',
      '[^\\s]{8}',
      '(?<id>EMP)\\d{5}',
      'x\\.y\\x41\\u00e9',
      '[\\w.-]{1,20}@corp',
      '.{3}!',
    ]) {
      expect(() => compile(p)).not.toThrow();
    }
    expect(compile('TCK-[0-9]{6}')).toMatchObject({ minLen: 10, maxMatch: 10, category: 't' });
  });
});

/** Leftmost-longest by brute force with V8's own engine, on slices (no \b in these patterns). */
function reference(pattern: string, s: string, from: number, maxLen: number): [number, number] | null {
  const re = new RegExp(`^(?:${pattern})$`);
  for (let q = from; q < s.length; q++) {
    for (let e = Math.min(s.length, q + maxLen); e > q; e--) if (re.test(s.slice(q, e))) return [q, e];
  }
  return null;
}

const atom = fc.constantFrom('a', 'b', '1', '[ab]', '[^a]', '\\d', '.', '\\s', '(?:ab|a)', '(?:a|b1)', '[a-c1]');
const quant = fc.constantFrom('', '', '?', '{2}', '{1,3}', '{0,2}', '{2,4}');
const patternArb = fc
  .array(fc.tuple(atom, quant), { minLength: 1, maxLength: 4 })
  .map((xs) => xs.map(([a, q]) => a + q).join(''))
  .chain((p) => fc.oneof(fc.constant(p), fc.constant(`(?:${p})|b{2}`), fc.constant(`(?:${p}){1,2}`)))
  .filter((p) => {
    try {
      compile(p);
      return true;
    } catch {
      return false;
    }
  });

describe('custom pattern matching', () => {
  it('finds the leftmost-longest match, like a brute-force search with V8 regexes (property)', () => {
    fc.assert(
      fc.property(
        patternArb,
        fc.string({ unit: fc.constantFrom('a', 'b', '1', ' ', '\n', 'c'), maxLength: 30 }),
        fc.nat(5),
        (p, s, from0) => {
          const d = compile(p);
          const from = Math.min(from0, s.length);
          const span = { start: 0, end: 0 };
          const q = d.find(s, from, span);
          const ref = reference(p, s, from, d.maxMatch);
          if (ref === null) expect(q).toBe(-1);
          else expect([span.start, span.end]).toEqual(ref);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('honours \\b and \\B', () => {
    const m = compileMasking({
      custom: [
        { name: 'acme', pattern: '\\bACME-[0-9]{2}\\b' },
        { name: 'mid', pattern: '\\Bxy\\B' },
      ],
    });
    expect(m.maskText('ACME-12 xACME-12 ACME-123 (ACME-99) axyb xy').text).toBe(
      '[MASKED:acme] xACME-12 ACME-123 ([MASKED:acme]) a[MASKED:mid]b xy',
    );
  });

  it('masks and blocks under its own name', () => {
    const m = compileMasking({
      custom: [
        { name: 'ticket-id', pattern: 'TCK-[0-9]{6}' },
        { name: 'codename', pattern: 'Project (?:Bluebird|Nightjar)', action: 'block' },
      ],
    });
    expect(m.maskText('see TCK-123456 / TCK-12345').text).toBe('see [MASKED:ticket-id] / TCK-12345');
    const r = m.maskText('about Project Nightjar');
    expect(r).toMatchObject({ text: 'about [MASKED:codename]', blocked: 'codename', counts: { codename: 1 } });
  });

  it('stays linear on patterns that make a backtracking engine explode', () => {
    // (a|a){1,50}b would backtrack 2^50 ways per position in a backtracking engine
    const d = compile('(?:a|a){1,50}b');
    const span = { start: 0, end: 0 };
    const time = (n: number) => {
      const s = 'a'.repeat(n);
      const t0 = performance.now();
      expect(d.find(s, 0, span)).toBe(-1);
      return performance.now() - t0;
    };
    time(2_000);
    const t1 = time(20_000);
    const t2 = time(80_000);
    expect(t2 < 100 || t2 / t1 < 10).toBe(true);
  });
});
