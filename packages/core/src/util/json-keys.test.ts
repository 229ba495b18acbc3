import { duplicateKeyMessage, firstDuplicateKey } from './json-keys.ts';

describe('firstDuplicateKey', () => {
  test.each([
    ['top level', '{"model":"claude-haiku-4-5","model":"claude-opus-4-1"}', 'model'],
    ['an array after the first copy', '{"tools":[],"max_tokens":1,"tools":[{"name":"Bash"}]}', 'tools'],
    ['inside a tool', '{"tools":[{"type":"custom","name":"Read","type":"bash_20250124"}]}', 'type'],
    ['deep inside arrays', '[[[{"a":1,"b":{"c":[{"d":1,"d":2}]}}]]]', 'd'],
    ['after whitespace before the colon', '{ "a" : 1 , "a"\n\t:\r 2 }', 'a'],
    ['after a space before the colon', '{"a":1,"a" :2}', 'a'],
    ['after a newline before the colon', '{"a":1,"a"\n:2}', 'a'],
    ['after a carriage return before the colon', '{"a":1,"a"\r:2}', 'a'],
    ['after a tab before the colon', '{"a":1,"a"\t:2}', 'a'],
    ['after a nested object closed', '{"x":{"y":{"z":1}},"x":2}', 'x'],
    ['after a nested array closed', '{"x":[[1],{"y":[]}],"x":2}', 'x'],
    ['the same key once escaped', '{"model":"x","mod\\u0065l":"y"}', 'model'],
    ['both escaped', '{"\\u0061":1,"\\u0061":2}', 'a'],
    ['an escaped quote inside the key', '{"a\\"b":1,"a\\"b":2}', 'a"b'],
    ['an escaped backslash ending the key', '{"a\\\\":1,"a\\\\":2}', 'a\\'],
    ['__proto__', '{"__proto__":{},"__proto__":[]}', '__proto__'],
    ['the empty key', '{"":1,"":2}', ''],
    ['after a value that looks like a key', '{"a":"\\"b\\":1","b":1,"b":2}', 'b'],
    ['in a big object (past the linear scan)', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k3":0}`, 'k3'],
    ['a repeat as the 17th key (the last linear scan)', `{${Array.from({ length: 16 }, (_, i) => `"k${i}":${i}`).join(',')},"k0":0}`, 'k0'],
    ['a repeat as the 18th key (the first Set lookup)', `{${Array.from({ length: 17 }, (_, i) => `"k${i}":${i}`).join(',')},"k0":0}`, 'k0'],
    ['a repeat of the 17th key later on', `{${Array.from({ length: 30 }, (_, i) => `"k${i}":${i}`).join(',')},"k16":0}`, 'k16'],
    ['a big object, a repeat of its last key', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k39":0}`, 'k39'],
  ])('%s', (_name, text, key) => {
    const parsed = JSON.parse(text) as unknown; // valid JSON, as the scan requires
    expect(parsed).toBeDefined();
    expect(firstDuplicateKey(text)).toBe(key);
  });

  test.each([
    ['one copy of each key', '{"model":"claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}'],
    ['the same key in sibling objects', '[{"a":1},{"a":2},{"a":{"a":{"a":3}}}]'],
    ['the same key in a parent and its child', '{"a":{"a":{"b":1}},"b":2}'],
    ['keys in string values', '{"a":"\\"a\\":1","b":"{\\"b\\":2,\\"b\\":3}"}'],
    ['strings ending in backslashes', '{"a":"\\\\","b":"\\\\\\"","c":"x\\\\"}'],
    ['an object after a closed big object', `[{${Array.from({ length: 20 }, (_, i) => `"k${i}":1`).join(',')}},{"k1":1,"k2":2}]`],
    ['keys that differ by case or escape', '{"Model":1,"model":2,"mode\\u004c":3}'],
    ['40 distinct keys', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
    ['an outer key inside a big inner object', `{"zz":{${Array.from({ length: 20 }, (_, i) => `"k${i}":${i}`).join(',')},"zz":1},"k0":2}`],
    [
      'big sibling objects with the same keys',
      `[{${Array.from({ length: 20 }, (_, i) => `"k${i}":1`).join(',')}},{${Array.from({ length: 20 }, (_, i) => `"k${i}":2`).join(',')}}]`,
    ],
    ['a key of a closed child in the parent', '{"a":{"b":1},"b":2}'],
    ['scalars only', '"text"'],
    ['an array of strings', '["a","a","a"]'],
    ['numbers, literals and colons in strings', '{"a":-1.5e3,"b":true,"c":null,"d":false,"e":"x:y","f":[1,2,{"g":":"}]}'],
  ])('%s: none', (_name, text) => {
    expect(JSON.parse(text) as unknown).toBeDefined();
    expect(firstDuplicateKey(text)).toBeUndefined();
  });

  test('30,000 levels of nesting, without recursion', () => {
    const deep = `${'{"a":'.repeat(30_000)}1${'}'.repeat(30_000)}`;
    expect(firstDuplicateKey(deep)).toBeUndefined();
    const deepDup = `${'[{"a":0,'.repeat(10_000)}"a":1${'}]'.repeat(10_000)}`;
    expect(firstDuplicateKey(deepDup)).toBe('a');
  });

  test('an object of 50,000 keys is scanned in linear time (a Set past 16 keys)', () => {
    const many = `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":0`).join(',')}}`;
    expect(firstDuplicateKey(many)).toBeUndefined();
    expect(firstDuplicateKey(`${many.slice(0, -1)},"k49999":1}`)).toBe('k49999');
  });

  test('the message names the key, cut when long', () => {
    expect(duplicateKeyMessage('model')).toBe(
      'The body repeats the key "model" in one object: send each key once (servers read a repeated key differently, so the request checked would not be the request served).',
    );
    expect(duplicateKeyMessage('k'.repeat(300))).toContain(`"${'k'.repeat(97)}..."`);
    expect(duplicateKeyMessage('k'.repeat(100))).toContain(`"${'k'.repeat(100)}"`);
  });
});
