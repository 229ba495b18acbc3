// What an audit record keeps of an event, at the edges: the caps (exactly at and one over), the
// values that are left out rather than written, and events so small that no field sorts before
// "hash" (the line is still canonical and verifies).
import { AuditChain, auditFields, canonicalJson, verifyChain, type AuditEvent } from './index.ts';
import { AUDIT_FIELD_MAX, AUDIT_LIST_MAX } from './chain.ts';

const ev = (e: Record<string, unknown>) => e as unknown as AuditEvent;

describe('auditFields', () => {
  test('a text field of exactly the cap is kept whole; one character more is cut with "…"', () => {
    const at = 'm'.repeat(AUDIT_FIELD_MAX);
    expect(auditFields(ev({ model: at })).model).toBe(at);
    const over = auditFields(ev({ model: `${at}x` })).model!;
    expect(over).toBe(`${'m'.repeat(AUDIT_FIELD_MAX - 1)}…`);
    expect(over).toHaveLength(AUDIT_FIELD_MAX);
  });

  test('a list of exactly the cap is kept whole; longer, its last kept entry says how many more', () => {
    const at = Array.from({ length: AUDIT_LIST_MAX }, (_, i) => `t${i}`);
    expect(auditFields(ev({ tools: at })).tools).toEqual(at);
    const over = auditFields(ev({ tools: [...at, 'x', 'y'], toolsUsed: [...at, 'z'], reasons: [...at, 'r'] }));
    expect(over.tools).toHaveLength(AUDIT_LIST_MAX);
    expect(over.tools![AUDIT_LIST_MAX - 1]).toBe('… (3 more)');
    expect(over.toolsUsed![AUDIT_LIST_MAX - 2]).toBe(`t${AUDIT_LIST_MAX - 2}`);
    expect(over.toolsUsed![AUDIT_LIST_MAX - 1]).toBe('… (2 more)');
    expect(over.reasons[AUDIT_LIST_MAX - 1]).toBe('… (2 more)');
  });

  test('left out: null and absent texts, numbers that are not finite, non-boolean auditOnly, non-object masked and usage', () => {
    expect(
      auditFields(
        ev({
          error: null,
          model: undefined,
          status: Number.NaN,
          latencyMs: '5',
          auditOnly: 'yes',
          masked: 5,
          usage: 'lots',
          toolsUsed: 'Bash',
          reasons: 'denied',
        }),
      ),
    ).toStrictEqual({ reasons: [] });
    expect(auditFields(ev({ masked: null, usage: null }))).toStrictEqual({ reasons: [] });
    expect(auditFields(ev({ auditOnly: false })).auditOnly).toBe(false);
    expect(auditFields(ev({ status: 0, mcpHidden: 2 }))).toMatchObject({ status: 0, mcpHidden: 2 });
  });

  test('masked: finite counts only, at most the list cap of categories, and __proto__ stays a plain key', () => {
    const many = Object.fromEntries(Array.from({ length: AUDIT_LIST_MAX + 5 }, (_, i) => [`c${i}`, i]));
    const out = auditFields(ev({ masked: { ...many, bad: Number.POSITIVE_INFINITY, text: '3' } })).masked!;
    expect(Object.keys(out)).toHaveLength(AUDIT_LIST_MAX);
    const proto = auditFields(ev({ masked: JSON.parse('{"__proto__": 2, "email": 1, "phone": "x"}') })).masked!;
    expect(Object.entries(proto)).toEqual([
      ['__proto__', 2],
      ['email', 1],
    ]);
  });

  test('usage: the four token counts, finite only, nothing else', () => {
    expect(
      auditFields(ev({ usage: { input_tokens: 3, output_tokens: Number.NaN, cache_read_input_tokens: 1, surprise: 9 } })).usage,
    ).toStrictEqual({
      input_tokens: 3,
      cache_read_input_tokens: 1,
    });
  });
});

describe('AuditChain lines', () => {
  test('an event with no field before "hash" in key order: the line is canonical and verifies', () => {
    const chain = new AuditChain();
    const a = chain.appendLine(ev({}));
    expect(a.line).toBe(canonicalJson(a.record));
    expect(a.line.startsWith('{"hash":')).toBe(true);
    const b = chain.appendLine(ev({ usage: { output_tokens: 2, input_tokens: 1 }, masked: { phone: 1, email: 2 } }));
    expect(b.line).toBe(canonicalJson(b.record));
    expect(verifyChain([a.line, b.line])).toMatchObject({ ok: true, records: 2 });
  });
});
