import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { AuditChain, auditFields, canonicalJson, checkRecordLine, GENESIS_HASH, verifyChain, type AuditEvent } from './index.ts';
import { canonicalWithout } from './canonical.ts';
import { event } from './fixtures.ts';

describe('canonicalJson', () => {
  test('sorts keys at every depth and follows JSON.stringify otherwise', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined, x: 'é\n"' }], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[3,{"x":"é\\n\\"","z":1}]},"b":1}',
    );
    expect(canonicalJson([undefined, NaN, Infinity, -0, 1e21, () => 1])).toBe('[null,null,null,0,1e+21,null]');
    expect(canonicalJson({ t: new Date(0) })).toBe('{"t":"1970-01-01T00:00:00.000Z"}');
    expect(() => canonicalJson(undefined)).toThrow(/no JSON representation/);
    expect(() => canonicalJson({ n: 1n })).toThrow(/BigInt/);
  });
  test('is the same for the same content in any key order, and round-trips through JSON.parse', () => {
    const a = { z: 1, a: [{ q: 'x', p: 'y' }], m: { k2: 2, k1: 1 } };
    const b = { m: { k1: 1, k2: 2 }, a: [{ p: 'y', q: 'x' }], z: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(JSON.parse(canonicalJson(a)))).toBe(canonicalJson(a));
  });
  test('values JSON cannot hold: left out of objects, null in arrays, as JSON.stringify does', () => {
    const odd = { s: Symbol('s'), f: () => 1, u: undefined, k: 1, list: [Symbol('t'), undefined, () => 2] };
    expect(canonicalJson(odd)).toBe('{"k":1,"list":[null,null,null]}');
    expect(canonicalJson(odd)).toBe(JSON.stringify({ k: odd.k, list: odd.list }));
  });
  test('canonicalWithout: the line and the hashed text without one key, the same rules as canonicalJson', () => {
    const rec = { seq: 2, s: Symbol('s'), u: undefined, hash: 'h', a: [undefined] };
    expect(canonicalWithout(rec, 'hash')).toEqual({ full: canonicalJson(rec), without: '{"a":[null],"seq":2}' });
    expect(canonicalWithout(rec, 'hash').full).toBe('{"a":[null],"hash":"h","seq":2}');
    // the omitted key first or alone: no stray comma
    expect(canonicalWithout({ a: 1, b: 2 }, 'a')).toEqual({ full: '{"a":1,"b":2}', without: '{"b":2}' });
    expect(canonicalWithout({ hash: 'h' }, 'hash')).toEqual({ full: '{"hash":"h"}', without: '{}' });
  });
});

