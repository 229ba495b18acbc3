import { compileMasking, parseJsonPath, MaskingConfigError, BUILTIN_CATEGORIES, type Masking } from './index.ts';
import { applyJsonPaths } from './jsonpath.ts';
import { stringifyIterative } from './json-body.ts';

// Built before each test, not while the file loads: a custom pattern compiled at load time makes
// every mutant of the pattern compiler "hybrid" under StrykerJS (run against every masking test).
let m: Masking;
beforeEach(() => {
  m = compileMasking({ mask: [...BUILTIN_CATEGORIES], custom: [{ name: 'ticket-id', pattern: 'TCK-[0-9]{6}' }] });
});

const message = {
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [
    { type: 'thinking', thinking: 'The user mail is bob@example.com; keep it private.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h+/=' },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
    {
      type: 'text',
      text: 'Write to bob@example.com about TCK-123456.',
      citations: [{ type: 'char_location', cited_text: 'call +44 20 7946 0958', document_index: 0 }],
    },
    {
      type: 'tool_use',
      id: 'toolu_01',
      name: 'send_mail',
      input: {
        'to@example.com': 'bob@example.com',
        cc: ['ops@example.com', 7],
        nested: { note: 'card 4111 1111 1111 1111', amount: 12345678901234567000, ratio: 1.0 },
      },
    },
    { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: { query: 'who owns 10.0.0.1' } },
  ],
  stop_reason: 'tool_use',
  usage: { input_tokens: 12, output_tokens: 34 },
};

