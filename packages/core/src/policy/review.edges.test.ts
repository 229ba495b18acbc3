// The edges of review validity that mutation testing found unguarded (docs/testing.md): the
// exact messages a person acts on, the period boundary, the defaults, the expiring-soon window
// switched off, and who counts as the requester.
import { reviewValidity, reviewTimeline, isSelfApproval } from './review.ts';
import { scope, review } from '../../test/fixtures/policy.ts';

const at = (t: string) => Date.parse(t);
const reviewers = [{ kind: 'Group' as const, name: 'g' }];
const s = scope('s', { review: { period: '90d', expiringSoonWindow: '14d', reviewers } });
const now = at('2026-12-01T00:00:00Z');

describe('messages name the review, the scope and the fix', () => {
  test.each([
    [
      'ScopeNotFound',
      () => reviewValidity(review('r', 'gone'), undefined, now),
      'ModelScope gone does not exist in namespace team-a; create it or point spec.scopeRef at an existing scope.',
    ],
    [
      'Revoked with a reviewer',
      () => reviewValidity(review('r', 's', { decision: 'Revoked', reviewer: 'carol@example.com' }), s, now),
      'Review team-a/r was revoked by carol@example.com; access needs a new approved review.',
    ],
    [
      'Revoked without a reviewer',
      () => reviewValidity(review('r', 's', { decision: 'Revoked', reviewer: undefined }), s, now),
      'Review team-a/r was revoked; access needs a new approved review.',
    ],
    [
      'Pending',
      () => reviewValidity(review('r', 's', { decision: 'Pending' }), s, now),
      'Review team-a/r awaits a decision from a reviewer of ModelScope s.',
    ],
    [
      'Approved without dates',
      () => reviewValidity(review('r', 's', { reviewedAt: undefined }), s, now),
      'Review team-a/r is Approved but lacks reviewedAt or expiresAt; set both.',
    ],
    [
      'Approved with a date that does not parse',
      () => reviewValidity(review('r', 's', { expiresAt: 'soon' }), s, now),
      'Review team-a/r is Approved but lacks reviewedAt or expiresAt; set both.',
    ],
    [
      'SelfApproval',
      () => reviewValidity(review('r', 's', { requestedBy: 'carol@example.com' }), s, now),
      'Review team-a/r was approved by carol@example.com, who asked for the access; another reviewer must approve it.',
    ],
    [
      'PeriodExceeded',
      () => reviewValidity(review('r', 's', { expiresAt: '2027-03-01T00:00:00Z' }), s, now),
      "Review team-a/r lasts longer than the scope's review period of 90d; approve it again with an earlier expiresAt.",
    ],
    [
      'Expired',
      () => reviewValidity(review('r', 's'), s, at('2027-02-01T00:00:00Z')),
      'Review team-a/r expired at 2027-01-30T10:00:00.000Z; a reviewer of ModelScope s must approve a new review.',
    ],
    ['Approved', () => reviewValidity(review('r', 's'), s, now), 'Approved by carol@example.com until 2027-01-30T10:00:00.000Z.'],
  ])('%s', (name, get, message) => {
    const v = get();
    expect(v.message).toBe(message);
    expect(v.reason).toBe(name.split(' ')[0] === 'Approved' && name !== 'Approved' ? 'Pending' : name.split(' ')[0]);
  });

  test('a review without a namespace is named /<name>', () => {
    const r = review('r', 's', { decision: 'Pending' });
    delete (r.metadata as { namespace?: string }).namespace;
    expect(reviewValidity(r, s, now).message).toBe('Review /r awaits a decision from a reviewer of ModelScope s.');
  });
});

