// Exact outputs of the JSON masking paths at each edge the mutation run found untested
// (docs/testing.md, "Mutation testing"). Engines are built inside the tests: one built while
// the file loads would make every mutant of the engine run every masking test file.
import { jest } from '@jest/globals';
import { newTally, type Engine } from './engine.ts';
import { buildEngine } from './policy.ts';
import { maskMessageBody, maskServiceBody, numbersRoundTrip } from './json-body.ts';
import { maskCitation, maskContentBlock, maskMessageObject } from './json-message.ts';
import { JsonStream } from './json-stream.ts';
import { maskStringValues, parsePreservingNumbers } from './json-values.ts';
import { parseJsonPath } from './jsonpath.ts';

const MAIL = 'a@b.co';
const M = '[MASKED:email]';
const CARD = '4111111111111111';
const engine = (): Engine => buildEngine({ mask: ['email', 'credit-card'] });

function block(b: unknown): unknown {
  const e = engine();
  const tally = newTally();
  maskContentBlock(e, b, tally);
  return b;
}

describe('parsePreservingNumbers', () => {
  it('keeps every number as its source text and every other value as it is', () => {
    const text = '{"a":1.0,"b":"x","c":[12345678901234567890,true,null,-0.5e3],"d":{"e":"1"}}';
    const v = parsePreservingNumbers(text) as { b: unknown; c: unknown[]; d: { e: unknown } };
    expect(JSON.stringify(v)).toBe(text);
    expect(v.b).toBe('x');
    expect(v.d.e).toBe('1');
    expect(v.c[1]).toBe(true);
    expect(v.c[2]).toBeNull();
  });
});

describe('numbersRoundTrip', () => {
  it('is true when JSON.stringify writes every number as the text has it, whatever the strings hold', () => {
    const texts = [
      '{}',
      '12',
      '-1',
      '[0,-0.5,1e-7,1.5e+300,123456789012345]',
      '{"a":"1.0 -0 1e5 12345678901234567890","b":[true,null,false],"c":2}',
      '{"q":"a \\"1.0\\" b","n":3}',
      '{"e":"x\\\\","n":4}',
    ];
    for (const text of texts) expect([text, numbersRoundTrip(text)]).toEqual([text, true]);
  });

  it('is false for any number JSON.stringify would write otherwise, also after strings with escapes', () => {
    const texts = [
      '1.0',
      '9.0',
      '-0',
      '1e5',
      '1E5',
      '0.10',
      '1e21',
      '12345678901234567890',
      '[1,2.50]',
      '{"a":-1.50}',
      '{"a":1,"b":"s","c":10.0}',
      '{"e":"x\\\\","n":1.0}',
      '{"q":"\\"","n":1.0}',
    ];
    for (const text of texts) expect([text, numbersRoundTrip(text)]).toEqual([text, false]);
  });
});

describe('maskStringValues', () => {
  it('masks a string root and returns the masked string', () => {
    expect(maskStringValues(engine(), MAIL, newTally())).toBe(M);
  });

  it('returns null, numbers, booleans and undefined as they are', () => {
    const e = engine();
    for (const v of [null, 5, true, undefined]) expect(maskStringValues(e, v, newTally())).toBe(v);
  });

  it('masks strings in nested arrays and objects, next to null, numbers and undefined', () => {
    const v = { a: [MAIL, null, 1, undefined, [MAIL, { b: MAIL, n: null }]], c: { d: MAIL, u: undefined, t: false }, e: 'plain' };
    const tally = newTally();
    const out = maskStringValues(engine(), v, tally);
    expect(out).toBe(v);
    expect(v).toEqual({ a: [M, null, 1, undefined, [M, { b: M, n: null }]], c: { d: M, u: undefined, t: false }, e: 'plain' });
    expect(tally.matches).toBe(4);
  });

  it('masks numbers, plain or kept as source text, that read like a card number; keeps the others as written', () => {
    const v = parsePreservingNumbers(`{"n":${CARD},"s":"${MAIL}","l":[${CARD}.0,1.50]}`);
    maskStringValues(engine(), v, newTally());
    expect(JSON.stringify(v)).toBe(`{"n":"[MASKED:credit-card]","s":"${M}","l":["[MASKED:credit-card]",1.50]}`);
    const root = parsePreservingNumbers(CARD);
    expect(maskStringValues(engine(), root, newTally())).toBe('[MASKED:credit-card]');
    expect(maskStringValues(engine(), Number(CARD), newTally())).toBe('[MASKED:credit-card]');
  });
});

