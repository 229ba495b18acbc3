// Issue 14 class 5: the newest decided Periodic review of a scope counts; a revocation ends access
// until a newer approval, whatever older approvals say.
import { compilePolicy } from './compile.ts';
import { decide } from './decide.ts';
import { countingPeriodic, reviewValidity } from './review.ts';
import { NOW, scope, review, sa, messages } from '../../test/fixtures/policy.ts';

const s = scope('two', { subjects: [{ kind: 'ServiceAccount', name: 'bot' }] });
const older = review('older', 'two', { reviewedAt: '2026-11-01T10:00:00Z', expiresAt: '2027-01-30T10:00:00Z' });
const newer = review('newer', 'two', { reviewedAt: '2026-11-20T10:00:00Z', expiresAt: '2027-02-10T10:00:00Z' });
const newerRevoked = review('newer', 'two', { decision: 'Revoked', reviewedAt: '2026-11-27T10:00:00Z', expiresAt: '2027-02-10T10:00:00Z' });
const later = review('later', 'two', { reviewedAt: '2026-11-28T09:00:00Z', expiresAt: '2027-02-20T10:00:00Z' });
const pending = review('pending', 'two', { decision: 'Pending', reviewer: undefined, reviewedAt: undefined, expiresAt: undefined });
const effect = (...reviews: ReturnType<typeof review>[]) =>
  decide(compilePolicy([s], reviews, { namespace: 'team-a' }), sa('bot'), messages(), NOW);

test('two approvals, the newer revoked: access ends although the older is still approved', () => {
  expect(effect(older, newerRevoked)).toMatchObject({ effect: 'deny', reasons: [{ code: 'ReviewRevoked', rule: 'AccessReview newer' }] });
});

test('revoking the older one (its reviewedAt becomes the revocation time) ends access too, until a newer approval', () => {
  const olderRevoked = review('older', 'two', {
    decision: 'Revoked',
    reviewedAt: '2026-11-27T10:00:00Z',
    expiresAt: '2027-01-30T10:00:00Z',
  });
  expect(effect(olderRevoked, newer).effect).toBe('deny');
  expect(effect(olderRevoked, newer, later)).toMatchObject({ effect: 'allow', review: 'later' });
});

test('a newer Pending review decides nothing', () => {
  expect(effect(older, newerRevoked, pending).effect).toBe('deny');
  expect(effect(older, pending)).toMatchObject({ effect: 'allow', review: 'older' });
});

test('the newest approval counts even when an older one lasts longer', () => {
  const short = review('short', 'two', { reviewedAt: '2026-11-25T10:00:00Z', expiresAt: '2026-11-28T13:00:00Z' });
  expect(effect(older, short)).toMatchObject({ effect: 'allow', review: 'short' });
  const d = decide(compilePolicy([s], [older, short], { namespace: 'team-a' }), sa('bot'), messages(), Date.parse('2026-11-28T13:00:00Z'));
  expect(d).toMatchObject({ effect: 'deny', reasons: [{ code: 'ReviewExpired' }] });
});

test("the operator's view (reviewValidity with siblings) agrees", () => {
  expect(countingPeriodic([older, newerRevoked], (r) => r)?.metadata.name).toBe('newer');
  expect(reviewValidity(older, s, NOW, [older, newerRevoked])).toMatchObject({ valid: false, reason: 'Revoked' });
  expect(reviewValidity(older, s, NOW, [newer])).toMatchObject({ valid: false, reason: 'Superseded' });
  expect(reviewValidity(newer, s, NOW, [older])).toMatchObject({ valid: true });
  expect(reviewValidity(older, s, NOW)).toMatchObject({ valid: true });
});