describe('AuditChain', () => {
  test('starts at genesis and links each record to the previous one', () => {
    const chain = new AuditChain();
    expect(chain.head).toEqual({ seq: 0, hash: GENESIS_HASH });
    const r1 = chain.append(event(1));
    const r2 = chain.append(event(2));
    expect(r1.seq).toBe(1);
    expect(r1.prevHash).toBe(GENESIS_HASH);
    expect(r2.seq).toBe(2);
    expect(r2.prevHash).toBe(r1.hash);
    expect(chain.head).toEqual({ seq: 2, hash: r2.hash });
  });

  test('hash = sha256(prevHash + canonical JSON of the record without hash); the line is that JSON plus "hash"', () => {
    const chain = new AuditChain();
    const { record, line } = chain.appendLine(event(7));
    const { hash, ...rest } = record;
    const body = canonicalJson(rest);
    expect(hash).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + body)
        .digest('hex'),
    );
    expect(line).toBe(canonicalJson(record));
    expect(JSON.parse(line)).toEqual(record);
    // The line is the hashed text with the "hash" member added in its sorted place.
    expect(line.replace(`"hash":"${hash}",`, '')).toBe(body);
  });

  test('is deterministic: the same events from the same head give the same hashes', () => {
    const a = new AuditChain();
    const b = new AuditChain();
    for (let i = 1; i <= 5; i++) expect(a.appendLine(event(i)).line).toBe(b.appendLine({ ...event(i) }).line);
  });

  test('continues from a given head', () => {
    const a = new AuditChain();
    for (let i = 1; i <= 3; i++) a.append(event(i));
    const { seq, hash } = a.head;
    const b = new AuditChain(hash, seq);
    const next = b.append(event(4));
    expect(next).toEqual(a.append(event(4)));
    expect(next.seq).toBe(4);
  });

  test('refuses a malformed head', () => {
    expect(() => new AuditChain('abc')).toThrow(/64 lowercase hex/);
    expect(() => new AuditChain(GENESIS_HASH, -1)).toThrow(/non-negative integer/);
  });

  test('records only the documented fields: headers or bodies passed by mistake never reach the log', () => {
    const leaky = {
      ...event(1),
      headers: { authorization: 'Bearer eyJsecret' },
      body: '{"messages":[]}',
      apiKey: 'sk-ant-secret',
      usage: { input_tokens: 1, secret: 'x' },
    } as unknown as AuditEvent;
    const { line } = new AuditChain().appendLine(leaky);
    expect(line).not.toMatch(/eyJsecret|sk-ant-secret|authorization|\\"messages\\"|"secret"/);
    expect(Object.keys(auditFields(leaky))).not.toContain('headers');
    expect(JSON.parse(line).usage).toEqual({ input_tokens: 1 });
  });

  test('absent optional fields are left out; seq/prevHash/hash cannot be injected by the event', () => {
    const e = {
      time: 't',
      requestId: 'r',
      route: 'messages',
      method: 'POST',
      path: '/v1/messages',
      decision: 'error',
      reasons: [],
      status: 502,
      latencyMs: 3,
      model: undefined,
      seq: 99,
      hash: 'f'.repeat(64),
    } as unknown as AuditEvent;
    const { record, line } = new AuditChain().appendLine(e);
    expect(record.seq).toBe(1);
    expect(Object.keys(JSON.parse(line)).sort()).toEqual([
      'decision',
      'hash',
      'latencyMs',
      'method',
      'path',
      'prevHash',
      'reasons',
      'requestId',
      'route',
      'seq',
      'status',
      'time',
    ]);
  });
});

describe('property: the fast serialisation is exactly canonical JSON', () => {
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)), maxLength: 5 }),
  );
  const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, NaN, Infinity, 1e21, 5e-324));
  const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const arbEvent = fc.record({
    time: text,
    requestId: text,
    sessionId: optional(text),
    subject: optional(text),
    issuer: optional(text),
    namespace: optional(text),
    pod: optional(text),
    scope: optional(text),
    review: optional(text),
    route: text,
    method: text,
    path: text,
    model: optional(text),
    tools: optional(fc.array(text, { maxLength: 4 })),
    decision: fc.constantFrom('allow', 'deny', 'approval-required', 'error'),
    reasons: fc.array(text, { maxLength: 3 }),
    auditOnly: optional(fc.boolean()),
    status: num,
    masked: optional(fc.dictionary(text, num, { maxKeys: 4 })),
    blocked: optional(text),
    latencyMs: num,
    upstreamLatencyMs: optional(num),
    bodySha256: optional(text),
    error: optional(text),
    approval: optional(text),
    usage: optional(
      fc.record({
        input_tokens: optional(num),
        output_tokens: optional(num),
        cache_creation_input_tokens: optional(num),
        cache_read_input_tokens: optional(num),
      }),
    ),
  }) as fc.Arbitrary<AuditEvent>;

  test('line === canonicalJson(record), the line verifies, and JSON.parse gives the record back', () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 4 }), (events) => {
        const chain = new AuditChain();
        const lines = events.map((e) => {
          const { record, line } = chain.appendLine(e);
          expect(line).toBe(canonicalJson(record));
          expect(checkRecordLine(line)).toEqual({ ok: true, record: JSON.parse(line) });
          return line;
        });
        expect(verifyChain(lines).ok).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