describe('maskContentBlock', () => {
  it('ignores what is not an object', () => {
    for (const b of [null, 5, MAIL, undefined, true]) expect(block(b)).toBe(b);
  });

  it('leaves thinking and redacted_thinking blocks whole', () => {
    expect(block({ type: 'thinking', thinking: MAIL, other: MAIL })).toEqual({ type: 'thinking', thinking: MAIL, other: MAIL });
    expect(block({ type: 'redacted_thinking', data: MAIL })).toEqual({ type: 'redacted_thinking', data: MAIL });
  });

  it('masks a block without a type, or with a type that is not a string', () => {
    expect(block({ text: MAIL })).toEqual({ text: M });
    expect(block({ type: 7, text: MAIL })).toEqual({ type: 7, text: M });
  });

  it('masks the strings of an array where a block belongs (fail closed)', () => {
    expect(block([MAIL, { text: MAIL, id: MAIL }])).toEqual([M, { text: M, id: MAIL }]);
  });

  it('keeps identifiers, names and signatures; masks every other string field', () => {
    const b = {
      type: 'server_tool_use',
      id: MAIL,
      tool_use_id: MAIL,
      name: MAIL,
      server_name: MAIL,
      caller: MAIL,
      signature: MAIL,
      encrypted_content: MAIL,
      file_id: MAIL,
      media_type: MAIL,
      title: MAIL,
      n: 3,
      z: null,
      u: undefined,
    };
    expect(block(b)).toEqual({ ...b, title: M });
  });

  it('masks every string of a tool input, whatever its key (type, id, name included)', () => {
    const input = { type: MAIL, id: MAIL, name: MAIL, data: MAIL, list: [MAIL, null, 2], deep: { signature: MAIL, x: null } };
    expect(block({ type: 'tool_use', id: 'toolu_1', name: 'send', input })).toEqual({
      type: 'tool_use',
      id: 'toolu_1',
      name: 'send',
      input: { type: M, id: M, name: M, data: M, list: [M, null, 2], deep: { signature: M, x: null } },
    });
    expect(block({ type: 'tool_use', input: MAIL })).toEqual({ type: 'tool_use', input: M });
  });

  it('masks nested data except identifiers and base64 payloads', () => {
    const b = {
      type: 'tool_result',
      tool_use_id: 'toolu_1',
      content: [
        { type: 'text', text: MAIL, id: MAIL, cache_control: { type: MAIL } },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: MAIL, title: MAIL } },
        { type: 'document', source: { type: 'text', data: MAIL } },
        [MAIL, null, 1, [MAIL]],
        null,
        7,
        MAIL,
      ],
      extra: { nothing: null, n: 2, list: [null, MAIL, undefined], file_id: MAIL, u: undefined },
    };
    expect(block(b)).toEqual({
      type: 'tool_result',
      tool_use_id: 'toolu_1',
      content: [
        { type: 'text', text: M, id: MAIL, cache_control: { type: MAIL } },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: MAIL, title: M } },
        { type: 'document', source: { type: 'text', data: M } },
        [M, null, 1, [M]],
        null,
        7,
        M,
      ],
      extra: { nothing: null, n: 2, list: [null, M, undefined], file_id: MAIL, u: undefined },
    });
  });
});