describe('the review period', () => {
  const exactly = review('r', 's', { reviewedAt: '2026-11-01T10:00:00Z', expiresAt: '2027-01-30T10:00:00Z' }); // 90 days
  test('exactly the period is allowed; one millisecond more is not, and still reports its expiry', () => {
    expect(reviewValidity(exactly, s, now)).toMatchObject({ valid: true, reason: 'Approved' });
    const longer = review('r', 's', { reviewedAt: '2026-11-01T10:00:00Z', expiresAt: '2027-01-30T10:00:00.001Z' });
    expect(reviewValidity(longer, s, now)).toMatchObject({
      valid: false,
      reason: 'PeriodExceeded',
      expiresAt: at('2027-01-30T10:00:00.001Z'),
      expiringSoon: false,
    });
  });
  test('without a review section the defaults apply: 90d period, 14d window', () => {
    const bare = scope('s', {});
    delete (bare.spec as { review?: unknown }).review;
    expect(reviewTimeline(exactly, bare)).toEqual({ expiresAt: at('2027-01-30T10:00:00Z'), expiringSoonAt: at('2027-01-16T10:00:00Z') });
    const longer = review('r', 's', { reviewedAt: '2026-11-01T10:00:00Z', expiresAt: '2027-01-30T10:00:01Z' });
    expect(reviewValidity(longer, bare, now).message).toContain('review period of 90d');
  });
  test('a zero window means never expiring soon: the next edge is the expiry', () => {
    const noWindow = scope('s', { review: { period: '90d', expiringSoonWindow: '0s', reviewers } });
    expect(reviewTimeline(exactly, noWindow)).toEqual({ expiresAt: at('2027-01-30T10:00:00Z'), expiringSoonAt: undefined });
    expect(reviewValidity(exactly, noWindow, at('2027-01-30T09:00:00Z'))).toMatchObject({
      valid: true,
      expiringSoon: false,
      nextEdge: at('2027-01-30T10:00:00Z'),
    });
  });
  test('expiring soon starts at the window start, to the millisecond', () => {
    expect(reviewValidity(exactly, s, at('2027-01-16T09:59:59.999Z'))).toMatchObject({
      expiringSoon: false,
      expiringSoonAt: at('2027-01-16T10:00:00Z'),
      nextEdge: at('2027-01-16T10:00:00Z'),
    });
    expect(reviewValidity(exactly, s, at('2027-01-16T10:00:00Z'))).toMatchObject({
      expiringSoon: true,
      nextEdge: at('2027-01-30T10:00:00Z'),
    });
  });
  test('an invalid or expired review is never expiring soon and has no next edge', () => {
    const expired = reviewValidity(exactly, s, at('2027-02-01T00:00:00Z'));
    expect(expired).toEqual({
      valid: false,
      reason: 'Expired',
      message: expect.any(String),
      expiresAt: at('2027-01-30T10:00:00Z'),
      expiringSoon: false,
    });
    expect(reviewValidity(review('r', 's', { decision: 'Pending' }), s, now)).toEqual({
      valid: false,
      reason: 'Pending',
      message: expect.any(String),
      expiresAt: undefined,
      expiringSoon: false,
    });
  });
});

describe('JustInTime grants', () => {
  const j = (grantDuration?: string) => {
    const ops = scope('o', { approval: { ...(grantDuration && { grantDuration }), approvers: reviewers } });
    const r = review('j', 'o', {
      type: 'JustInTime',
      reviewedAt: '2026-11-28T10:00:00Z',
      expiresAt: '2026-11-28T10:30:00Z',
      request: { subject: { kind: 'User', name: 'a' } },
    });
    return reviewTimeline(r, ops);
  };
  test('end at expiresAt when that is earlier than the grant, else at reviewedAt + grant (default 1h); never expiring soon', () => {
    expect(j('2h')).toEqual({ expiresAt: at('2026-11-28T10:30:00Z') });
    expect(j('10m')).toEqual({ expiresAt: at('2026-11-28T10:10:00Z') });
    expect(j()).toEqual({ expiresAt: at('2026-11-28T10:30:00Z') });
    const long = review('j', 'o', {
      type: 'JustInTime',
      reviewedAt: '2026-11-28T10:00:00Z',
      expiresAt: '2026-11-29T00:00:00Z',
      request: { subject: { kind: 'User', name: 'a' } },
    });
    expect(reviewTimeline(long, scope('o', {}))).toEqual({ expiresAt: at('2026-11-28T11:00:00Z') });
  });
});

describe('who asked', () => {
  test('no reviewer (or only spaces) is never self-approval', () => {
    expect(isSelfApproval(review('a', 's', { reviewer: undefined, requestedBy: 'x' }))).toBe(false);
    expect(isSelfApproval(review('a', 's', { reviewer: '  ', requestedBy: '  ' }))).toBe(false);
  });
  test('surrounding spaces do not hide the requester', () => {
    expect(isSelfApproval(review('a', 's', { reviewer: ' dave@example.com ', requestedBy: 'Dave@Example.com  ' }))).toBe(true);
  });
  test("a service account subject without a namespace is the review's namespace", () => {
    const r = review('b', 's', {
      reviewer: 'system:serviceaccount:team-a:bot',
      type: 'JustInTime',
      request: { subject: { kind: 'ServiceAccount', name: 'bot' } },
    });
    expect(isSelfApproval(r)).toBe(true);
    const other = review('b', 's', {
      reviewer: 'system:serviceaccount:team-b:bot',
      type: 'JustInTime',
      request: { subject: { kind: 'ServiceAccount', name: 'bot' } },
    });
    expect(isSelfApproval(other)).toBe(false);
  });
  test('a User subject is not given the service-account form', () => {
    const r = review('c', 's', {
      reviewer: 'system:serviceaccount:team-a:bot',
      type: 'JustInTime',
      request: { subject: { kind: 'User', name: 'bot' } },
    });
    expect(isSelfApproval(r)).toBe(false);
  });
});
