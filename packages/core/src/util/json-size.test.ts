import { JsonTooLargeError, MAX_JSON_VALUES, jsonValues, parseJson, thousands } from './json-size.ts';

/** What JSON.parse makes of `text`: every value, member and element, counted. */
function parsedValues(text: string): number {
  let n = 0;
  const walk = (v: unknown): void => {
    n++;
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
  };
  walk(JSON.parse(text));
  return n;
}

describe('jsonValues', () => {
  test.each([
    ['1', 1],
    ['"a,b{c[d"', 1],
    ['{}', 2],
    ['[]', 2],
    ['[1,2,3]', 4],
    ['{"a":1,"b":[true,null]}', 5],
    ['[{},{},{}]', 7],
    ['{"k\\"ey,{[":"v\\\\",  "x" : "\\\\\\",["}', 3],
  ])('%s counts %i', (text, count) => {
    expect(jsonValues(text)).toBe(count);
    // never fewer than JSON.parse makes
    expect(jsonValues(text)).toBeGreaterThanOrEqual(parsedValues(text));
  });

  test('commas and brackets inside strings, after escaped quotes and escaped backslashes, are not counted', () => {
    expect(jsonValues('["a\\\\", ",[{", "\\",,,"]')).toBe(4);
  });

  test('an unterminated string ends the count (JSON.parse refuses the text later)', () => {
    expect(jsonValues('[1,2,"3,4,5')).toBe(4);
    expect(jsonValues('"\\"')).toBe(1);
  });

  test('the count stops just past the limit', () => {
    const text = `[${'0,'.repeat(999)}0]`;
    expect(jsonValues(text)).toBe(1001);
    expect(jsonValues(text, 10)).toBe(11);
    expect(jsonValues(text, 1001)).toBe(1001);
  });

  test('the default limit is MAX_JSON_VALUES', () => {
    const text = `[${'0,'.repeat(MAX_JSON_VALUES + 5)}0]`;
    expect(jsonValues(text)).toBe(MAX_JSON_VALUES + 1);
  });
});

describe('parseJson', () => {
  test('parses a text of MAX_JSON_VALUES values, as JSON.parse does', () => {
    const text = `[${'0,'.repeat(MAX_JSON_VALUES - 2)}0]`;
    expect(jsonValues(text)).toBe(MAX_JSON_VALUES);
    expect((parseJson(text) as unknown[]).length).toBe(MAX_JSON_VALUES - 1);
  });

  test('refuses one more before parsing it, saying how many it takes at most', () => {
    const text = `[${'{},'.repeat(MAX_JSON_VALUES / 2)}{}]`;
    expect(() => parseJson(text)).toThrow(JsonTooLargeError);
    expect(() => parseJson(text)).toThrow('it holds more than 250,000 JSON values (objects, arrays, members and elements)');
  });

  test('the shortest text that can hold one value too many is still counted', () => {
    // the scan is skipped below MAX_JSON_VALUES characters: a count never exceeds the length + 1
    const text = `[${','.repeat(MAX_JSON_VALUES - 1)}`;
    expect(text.length).toBe(MAX_JSON_VALUES);
    expect(jsonValues(text)).toBe(MAX_JSON_VALUES + 1);
    expect(() => parseJson(text)).toThrow(JsonTooLargeError);
  });

  test('passes the reviver on, with its source context', () => {
    const seen: string[] = [];
    const v = parseJson('{"a":10.50}', (_k, value, context) => {
      if (typeof value === 'number') seen.push(context!.source!);
      return value;
    });
    expect(v).toEqual({ a: 10.5 });
    expect(seen).toEqual(['10.50']);
  });

  test('text that is not JSON throws SyntaxError, as JSON.parse does', () => {
    expect(() => parseJson('{"a":')).toThrow(SyntaxError);
  });
});

describe('thousands: numbers as en-US writes them, without loading ICU', () => {
  test.each([
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [1000, '1,000'],
    [25000, '25,000'],
    [250000, '250,000'],
    [1234567, '1,234,567'],
  ])('%i -> %s', (n, text) => {
    expect(thousands(n)).toBe(text);
    expect(thousands(n)).toBe(n.toLocaleString('en-US'));
  });
});