describe('maskCitation', () => {
  const cite = (c: unknown) => {
    const tally = newTally();
    maskCitation(engine(), c, tally);
    return [c, tally.matches];
  };
  it('masks cited_text and nothing else', () => {
    expect(cite({ type: 'char_location', cited_text: `x ${MAIL}`, document_title: MAIL })).toEqual([
      { type: 'char_location', cited_text: `x ${M}`, document_title: MAIL },
      1,
    ]);
  });
  it('ignores a citation that is not an object or whose cited_text is not a string', () => {
    for (const c of [null, MAIL, 5, undefined, { cited_text: 5 }, { cited_text: null }, { text: MAIL }]) {
      expect(cite(c)).toEqual([c, 0]);
    }
  });
});

describe('maskMessageBody', () => {
  const body = (v: unknown) => Buffer.from(JSON.stringify(v));

  it('returns the input untouched, without a skipped reason, when no detector is enabled', () => {
    const none = buildEngine({});
    for (const b of [Buffer.from([0xff, 0xfe]), Buffer.from(MAIL), body({ content: [{ type: 'text', text: MAIL }] })]) {
      const r = maskMessageBody(none, b);
      expect(r).toStrictEqual({ body: b, counts: {}, changed: false });
      expect(r.body).toBe(b);
    }
  });

  it('leaves a body whose root or content is not what a message holds', () => {
    for (const text of ['null', '5', '[]', `{"content":5}`, `{"content":null}`, '{}']) {
      const b = Buffer.from(text);
      const r = maskMessageBody(engine(), b);
      expect(r).toStrictEqual({ body: b, counts: {}, changed: false });
    }
  });

  it('reports a body that is not JSON as skipped instead of masking it as text (the caller refuses it)', () => {
    const b = Buffer.from(`oops ${MAIL}`);
    const r = maskMessageBody(engine(), b);
    expect(r).toStrictEqual({ body: b, counts: {}, changed: false, skipped: 'not-json' });
    const plain = Buffer.from('oops');
    expect(maskMessageBody(engine(), plain)).toStrictEqual({ body: plain, counts: {}, changed: false, skipped: 'not-json' });
  });

  it('serializes a body with a repeated key from what was checked, found or not, numbers kept', () => {
    // JSON.parse keeps the last copy: the first one, which a first-wins client would read, was never checked.
    const hidden = `{"content":[{"type":"text","text":"${MAIL}","text":"ok"}],"usage":{"output_tokens":1.0}}`;
    const r = maskMessageBody(engine(), Buffer.from(hidden));
    expect(r).toStrictEqual({
      body: Buffer.from('{"content":[{"type":"text","text":"ok"}],"usage":{"output_tokens":1.0}}'),
      counts: {},
      changed: true,
    });
    const nested = `{"id":"msg","content":[{"type":"tool_result","content":{"note":"${MAIL}","note":"${MAIL}"}}]}`;
    expect(maskMessageBody(engine(), Buffer.from(nested))).toStrictEqual({
      body: Buffer.from(`{"id":"msg","content":[{"type":"tool_result","content":{"note":"${M}"}}]}`),
      counts: { email: 1 },
      changed: true,
    });
    const service = `{"customers":[{"id":1,"email":"${MAIL}","email":"none"}]}`;
    expect(maskServiceBody(engine(), Buffer.from(service), [])).toStrictEqual({
      body: Buffer.from('{"customers":[{"id":1,"email":"none"}]}'),
      counts: {},
      changed: true,
    });
  });

  it('reports no block category when none was found (the field is absent, not undefined)', () => {
    const r = maskMessageBody(engine(), body({ content: [{ type: 'text', text: MAIL }] }));
    expect(r).toStrictEqual({ body: body({ content: [{ type: 'text', text: M }] }), counts: { email: 1 }, changed: true });
  });

  it('keeps numbers verbatim, but masks a card number written as a number', () => {
    const text = `{"content":[{"type":"tool_use","id":"t","input":{"n":${CARD},"r":1.0,"s":"${MAIL}"}},{"type":"x","meta":{"n":${CARD},"f":1.50}}],"usage":{"input_tokens":10}}`;
    const r = maskMessageBody(engine(), Buffer.from(text));
    expect(r.body.toString()).toBe(text.replace(MAIL, M).replaceAll(CARD, '"[MASKED:credit-card]"'));
    expect(r.counts).toStrictEqual({ email: 1, 'credit-card': 2 });
  });

  it('masks a body whose numbers round-trip from its one parse, to the bytes the number-keeping parse gives', () => {
    const texts = [
      `{"id":"m","content":[{"type":"text","text":"mail ${MAIL} now"},{"type":"tool_use","id":"t","input":{"to":"${MAIL}","n":3,"l":[-2.5,"${MAIL}",{"k":"v"}]}}],"usage":{"input_tokens":612,"output_tokens":96}}`,
      `{"content":[{"type":"text","text":"\\u0061 ${MAIL} \\"q\\"","citations":[{"type":"char_location","cited_text":"${MAIL}","start_char_index":0}]}],"stop_sequence":null}`,
    ];
    for (const text of texts) {
      expect(numbersRoundTrip(text)).toBe(true);
      const slow = parsePreservingNumbers(text);
      const tally = newTally();
      maskMessageObject(engine(), slow, tally);
      const parse = jest.spyOn(JSON, 'parse');
      let r;
      try {
        r = maskMessageBody(engine(), Buffer.from(text));
        expect(parse).toHaveBeenCalledTimes(1);
      } finally {
        parse.mockRestore();
      }
      expect(r.body.toString()).toBe(JSON.stringify(slow));
      expect(r.counts).toStrictEqual(tally.counts);
      expect(r.changed).toBe(true);
    }
  });

  it('says it changed a body nested deeper than JSON.stringify can recurse', () => {
    const depth = 20000;
    const input = '{"a":'.repeat(depth) + `["${MAIL}",[1,2],{"b":null}]` + '}'.repeat(depth);
    const r = maskMessageBody(engine(), Buffer.from(`{"content":[{"type":"tool_use","input":${input}}]}`));
    expect(r.changed).toBe(true);
    expect(r.counts).toStrictEqual({ email: 1 });
    expect(r.body.toString() === `{"content":[{"type":"tool_use","input":${input.replace(MAIL, M)}}]}`).toBe(true);
  });
});

