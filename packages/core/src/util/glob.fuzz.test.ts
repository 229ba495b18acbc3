// Property tests of the glob matcher: it never throws on any input and agrees with a reference
// built from regular expressions (which the matcher itself avoids, so scope authors cannot write
// a pattern that backtracks).
import fc from 'fast-check';
import { globProblem, matchAnyName, matchName, matchPath } from './glob.ts';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** '*' is any run of characters (also '/' and line breaks), everything else literal. */
function nameRegex(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escape).join('[\\s\\S]*')}$`);
}

/** Segments: '*' stays inside a segment, a '**' segment is zero or more whole segments. */
function pathRegex(pattern: string): RegExp {
  const body = pattern
    .split('/')
    .map((seg) => (seg === '**' ? '(?:/[^/]*)*' : `/${seg.split('*').map(escape).join('[^/]*')}`))
    .join('');
  return new RegExp(`^${body}$`);
}
const pathAsSegments = (path: string) =>
  path
    .split('/')
    .map((s) => `/${s}`)
    .join('');

// Small alphabets make matches (and near misses) common; the full-unicode runs look for throws.
const nameChar = fc.constantFrom('a', 'b', '-', '.', '4', '\n', 'é', '*');
const namePattern = fc.string({ unit: nameChar, maxLength: 10 });
const nameText = fc.string({ unit: fc.constantFrom('a', 'b', '-', '.', '4', '\n', 'é', '*'), maxLength: 12 });
const segment = fc.oneof(
  fc.constantFrom('**', '*', '', 'a', 'b', 'a*', '*b', 'a*b', 'customers', '..'),
  fc.string({ unit: fc.constantFrom('a', 'b', '*', '.'), maxLength: 4 }),
);
const pathPattern = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join('/'));
const pathText = fc
  .array(fc.constantFrom('', 'a', 'b', 'ab', 'aab', 'customers', '..', '*', 'x.y'), { minLength: 1, maxLength: 7 })
  .map((s) => s.join('/'));

describe('matchName', () => {
  test('agrees with the reference regex', () => {
    fc.assert(
      fc.property(namePattern, nameText, (p, t) => {
        expect(matchName(p, t)).toBe(nameRegex(p).test(t));
      }),
      { numRuns: 3000 },
    );
  });

  test('never throws on arbitrary strings; matchAnyName is the OR of matchName', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 16 }), { maxLength: 4 }),
        fc.string({ unit: 'grapheme', maxLength: 24 }),
        (ps, t) => {
          expect(matchAnyName(ps, t)).toBe(ps.some((p) => matchName(p, t)));
          for (const p of ps) {
            expect(typeof globProblem(p) === 'string' || globProblem(p) === undefined).toBe(true);
            expect(matchName(p, t)).toBe(nameRegex(p).test(t));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('a pattern built to backtrack stays fast', () => {
    const p = `${'a*'.repeat(40)}b`;
    const t = 'a'.repeat(5000);
    const t0 = process.cpuUsage();
    expect(matchName(p, t)).toBe(false);
    // CPU time, not wall time: backtracking would take ages of it; other work on the machine adds none.
    const cpu = process.cpuUsage(t0);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(1000);
  });
});

describe('matchPath', () => {
  test('agrees with the reference regex', () => {
    fc.assert(
      fc.property(pathPattern, pathText, (p, t) => {
        expect(matchPath(p, t)).toBe(pathRegex(p).test(pathAsSegments(t)));
      }),
      { numRuns: 3000 },
    );
  });

  test('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 60 }), (p, t) => {
        expect(typeof matchPath(p, t)).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });

  test('"/customers/**" never lets a traversal-looking path out of /customers', () => {
    fc.assert(
      fc.property(pathText, (t) => {
        if (matchPath('/customers/**', t)) expect(t === '/customers' || t.startsWith('/customers/')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
