// maskFields JSONPath at its edges: what each selector reaches (and what it must not: inherited
// members, the wrong container type, an index past the end), deep selection without double
// counting, quoted names with escapes, and where a malformed path is wrong.
import { applyJsonPaths, parseJsonPath } from './jsonpath.ts';

const mask = (doc: unknown, ...paths: string[]) =>
  applyJsonPaths(
    doc,
    paths.map((p) => parseJsonPath(p)),
    'M',
  );

describe('what a path reaches', () => {
  test.each<[string, string, unknown, unknown, number]>([
    ['an index of an array', '$.l[2]', { l: [1, 2, 3] }, { l: [1, 2, 'M'] }, 1],
    ['an index past the end: nothing', '$.l[2]', { l: [1, 2] }, { l: [1, 2] }, 0],
    ['an index of an object: nothing', '$.o[0]', { o: { 0: 'x' } }, { o: { 0: 'x' } }, 0],
    ['a name on an array: nothing', '$.l.a', { l: [{ a: 1 }] }, { l: [{ a: 1 }] }, 0],
    ['[*] of an object: every member', '$.o[*]', { o: { a: 1, b: { c: 2 } } }, { o: { a: 'M', b: 'M' } }, 2],
    ['[*] of an array: every element', '$.l[*]', { l: [1, [2]] }, { l: ['M', 'M'] }, 2],
    ['a member whose value is null', '$.a', { a: null, b: false }, { a: 'M', b: false }, 1],
    ['through a scalar: nothing', '$.a.b', { a: 'text' }, { a: 'text' }, 0],
  ])('%s (%s)', (_name, path, doc, expected, replaced) => {
    expect(mask(doc, path)).toEqual({ root: expected, replaced });
  });

  test('inherited members are not members: $.constructor and $.toString select nothing', () => {
    expect(mask({ a: 1 }, '$.constructor', '$.toString', '$..__proto__')).toEqual({ root: { a: 1 }, replaced: 0 });
  });

  test('$..name at every depth, and a selected value is not searched again', () => {
    const doc = { s: { s: { s: 1 } }, l: [{ s: 2 }] };
    expect(mask(doc, '$..s')).toEqual({ root: { s: 'M', l: [{ s: 'M' }] }, replaced: 2 });
    expect(mask({ l: [[1], [2, [3]]] }, '$..[0]')).toEqual({ root: { l: ['M', ['M', ['M']]] }, replaced: 3 });
    expect(mask({ a: { b: { c: 1 } } }, '$..*')).toEqual({ root: { a: 'M' }, replaced: 1 });
    expect(mask({ a: { b: 1 } }, "$..['b']")).toEqual({ root: { a: { b: 'M' } }, replaced: 1 });
  });

  test('$..a.b: b under any a', () => {
    expect(mask({ x: { a: { b: 1 } }, a: { b: 2, c: 3 } }, '$..a.b')).toEqual({
      root: { x: { a: { b: 'M' } }, a: { b: 'M', c: 3 } },
      replaced: 2,
    });
  });

  test('several paths: a value already masked is not counted again; $ masks the root once', () => {
    expect(mask({ a: 1 }, '$.a', '$.a')).toEqual({ root: { a: 'M' }, replaced: 2 });
    expect(mask({ a: 1 }, '$', '$')).toEqual({ root: 'M', replaced: 1 });
    expect(mask('M', '$')).toEqual({ root: 'M', replaced: 0 });
  });

  test('a raw JSON value (JSON.rawJSON) is a leaf, not a container', () => {
    const raw = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON('12345678901234567890');
    expect(mask({ n: raw }, '$.n')).toEqual({ root: { n: 'M' }, replaced: 1 });
    expect(mask({ n: raw }, '$.n.x', '$..*.x')).toEqual({ root: { n: raw }, replaced: 0 });
  });
});

describe('names', () => {
  test.each([
    ['$.a_b', { a_b: 1 }],
    ['$.$x', { $x: 1 }],
    ['$.a-b', { 'a-b': 1 }],
    ['$.A9', { A9: 1 }],
    ["$['a b']", { 'a b': 1 }],
    ['$["a.b"]', { 'a.b': 1 }],
    ["$['it\\'s']", { "it's": 1 }],
    ["$['a\\\\b']", { 'a\\b': 1 }],
    ["$['']", { '': 1 }],
    ["$['a[1]']", { 'a[1]': 1, a: [0, 2] }],
    ['$.l[12]', { l: Array.from({ length: 13 }, (_, i) => i) }],
  ])('%s', (path, doc) => {
    expect(mask(doc, path).replaced).toBe(1);
  });
});

describe('malformed paths say where', () => {
  const SUPPORTED = "Supported: $.a.b, $.a[*].b, $.a[0], $..b, $['a b']";
  test.each([
    ['a.b', 0, "a path starts with '$'"],
    ['', 0, "a path starts with '$'"],
    ['$a', 1, "expected '.', '..' or '['"],
    ['$.', 2, "expected a member name (use ['…'] for names with other characters)"],
    ['$.1a', 2, "expected a member name (use ['…'] for names with other characters)"],
    ['$..', 3, "expected a member name (use ['…'] for names with other characters)"],
    ['$.a[', 3, "expected [*], [<index>] or ['<name>']"],
    ['$.a[-1]', 3, "expected [*], [<index>] or ['<name>']"],
    ['$.a[1234567890]', 3, "expected [*], [<index>] or ['<name>']"],
    ["$['x", 1, 'unterminated quoted name'],
    ["$['x\\", 4, 'unterminated escape'],
    ["$['x'", 5, "expected ']'"],
    ["$['x'b]", 5, "expected ']'"],
    ["$..['x'", 7, "expected ']'"],
  ])('%j: offset %i', (path, at, what) => {
    expect(() => parseJsonPath(path, 'f')).toThrow(`f: JSONPath ${JSON.stringify(path)} at offset ${at}: ${what}. ${SUPPORTED}`);
  });

  test('the field named by default is maskFields', () => {
    expect(() => parseJsonPath('x')).toThrow(/^maskFields: JSONPath "x" at offset 0/);
  });
});