describe('maskMessageJson', () => {
  // JSON.stringify cannot write 12345678901234567890 or 1.0 verbatim: build the body text by hand
  const raw = JSON.stringify(message).replace('12345678901234567000', '12345678901234567890').replace('"ratio":1', '"ratio":1.0');

  it('masks text, citations and tool inputs (their keys too); keeps thinking, other keys, numbers and everything else', () => {
    const r = m.maskMessageJson(Buffer.from(raw));
    expect(r.changed).toBe(true);
    expect(r.blocked).toBeUndefined();
    expect(r.counts).toEqual({ email: 4, 'ticket-id': 1, phone: 1, 'credit-card': 1, 'ip-address': 1 });
    const out = r.body.toString();
    expect(out).toContain('"amount":12345678901234567890');
    expect(out).toContain('"ratio":1.0');
    const got = JSON.parse(out);
    expect(got.content[0]).toEqual(message.content[0]);
    expect(got.content[1]).toEqual(message.content[1]);
    expect(got.content[2].text).toBe('Write to [MASKED:email] about [MASKED:ticket-id].');
    expect(got.content[2].citations[0].cited_text).toBe('call [MASKED:phone]');
    expect(got.content[3].input).toEqual({
      '[MASKED:email]': '[MASKED:email]',
      cc: ['[MASKED:email]', 7],
      nested: { note: 'card [MASKED:credit-card]', amount: 12345678901234567000, ratio: 1 },
    });
    expect(got.content[4].input.query).toBe('who owns [MASKED:ip-address]');
    expect({ ...got, content: undefined }).toEqual({ ...message, content: undefined });
  });

  it('returns the very same Buffer when nothing matched', () => {
    const body = Buffer.from(JSON.stringify({ ...message, content: [{ type: 'text', text: 'Hello there.' }, message.content[0]] }));
    const r = m.maskMessageJson(body);
    expect(r.body).toBe(body);
    expect(r.changed).toBe(false);
  });

  it('reports a block category', () => {
    const b = compileMasking({ mask: ['email'], block: ['api-key'] });
    const r = b.maskMessageJson(Buffer.from(JSON.stringify({ content: [{ type: 'text', text: 'key AKIAIOSFODNN7EXAMPLE' }] })));
    expect(r.blocked).toBe('api-key');
    expect(r.body.toString()).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('reports a body that is not JSON (an event stream too) and binary as skipped, unchanged', () => {
    const ev = Buffer.from(
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a@b.co"}}\n\n',
    );
    expect(m.maskMessageJson(ev)).toMatchObject({ body: ev, skipped: 'not-json', changed: false });
    expect(m.maskMessageJson(Buffer.from('oops a@b.co'))).toMatchObject({ skipped: 'not-json', changed: false });
    const bin = Buffer.from([0xff, 0xfe, 0x00, 0x40]);
    expect(m.maskMessageJson(bin)).toMatchObject({ body: bin, skipped: 'binary', changed: false });
  });

  it('survives deeply nested tool input (deeper than JSON.stringify can recurse)', () => {
    const depth = 20000;
    const input = '{"a":'.repeat(depth) + '["a@b.co",1.5,true,null,{}]' + '}'.repeat(depth);
    const r = m.maskMessageJson(Buffer.from(`{"content":[{"type":"tool_use","id":"t","input":${input}}]}`));
    expect(r.counts).toEqual({ email: 1 });
    const want = `{"content":[{"type":"tool_use","id":"t","input":${input.replace('a@b.co', '[MASKED:email]')}}]}`;
    expect(r.body.toString() === want).toBe(true);
  });

  it('serializes iteratively exactly like JSON.stringify', () => {
    for (const v of [message, [1, 'x', null, [], {}], 'str', 0, { a: undefined, b: [undefined] }]) {
      expect(stringifyIterative(v)).toBe(JSON.stringify(v));
    }
  });
});

describe('maskServiceJson', () => {
  const body = Buffer.from(
    JSON.stringify({
      customers: [
        { id: 1, name: 'Ann', ssn: '078-05-1120', contact: { email: 'ann@example.com', phone: '+1 (415) 555-2671' }, notes: 'VIP' },
        { id: 2, name: 'Bob', ssn: null, contact: { email: 'bob@example.com' }, notes: 'prefers mail to bob@example.com' },
      ],
      meta: { 'api key': 'k', total: 2 },
    }),
  );

  it('replaces selected values whole and runs the detectors on every string', () => {
    const r = m.maskServiceJson(body, ['$.customers[*].ssn', "$['meta']['api key']", '$..contact']);
    const got = JSON.parse(r.body.toString());
    expect(got).toEqual({
      customers: [
        { id: 1, name: 'Ann', ssn: '[MASKED:field]', contact: '[MASKED:field]', notes: 'VIP' },
        { id: 2, name: 'Bob', ssn: '[MASKED:field]', contact: '[MASKED:field]', notes: 'prefers mail to [MASKED:email]' },
      ],
      meta: { 'api key': '[MASKED:field]', total: 2 },
    });
    expect(r.counts).toEqual({ field: 5, email: 1 });
  });

  it('applies field masks even when no detector is enabled', () => {
    const none = compileMasking({});
    const r = none.maskServiceJson(body, ['$.customers[0].name']);
    expect(JSON.parse(r.body.toString()).customers[0].name).toBe('[MASKED:field]');
    expect(none.maskServiceJson(body, []).body).toBe(body);
  });

  it('runs the detectors on object keys and numbers too (issue 14 class 6)', () => {
    const card = '4111111111111111';
    const doc = Buffer.from(
      `{"by_email":{"ann@example.com":{"card":${card},"n":1.0,"big":12345678901234567890},"bob@example.com":2},"phone":14155552671,"ok":[1,2]}`,
    );
    const r = m.maskServiceJson(doc, []);
    expect(r.body.toString()).toBe(
      '{"by_email":{"[MASKED:email]":{"card":"[MASKED:credit-card]","n":1.0,"big":12345678901234567890},"[MASKED:email]#2":2},"phone":14155552671,"ok":[1,2]}',
    );
    expect(r.counts).toEqual({ email: 2, 'credit-card': 1 });
    // a root that is a bare number
    expect(m.maskServiceJson(Buffer.from(card), []).body.toString()).toBe('"[MASKED:credit-card]"');
  });

  it('reports what it cannot vouch for instead of masking it as text: not JSON, not UTF-8', () => {
    for (const bad of ['<customers><email>ann@example.com</email></customers>', 'ann@example.com', '{"a":']) {
      expect(m.maskServiceJson(Buffer.from(bad), [])).toMatchObject({ skipped: 'not-json', changed: false });
    }
    expect(m.maskServiceJson(Buffer.from([0x7b, 0xff, 0x7d]), [])).toMatchObject({ skipped: 'binary' });
  });

  it('rejects malformed paths with a usable message', () => {
    expect(() => m.maskServiceJson(body, ['customers.ssn'])).toThrow(MaskingConfigError);
    expect(() => parseJsonPath('$.a[?(@.x)]')).toThrow(/Supported: \$\.a\.b/);
  });
});

describe('JSONPath subset', () => {
  const doc = () => ({ a: { b: 1, c: [{ b: 2 }, { d: { b: 3 } }] }, 'x y': { b: 4 }, list: [10, 20, 30] });
  it.each([
    ['$.a.b', { a: { b: 'M', c: [{ b: 2 }, { d: { b: 3 } }] }, 'x y': { b: 4 }, list: [10, 20, 30] }, 1],
    ['$.a.c[*].b', { a: { b: 1, c: [{ b: 'M' }, { d: { b: 3 } }] }, 'x y': { b: 4 }, list: [10, 20, 30] }, 1],
    ['$..b', { a: { b: 'M', c: [{ b: 'M' }, { d: { b: 'M' } }] }, 'x y': { b: 'M' }, list: [10, 20, 30] }, 4],
    ["$['x y'].b", { a: { b: 1, c: [{ b: 2 }, { d: { b: 3 } }] }, 'x y': { b: 'M' }, list: [10, 20, 30] }, 1],
    ['$.list[1]', { a: { b: 1, c: [{ b: 2 }, { d: { b: 3 } }] }, 'x y': { b: 4 }, list: [10, 'M', 30] }, 1],
    ['$.a.*', { a: { b: 'M', c: 'M' }, 'x y': { b: 4 }, list: [10, 20, 30] }, 2],
    ['$..c', { a: { b: 1, c: 'M' }, 'x y': { b: 4 }, list: [10, 20, 30] }, 1],
    ['$.nope.b', doc(), 0],
    ['$', 'M', 1],
  ])('%s', (path, expected, replaced) => {
    const r = applyJsonPaths(doc(), [parseJsonPath(path)], 'M');
    expect(r.root).toEqual(expected);
    expect(r.replaced).toBe(replaced);
  });

  it.each(['a.b', '$.', '$.a[', "$['x]", '$.a[-1]', '$.a b', '$..'])('rejects %j', (p) => {
    expect(() => parseJsonPath(p, 'endpoints[0].maskFields[0]')).toThrow(/^endpoints\[0\]\.maskFields\[0\]: JSONPath/);
  });
});
