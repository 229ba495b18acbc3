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

  test('a member named __proto__ is a member like any other, and no path reaches Object.prototype', () => {
    const to = JSON.parse('{"root":{"__proto__":{"x":1}}}') as unknown;
    const ops = diffPatch({ root: {} }, to);
    expect(ops).toEqual([{ op: 'add', path: '/root/__proto__', value: { x: 1 } }]);
    const out = applyPatch({ root: {} }, ops) as { root: object };
    expect(Object.hasOwn(out.root, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(out.root)).toBe(Object.prototype);
    expect(out).toEqual(to);
    expect(applyPatch(out, [{ op: 'replace', path: '/root/__proto__', value: 2 }])).toEqual(JSON.parse('{"root":{"__proto__":2}}'));
    expect(applyPatch(out, [{ op: 'remove', path: '/root/__proto__' }])).toEqual({ root: {} });
    for (const path of ['/__proto__/polluted', '/root/constructor/prototype/polluted', '/root/toString/x']) {
      expect(() => applyPatch({ root: {} }, [{ op: 'add', path, value: 1 }])).toThrow(/parent does not exist/);
    }
    expect(() => applyPatch({ root: {} }, [{ op: 'remove', path: '/root/toString' }])).toThrow(/no such member/);
    expect(() => applyPatch({ root: {} }, [{ op: 'test', path: '/root/constructor', value: {} }])).toThrow(/failed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
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
