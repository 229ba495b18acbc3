import { reviewValidity, isSelfApproval } from './review.ts';
import { scope, review } from '../../test/fixtures/policy.ts';

const s = scope('s', { review: { period: '90d', expiringSoonWindow: '14d', reviewers: [{ kind: 'Group', name: 'g' }] } });
const at = (t: string) => Date.parse(t);

describe('reviewValidity', () => {
  const r = review('r', 's', { reviewedAt: '2026-11-01T10:00:00Z', expiresAt: '2027-01-30T10:00:00Z' });
  test('valid, with the next edge at the start of the window', () => {
    const v = reviewValidity(r, s, at('2026-12-01T00:00:00Z'));
    expect(v).toMatchObject({
      valid: true,
      reason: 'Approved',
      expiringSoon: false,
      expiresAt: at('2027-01-30T10:00:00Z'),
      nextEdge: at('2027-01-16T10:00:00Z'),
    });
  });
  test('expiring soon inside the window, next edge at expiry', () => {
    const v = reviewValidity(r, s, at('2027-01-16T10:00:00Z'));
    expect(v).toMatchObject({ valid: true, expiringSoon: true, nextEdge: at('2027-01-30T10:00:00Z') });
  });
  test('expired at the exact second', () => {
    expect(reviewValidity(r, s, at('2027-01-30T09:59:59Z')).valid).toBe(true);
    expect(reviewValidity(r, s, at('2027-01-30T10:00:00Z'))).toMatchObject({ valid: false, reason: 'Expired' });
  });
  test('every reason', () => {
    const now = at('2026-12-01T00:00:00Z');
    expect(reviewValidity(r, undefined, now).reason).toBe('ScopeNotFound');
    expect(reviewValidity(review('p', 's', { decision: 'Pending' }), s, now).reason).toBe('Pending');
    expect(reviewValidity(review('x', 's', { decision: 'Revoked' }), s, now).reason).toBe('Revoked');
    expect(reviewValidity(review('l', 's', { expiresAt: '2027-03-01T00:00:00Z' }), s, now).reason).toBe('PeriodExceeded');
    expect(reviewValidity(review('m', 's', { requestedBy: 'carol@example.com' }), s, now).reason).toBe('SelfApproval');
  });
  test('JustInTime lasts reviewedAt + grantDuration at most', () => {
    const ops = scope('o', { approval: { grantDuration: '1h', approvers: [{ kind: 'Group', name: 'g' }] } });
    const j = review('j', 'o', {
      type: 'JustInTime',
      reviewedAt: '2026-11-28T10:00:00Z',
      expiresAt: '2026-11-30T00:00:00Z',
      request: { subject: { kind: 'User', name: 'a' } },
    });
    expect(reviewValidity(j, ops, at('2026-11-28T10:59:59Z')).valid).toBe(true);
    expect(reviewValidity(j, ops, at('2026-11-28T11:00:00Z')).reason).toBe('Expired');
  });
  test('self approval through a JustInTime subject, a service account or case', () => {
    expect(
      isSelfApproval(
        review('a', 's', {
          reviewer: 'Alice@Example.com',
          type: 'JustInTime',
          request: { subject: { kind: 'User', name: 'alice@example.com' } },
        }),
      ),
    ).toBe(true);
    expect(
      isSelfApproval(
        review('b', 's', {
          reviewer: 'system:serviceaccount:team-a:bot',
          type: 'JustInTime',
          request: { subject: { kind: 'ServiceAccount', name: 'bot', namespace: 'team-a' } },
        }),
      ),
    ).toBe(true);
    expect(isSelfApproval(review('c', 's', { reviewer: 'carol@example.com', requestedBy: 'dave@example.com' }))).toBe(false);
  });
});
