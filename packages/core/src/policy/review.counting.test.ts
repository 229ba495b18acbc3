// Which Periodic review decides a scope (countingPeriodic) and what the others say about it
// (reviewValidity with siblings): newest decided wins, a revocation wins a tie, then the name;
// Pending and JustInTime reviews decide nothing; a review without dates sorts to fail closed.
import { countingPeriodic, decidedAt, reviewValidity } from './review.ts';
import { scope, review } from '../../test/fixtures/policy.ts';

const s = scope('s', {});
const now = Date.parse('2026-12-01T00:00:00Z');
const pick = (...rs: ReturnType<typeof review>[]) => countingPeriodic(rs, (r) => r)?.metadata.name;

describe('countingPeriodic', () => {
  test('the newest decided review, whatever the order given', () => {
    const old = review('old', 's', { reviewedAt: '2026-10-01T00:00:00Z' });
    const mid = review('mid', 's', { reviewedAt: '2026-11-01T00:00:00Z' });
    expect(pick(old, mid)).toBe('mid');
    expect(pick(mid, old)).toBe('mid');
    expect(pick(old)).toBe('old');
    expect(pick()).toBeUndefined();
  });

  test('Pending and JustInTime reviews decide nothing', () => {
    const approved = review('approved', 's', { reviewedAt: '2026-10-01T00:00:00Z' });
    const pending = review('pending', 's', { decision: 'Pending', reviewedAt: '2026-11-20T10:00:00Z' });
    const jit = review('jit', 's', { type: 'JustInTime', reviewedAt: '2026-11-20T10:00:00Z' });
    expect(pick(pending, jit, approved)).toBe('approved');
    expect(pick(pending, jit)).toBeUndefined();
  });

  test('ties: a revocation wins, then the smaller name', () => {
    const t = '2026-11-01T00:00:00Z';
    const a = review('a', 's', { reviewedAt: t });
    const b = review('b', 's', { reviewedAt: t });
    const z = review('z', 's', { reviewedAt: t, decision: 'Revoked' });
    expect(pick(a, b)).toBe('a');
    expect(pick(b, a)).toBe('a');
    expect(pick(a, z)).toBe('z');
    expect(pick(z, a)).toBe('z');
    const y = review('y', 's', { reviewedAt: t, decision: 'Revoked' });
    expect(pick(z, y)).toBe('y');
  });

  test('without reviewedAt: the creation time, else a revocation sorts newest and an approval oldest', () => {
    const created = {
      ...review('c', 's', { reviewedAt: undefined }),
      metadata: { name: 'c', namespace: 'team-a', creationTimestamp: '2026-11-15T00:00:00Z' },
    };
    expect(decidedAt(created as never)).toBe(Date.parse('2026-11-15T00:00:00Z'));
    expect(decidedAt(review('r', 's', { reviewedAt: undefined, decision: 'Revoked' }))).toBe(Infinity);
    expect(decidedAt(review('a', 's', { reviewedAt: undefined }))).toBe(-Infinity);
    const dated = review('dated', 's', { reviewedAt: '2026-01-01T00:00:00Z' });
    expect(pick(dated, review('undated', 's', { reviewedAt: undefined }))).toBe('dated');
    expect(pick(dated, review('revoked-undated', 's', { reviewedAt: undefined, decision: 'Revoked' }))).toBe('revoked-undated');
    // only undated approvals: one of them still counts (the first by name)
    expect(pick(review('u2', 's', { reviewedAt: undefined }), review('u1', 's', { reviewedAt: undefined }))).toBe('u1');
  });
});

describe('reviewValidity with siblings', () => {
  const older = review('older', 's'); // reviewed 2026-11-01T10:00Z, expires 2027-01-30T10:00Z

  test('replaced by a newer approval: Superseded, naming it', () => {
    const newer = review('newer', 's', { reviewedAt: '2026-11-20T10:00:00Z' });
    expect(reviewValidity(older, s, now, [older, newer])).toEqual({
      valid: false,
      reason: 'Superseded',
      message: "Review team-a/older no longer counts: the newer review team-a/newer decides the scope's access.",
      expiresAt: Date.parse('2027-01-30T10:00:00Z'),
      expiringSoon: false,
    });
    expect(reviewValidity(newer, s, now, [older, newer])).toMatchObject({ valid: true, reason: 'Approved' });
  });

  test('ended by a newer revocation: Revoked, naming it and who revoked it', () => {
    const revoked = review('revoked', 's', { reviewedAt: '2026-11-20T10:00:00Z', decision: 'Revoked', reviewer: 'dave@example.com' });
    expect(reviewValidity(older, s, now, [revoked])).toEqual({
      valid: false,
      reason: 'Revoked',
      message:
        'Review team-a/older no longer counts: the newer review team-a/revoked was revoked by dave@example.com; access needs a new approved review.',
      expiresAt: Date.parse('2027-01-30T10:00:00Z'),
      expiringSoon: false,
    });
    const anonymous = { ...revoked, spec: { ...revoked.spec, reviewer: undefined } };
    expect(reviewValidity(older, s, now, [anonymous]).message).toBe(
      'Review team-a/older no longer counts: the newer review team-a/revoked was revoked; access needs a new approved review.',
    );
  });

  test('a sibling with its own name is the review itself; JustInTime reviews and reviews without namespace', () => {
    const sameName = review('older', 's', { reviewedAt: '2026-11-25T10:00:00Z', decision: 'Revoked' });
    expect(reviewValidity(older, s, now, [sameName]).valid).toBe(true);
    const jit = review('jit', 's', { type: 'JustInTime', reviewedAt: '2026-11-28T11:30:00Z', expiresAt: '2026-11-28T12:00:00Z' });
    expect(reviewValidity(jit, s, Date.parse('2026-11-28T11:40:00Z'), [older]).valid).toBe(true);
    const bare = { ...older, metadata: { name: 'older' } };
    const newerBare = { ...review('newer', 's', { reviewedAt: '2026-11-20T10:00:00Z' }), metadata: { name: 'newer' } };
    expect(reviewValidity(bare, s, now, [newerBare]).message).toBe(
      "Review /older no longer counts: the newer review /newer decides the scope's access.",
    );
  });

  test('an expired or invalid review says so first, siblings or not', () => {
    const expired = review('expired', 's', { reviewedAt: '2026-08-01T00:00:00Z', expiresAt: '2026-10-30T00:00:00Z' });
    expect(reviewValidity(expired, s, now, [older]).reason).toBe('Expired');
  });
});
