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
    expect(firstDuplicateKey(text)).toMatchObject({ key, first: key });
    expect(firstDuplicateKey(text, { caseFold: false })?.key).toBe(key);
  });

  test.each([
    ['one copy of each key', '{"model":"claude-haiku-4-5","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}'],
    ['the same key in sibling objects', '[{"a":1},{"a":2},{"a":{"a":{"a":3}}}]'],
    ['the same key in a parent and its child', '{"a":{"a":{"b":1}},"b":2}'],
    ['keys in string values', '{"a":"\\"a\\":1","b":"{\\"b\\":2,\\"b\\":3}"}'],
    ['strings ending in backslashes', '{"a":"\\\\","b":"\\\\\\"","c":"x\\\\"}'],
    ['an object after a closed big object', `[{${Array.from({ length: 20 }, (_, i) => `"k${i}":1`).join(',')}},{"k1":1,"k2":2}]`],
    ['keys that differ by escape', '{"model":1,"mode\\u0031":2}'],
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
    expect(firstDuplicateKey(deepDup)?.key).toBe('a');
  });

  test('an object of 50,000 keys is scanned in linear time (a Set past 16 keys)', () => {
    const many = `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":0`).join(',')}}`;
    expect(firstDuplicateKey(many)).toBeUndefined();
    expect(firstDuplicateKey(`${many.slice(0, -1)},"k49999":1}`)?.key).toBe('k49999');
  });

  // Go's encoding/json, Jackson (ACCEPT_CASE_INSENSITIVE_PROPERTIES) and .NET (case-insensitive
  // names) read keys equal under case folding as one key: a request may not name both.
  test.each([
    ['ASCII case, later key upper', '{"tools":[{"name":"Read","NAME":"Bash","input_schema":{}}]}', 'name', 'NAME', 'tools.0'],
    ['ASCII case, earlier key upper', '{"Type":"web_search_20250305","name":"Read","type":"custom"}', 'Type', 'type', ''],
    ['two keys neither lowercase', '{"a":{"Model":1,"MODEL":2}}', 'Model', 'MODEL', 'a'],
    ['a fallback', '{"fallbacks":[{"model":"claude-haiku-4-5","MODEL":"claude-opus-4-1"}]}', 'model', 'MODEL', 'fallbacks.0'],
    ['long s (U+017F) after s', '{"container":{"skills":[],"\\u017fkills":[{"skill_id":"xlsx"}]}}', 'skills', '\u017fkills', 'container'],
    ['long s (U+017F) before S', '{"\u017fkills":[],"SKILLS":[]}', '\u017fkills', 'SKILLS', ''],
    ['Kelvin sign (U+212A) and k', '{"m":[{},{"k":1,"\u212a":2}]}', 'k', '\u212a', 'm.1'],
    ['Kelvin sign (U+212A) and K', '{"\u212a":1,"x":[1,{"y":2}],"K":2}', '\u212a', 'K', ''],
    ['capital sharp s (U+1E9E) and sharp s', '{"stra\u00dfe":1,"STRA\u1e9eE":2}', 'stra\u00dfe', 'STRA\u1e9eE', ''],
    ['non-ASCII case', '{"\u00e9t\u00e9":1,"\u00c9T\u00c9":2}', '\u00e9t\u00e9', '\u00c9T\u00c9', ''],
    ['sharp s and ss (a false collision, refused: fail closed)', '{"ss":1,"\u00df":2}', 'ss', '\u00df', ''],
    ['through an escape', '{"thread":{"type":"new","\\u0054ype":"continue"}}', 'type', 'Type', 'thread'],
    [
      'a document source',
      '{"messages":[{"content":[{"type":"document","source":{"file_id":"a","File_id":"b"}}]}]}',
      'file_id',
      'File_id',
      'messages.0.content.0.source',
    ],
    [
      'in a big object (past the linear scan)',
      `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"K3":0}`,
      'k3',
      'K3',
      '',
    ],
    [
      'a lowercase key after its capital in a big object',
      `{"K3":0,${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
      'K3',
      'k3',
      '',
    ],
    [
      'two non-lowercase keys in a big object',
      `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"Ab":1,"aB":2}`,
      'Ab',
      'aB',
      '',
    ],
    ['after a string value with a comma in an array', '{"a":["x,y",{"q":"]","Id":1,"ID":2}]}', 'Id', 'ID', 'a.1'],
    ['an odd key on the path', '{"a b":[{"NAME":1,"name":2}]}', 'NAME', 'name', '"a b".0'],
  ])('keys equal under case folding, %s', (_name, text, first, key, at) => {
    expect(JSON.parse(text) as unknown).toBeDefined();
    const r = firstDuplicateKey(text);
    expect(r).toMatchObject({ key, first });
    expect(r?.at).toBe(at);
    expect(firstDuplicateKey(text, { caseFold: false })).toBeUndefined();
  });

  test.each([
    ['the same letters apart', '{"name":1,"names":2,"Nam":3,"a":{"NAME":1}}'],
    ['case in sibling objects', '[{"name":1},{"NAME":2},{"Name":{"nAme":3}}]'],
    ['snake case and camel case', '{"file_id":1,"fileId":2,"FILE_ID_":{"fileid":1}}'],
    ['accents are not case', '{"e":1,"\u00e9":2,"\u00c8":3}'],
    ['a big object with one capital', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"K40":0}`],
  ])('%s: no fold collision', (_name, text) => {
    expect(JSON.parse(text) as unknown).toBeDefined();
    expect(firstDuplicateKey(text)).toBeUndefined();
  });

  test('the message of a fold collision names both keys and the object', () => {
    const r = firstDuplicateKey('{"tools":[{"name":"Read","NAME":"Bash"}]}')!;
    expect(duplicateKeyMessage(r)).toBe(
      'The body names the keys "name" and "NAME" in the object at tools.0: they differ only by case, and servers that match keys case-insensitively read one for the other. Send each key once, spelled as documented (the request checked would not be the request served).',
    );
    expect(duplicateKeyMessage(firstDuplicateKey('{"Model":1,"model":2}')!)).toContain('"Model" and "model" in the top-level object:');
    const deep = `{"a":${'{"b":'.repeat(100)}{"x":1,"X":2}${'}'.repeat(100)}}`;
    expect(duplicateKeyMessage(firstDuplicateKey(deep)!)).toContain(`in the object at a${'.b'.repeat(98)}...: they`);
    expect(duplicateKeyMessage(firstDuplicateKey('{"model":1,"model":2}')!)).toBe(duplicateKeyMessage('model'));
  });

  test('the message names the key, cut when long', () => {
    expect(duplicateKeyMessage('model')).toBe(
      'The body repeats the key "model" in one object: send each key once (servers read a repeated key differently, so the request checked would not be the request served).',
    );
    expect(duplicateKeyMessage('k'.repeat(300))).toContain(`"${'k'.repeat(97)}..."`);
    expect(duplicateKeyMessage('k'.repeat(100))).toContain(`"${'k'.repeat(100)}"`);
  });
});
