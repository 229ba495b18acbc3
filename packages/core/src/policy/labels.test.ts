// Issue 14 class 9: request-derived metric labels and audit fields are bounded.
import { compilePolicy } from './compile.ts';
import { modelLabel, OTHER_LABEL } from './labels.ts';
import { auditFields, AUDIT_FIELD_MAX, AUDIT_LIST_MAX, type AuditEvent } from '../audit/chain.ts';
import { scopes, reviews } from '../../test/fixtures/policy.ts';

const snap = compilePolicy(scopes, reviews, { namespace: 'team-a' });

test("a model is its own label only when some scope's glob matches it", () => {
  expect(modelLabel(snap, 'claude-sonnet-4-5')).toBe('claude-sonnet-4-5');
  expect(modelLabel(snap, 'claude-opus-4-1')).toBe('claude-opus-4-1'); // approval.requiredFor.models
  for (let i = 0; i < 200; i++) expect(modelLabel(snap, `random-${i}-${Math.random()}`)).toBe(OTHER_LABEL);
  expect(modelLabel(snap, `claude-sonnet-4-${'x'.repeat(100)}`)).toBe(OTHER_LABEL);
  expect(modelLabel(undefined, 'claude-sonnet-4-5')).toBe(OTHER_LABEL);
  expect(modelLabel(snap, undefined)).toBe('');
});

test('audit fields from the request are capped in length and count', () => {
  const e = auditFields({
    time: 't',
    requestId: 'r',
    route: 'messages',
    method: 'POST',
    path: `/${'p'.repeat(10_000)}`,
    model: 'm'.repeat(10_000),
    sessionId: 's'.repeat(10_000),
    subject: `User ${'u'.repeat(10_000)}`,
    tools: Array.from({ length: 1000 }, (_, i) => `${i}-${'t'.repeat(2000)}`),
    decision: 'deny',
    reasons: ['ModelNotAllowed'],
    status: 403,
    latencyMs: 1,
  } as AuditEvent);
  for (const v of [e.path, e.model, e.sessionId, e.subject]) expect(v!.length).toBeLessThanOrEqual(AUDIT_FIELD_MAX);
  expect(e.model!.endsWith('…')).toBe(true);
  expect(e.tools).toHaveLength(AUDIT_LIST_MAX);
  expect(e.tools![AUDIT_LIST_MAX - 1]).toBe(`… (${1000 - AUDIT_LIST_MAX + 1} more)`);
  for (const t of e.tools!) expect(t.length).toBeLessThanOrEqual(AUDIT_FIELD_MAX);
});
