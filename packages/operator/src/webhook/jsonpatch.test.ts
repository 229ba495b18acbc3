import fc from 'fast-check';
import { applyPatch, canonicalJson, diffPatch, jsonEqual } from './jsonpatch.ts';

describe('diffPatch', () => {
  test('applying the diff of two JSON values gives the second, and equal values give no operation', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const doc = { root: a };
        const to = { root: b };
        expect(applyPatch(doc, diffPatch(doc, to))).toEqual(JSON.parse(JSON.stringify(to)));
        expect(diffPatch(doc, structuredClone(doc))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('members are added, removed and changed by path; keys with / and ~ are escaped; unequal arrays are replaced', () => {
    expect(diffPatch({ a: 1, 'x/y': 1, 'm~n': [1, 2] }, { a: 2, b: { c: 1 }, 'm~n': [1] })).toEqual([
      { op: 'remove', path: '/x~1y' },
      { op: 'replace', path: '/a', value: 2 },
      { op: 'add', path: '/b', value: { c: 1 } },
      { op: 'replace', path: '/m~0n', value: [1] },
    ]);
  });
});

test('jsonEqual agrees with canonicalJson on arbitrary JSON (undefined members count as absent)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
      expect(jsonEqual(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
      expect(jsonEqual(a, structuredClone(a))).toBe(true);
    }),
    { numRuns: 500 },
  );
  expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
  expect(jsonEqual({ a: 1 }, { a: 1, toString: 1 })).toBe(false);
});