describe('maskServiceBody', () => {
  const paths = (...p: string[]) => p.map((x) => parseJsonPath(x));

  it('leaves null and other scalar roots it finds nothing in', () => {
    for (const text of ['null', 'true', '12', '"plain"']) {
      const b = Buffer.from(text);
      expect(maskServiceBody(engine(), b, [])).toStrictEqual({ body: b, counts: {}, changed: false });
    }
  });

  it('masks a string root, and says it changed', () => {
    expect(maskServiceBody(engine(), Buffer.from(`"${MAIL}"`), [])).toStrictEqual({
      body: Buffer.from(`"${M}"`),
      counts: { email: 1 },
      changed: true,
    });
  });

  it('counts field masks and detector matches together (one of each)', () => {
    const b = Buffer.from(`{"ssn":"x","note":"${MAIL}","list":[1,"plain",null]}`);
    expect(maskServiceBody(engine(), b, paths('$.ssn'))).toStrictEqual({
      body: Buffer.from(`{"ssn":"[MASKED:field]","note":"${M}","list":[1,"plain",null]}`),
      counts: { field: 1, email: 1 },
      changed: true,
    });
  });

  it('field masks alone, with no detector enabled, say they changed the body', () => {
    const r = maskServiceBody(buildEngine({}), Buffer.from(`{"a":"${MAIL}","b":[1,2]}`), paths('$.b'));
    expect(r).toStrictEqual({ body: Buffer.from(`{"a":"${MAIL}","b":"[MASKED:field]"}`), counts: { field: 1 }, changed: true });
  });

  it('keeps every value when three keys mask to the same token', () => {
    const b = Buffer.from('{"a@x.co":1,"b@x.co":2,"c@x.co":3,"k":[true,null]}');
    expect(maskServiceBody(engine(), b, []).body.toString()).toBe(`{"${M}":1,"${M}#2":2,"${M}#3":3,"k":[true,null]}`);
  });
});

