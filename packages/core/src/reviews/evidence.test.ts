import { reviewRows, dueRows, toCsv, usageByReview, REVIEW_COLUMNS } from './evidence.ts';
import { scopes, reviews, NOW } from '../../test/fixtures/policy.ts';
import type { AuditEvent } from '../audit/chain.ts';

const ev = (o: Partial<AuditEvent>): AuditEvent =>
  ({
    time: '2026-11-28T10:00:00Z',
    requestId: 'r',
    route: 'messages',
    method: 'POST',
    path: '/v1/messages',
    decision: 'allow',
    reasons: [],
    status: 200,
    latencyMs: 1,
    namespace: 'team-a',
    ...o,
  }) as AuditEvent;

test('rows carry people, times, state and the access used', () => {
  const usage = usageByReview([
    ev({ review: 'support-q4', model: 'claude-sonnet-4-5', usage: { input_tokens: 10, output_tokens: 5 } }),
    ev({ review: 'support-q4', model: 'claude-haiku-4-5', time: '2026-11-28T11:00:00Z', usage: { input_tokens: 3, output_tokens: 2 } }),
    ev({ review: 'support-q4', decision: 'deny', model: 'claude-opus-4-1', time: '2026-11-28T09:00:00Z' }),
  ]);
  const rows = reviewRows(reviews, scopes, NOW, { usage });
  const support = rows.find((r) => r.review === 'support-q4')!;
  expect(support).toMatchObject({
    scope: 'support',
    decision: 'Approved',
    valid: true,
    state: 'Valid',
    reviewer: 'carol@example.com',
    requests: 3,
    allowed: 2,
    denied: 1,
    firstUse: '2026-11-28T09:00:00Z',
    lastUse: '2026-11-28T11:00:00Z',
    models: 'claude-haiku-4-5 claude-sonnet-4-5',
    inputTokens: 13,
    outputTokens: 7,
  });
  expect(rows.find((r) => r.review === 'expired-q3')!.state).toBe('Expired');
  expect(rows.find((r) => r.review === 'ops-jit-alice-opus')).toMatchObject({
    type: 'JustInTime',
    requestSubject: 'User/alice@example.com',
    requestModel: 'claude-opus-4-1',
    expiresAt: '2026-11-28T12:30:00.000Z',
  });
});

test('due lists reviews expiring within the window and scopes without a valid review', () => {
  const rows = dueRows(reviews, scopes, NOW, 30 * 86_400_000);
  expect(rows.find((r) => r.scope === 'ops')).toMatchObject({ review: 'ops-nov', daysLeft: 21, state: 'ExpiringSoon' });
  expect(rows.find((r) => r.scope === 'expired')).toMatchObject({ state: 'NoValidReview' });
  expect(rows.find((r) => r.scope === 'support')).toBeUndefined();
});

test('CSV quotes, escapes and defuses formulas', () => {
  const csv = toCsv([{ a: 'x,y', b: 'say "hi"', c: '=cmd()' }], ['a', 'b', 'c']);
  expect(csv).toBe('a,b,c\r\n"x,y","say ""hi""",\'=cmd()\r\n');
  expect(toCsv(reviewRows(reviews, scopes, NOW), REVIEW_COLUMNS).split('\r\n')[0]).toBe(REVIEW_COLUMNS.join(','));
});

test('with audit records, a Periodic review lists the grants used and unused while it was in force', () => {
  const records = [
    ev({ scope: 'support', model: 'claude-sonnet-4-5', tools: ['Read'], toolsUsed: ['Read'], time: '2026-11-20T10:00:00Z' }),
    // Before the review was decided: not its use.
    ev({ scope: 'support', model: 'claude-haiku-4-5', time: '2026-10-01T10:00:00Z' }),
  ];
  const row = reviewRows(reviews, scopes, NOW, { records }).find((r) => r.review === 'support-q4')!;
  expect(row.grantsUsed).toBe('model:claude-sonnet-4-5 tool:Read');
  expect(row.grantsUnused).toContain('spec.models=claude-haiku-*');
  expect(row.grantsUnused).not.toContain('spec.models=claude-sonnet-4-*');
  // Without records the columns stay empty rather than claiming nothing was used.
  expect(reviewRows(reviews, scopes, NOW).find((r) => r.review === 'support-q4')).toMatchObject({ grantsUsed: '', grantsUnused: '' });
});