describe('maskServiceBody: object keys', () => {
  it('keeps a "__proto__" key as data when another key of its object is masked', () => {
    const b = Buffer.from(`{"__proto__":{"x":"${MAIL}"},"${MAIL}":1}`);
    expect(maskServiceBody(engine(), b, []).body.toString()).toBe(`{"__proto__":{"x":"${M}"},"${M}":1}`);
  });
});

describe('JsonStream', () => {
  /** The whole text in one piece, and cut at every position: the output must not depend on the cuts. */
  function stream(text: string): string {
    const e = engine();
    const one = new JsonStream(e, newTally());
    const whole = one.push(text) + one.finish();
    for (let i = 0; i <= text.length; i++) {
      const js = new JsonStream(e, newTally());
      expect(js.push(text.slice(0, i)) + js.push(text.slice(i)) + js.finish()).toBe(whole);
    }
    return whole;
  }

  it('masks a string root, values in arrays, and values (and keys) after nested containers', () => {
    expect(stream(`"${MAIL}"`)).toBe(`"${M}"`);
    expect(stream(`{"k":["${MAIL}",{"${MAIL}":"${MAIL}"}],"j":"${MAIL}"}`)).toBe(`{"k":["${M}",{"${M}":"${M}"}],"j":"${M}"}`);
    expect(stream(`[["${MAIL}"],"${MAIL}",{"a":1},"${MAIL}"]`)).toBe(`[["${M}"],"${M}",{"a":1},"${M}"]`);
  });

  it('masks every string that is not in key position, even in malformed JSON (fail closed)', () => {
    // a missing ':' or ',' must not turn a value into a key
    expect(stream(`{"k" "${MAIL}"}`)).toBe(`{"k" "${M}"}`);
    expect(stream(`{"k":"x" "${MAIL}"}`)).toBe(`{"k":"x" "${M}"}`);
    expect(stream(`[{} "${MAIL}"]`)).toBe(`[{} "${M}"]`);
    expect(stream(`{"a":[] "${MAIL}"}`)).toBe(`{"a":[] "${M}"}`);
  });

  it('decodes every escape and writes it back as JSON.stringify would', () => {
    expect(stream('{"a":"\\b\\f\\n\\t\\r\\/\\"\\\\\\u0041\\u00e9"}')).toBe('{"a":"\\b\\f\\n\\t\\r/\\"\\\\Aé"}');
    // a mail address written with escapes is still a mail address
    expect(stream('["a\\u0040b.co"]')).toBe(`["${M}"]`);
  });

  it('keeps a malformed \\u escape as the characters that came', () => {
    expect(stream('["\\u12x4","\\uzz","\\u"]')).toBe('["u12x4","uzz","u"]');
  });

  it('flushes an unterminated key or string value at finish(), a cut-off \\u escape included', () => {
    expect(stream(`{"a":"x ${MAIL}`)).toBe(`{"a":"x ${M}`);
    expect(stream(`{"a":"${MAIL} \\u00`)).toBe(`{"a":"${M} u00`);
    expect(stream(`{"a":"${MAIL} \\u`)).toBe(`{"a":"${M} u`);
    expect(stream(`{"a":"${MAIL}\\`)).toBe(`{"a":"${M}`);
    expect(stream(`{"${MAIL}`)).toBe(`{"${M}`);
    expect(stream(`{"a":1`)).toBe(`{"a":1`);
  });

  it('counts what a string value still holds back', () => {
    const js = new JsonStream(engine(), newTally());
    expect(js.push('{"a":"x@y')).toBe('{"a":"');
    expect(js.pending).toBe(3);
    expect(js.push('.co", "b":"plain "')).toBe('[MASKED:email]", "b":"plain "');
    expect(js.pending).toBe(0);
  });

  it('can be used for the next text after finish()', () => {
    const js = new JsonStream(engine(), newTally());
    expect(js.push('{"a":"x\\u00') + js.finish()).toBe('{"a":"xu00');
    expect(js.push(`["${MAIL}","\\u0041"]`) + js.finish()).toBe(`["${M}","A"]`);
  });
});
