import type { AccessReview, ModelScope } from '@scopekeeper/core';
import { reconcileReview, reconcileScope, nextReviewName, EXPIRING_SOON, VALID, ANNOTATION_PREVIOUS } from './reconcile.ts';
import { setCondition, findCondition, rfc3339Seconds, type Condition } from './conditions.ts';

const at = (t: string) => Date.parse(t);
const NS = 'team-a';

function scope(name: string, spec: Partial<ModelScope['spec']> = {}): ModelScope {
  return {
    metadata: { name, namespace: NS, uid: `uid-${name}`, generation: 1 },
    spec: {
      subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
      models: ['claude-*'],
      review: { period: '90d', expiringSoonWindow: '14d', reviewers: [{ kind: 'Group', name: 'leads' }] },
      ...spec,
    },
  };
}

function review(name: string, over: Partial<AccessReview['spec']> = {}, status?: AccessReview['status']): AccessReview {
  return {
    metadata: { name, namespace: NS, generation: 1, resourceVersion: '1' },
    spec: {
      scopeRef: { name: 's' },
      type: 'Periodic',
      decision: 'Approved',
      reviewer: 'carol@example.com',
      requestedBy: 'dave@example.com',
      reviewedAt: '2026-11-01T10:00:00Z',
      expiresAt: '2027-01-30T10:00:00Z',
      justification: 'why',
      evidence: ['https://tickets.example.com/SEC-1'],
      ...over,
    },
    ...(status ? { status } : {}),
  };
}

/** Applies a reconcile's status to the review, as the API server would store it. */
const written = (r: AccessReview, now: number, s = scope('s'), siblings: AccessReview[] = []): AccessReview => {
  const res = reconcileReview({ review: r, scope: s, siblings: () => siblings, now });
  return { ...r, status: res.status ?? r.status };
};

describe('conditions', () => {
  test('lastTransitionTime changes only when the status does', () => {
    const t0 = at('2026-12-01T00:00:00Z');
    let list: Condition[] = setCondition(undefined, { type: 'A', status: 'True', reason: 'R', message: 'm' }, t0);
    expect(list[0]!.lastTransitionTime).toBe('2026-12-01T00:00:00Z');
    list = setCondition(list, { type: 'A', status: 'True', reason: 'R2', message: 'm2' }, t0 + 60_000);
    expect(list[0]).toMatchObject({ reason: 'R2', message: 'm2', lastTransitionTime: '2026-12-01T00:00:00Z' });
    list = setCondition(list, { type: 'A', status: 'False', reason: 'R3', message: 'm3' }, t0 + 120_500);
    expect(list[0]!.lastTransitionTime).toBe('2026-12-01T00:02:00Z');
  });
  test('other conditions are kept, in place', () => {
    const list = setCondition(
      [{ type: 'X', status: 'True', reason: 'x', message: '', lastTransitionTime: 't' }],
      { type: 'A', status: 'True', reason: 'r', message: '' },
      0,
    );
    expect(list.map((c) => c.type)).toEqual(['X', 'A']);
    expect(rfc3339Seconds(1500)).toBe('1970-01-01T00:00:01Z');
  });
});

describe('reconcileReview', () => {
  const s = scope('s');

  test('a valid review: Valid True (Approved), ExpiringSoon False, expiresAt, observedGeneration, next edge at the window', () => {
    const now = at('2026-12-01T00:00:00Z');
    const res = reconcileReview({ review: review('r'), scope: s, siblings: () => [], now });
    expect(res.status).toMatchObject({ observedGeneration: 1, expiresAt: '2027-01-30T10:00:00Z' });
    expect(findCondition(res.status!.conditions, VALID)).toMatchObject({
      status: 'True',
      reason: 'Approved',
      observedGeneration: 1,
      lastTransitionTime: '2026-12-01T00:00:00Z',
    });
    expect(findCondition(res.status!.conditions, EXPIRING_SOON)).toMatchObject({ status: 'False', reason: 'NotExpiringSoon' });
    expect(res.requeueAt).toBe(at('2027-01-16T10:00:00Z'));
    expect(res.events).toEqual([]);
    expect(res.create).toBeUndefined();
  });

  test('nothing to write when the status is already right', () => {
    const now = at('2026-12-01T00:00:00Z');
    const r = written(review('r'), now);
    const again = reconcileReview({ review: r, scope: s, siblings: () => [], now: now + 3_600_000 });
    expect(again.status).toBeUndefined();
    expect(again.events).toEqual([]);
  });

  test("every reason of core's reviewValidity becomes the Valid reason", () => {
    const now = at('2026-12-01T00:00:00Z');
    const reason = (r: AccessReview, sc: ModelScope | null = s) =>
      findCondition(reconcileReview({ review: r, scope: sc ?? undefined, siblings: () => [], now }).status!.conditions, VALID);
    expect(reason(review('p', { decision: 'Pending' }))).toMatchObject({ status: 'False', reason: 'Pending' });
    expect(reason(review('x', { decision: 'Revoked' }))).toMatchObject({ status: 'False', reason: 'Revoked' });
    expect(reason(review('n'), null)).toMatchObject({ status: 'False', reason: 'ScopeNotFound' });
    expect(reason(review('l', { expiresAt: '2027-03-01T00:00:00Z' }))).toMatchObject({ status: 'False', reason: 'PeriodExceeded' });
    expect(reason(review('m', { requestedBy: 'carol@example.com' }))).toMatchObject({ status: 'False', reason: 'SelfApproval' });
    expect(reason(review('e', { expiresAt: '2026-11-30T00:00:00Z' }))).toMatchObject({ status: 'False', reason: 'Expired' });
  });

  test('expiry: Valid flips to False/Expired at the deadline, stamped with the deadline, with a Warning Event', () => {
    const r = written(review('r', { expiresAt: '2026-12-01T00:00:05Z' }), at('2026-12-01T00:00:00Z'));
    const before = reconcileReview({ review: r, scope: s, siblings: () => [], now: at('2026-12-01T00:00:04.999Z') });
    expect(before.status).toBeUndefined();
    expect(before.requeueAt).toBe(at('2026-12-01T00:00:05Z'));
    const late = reconcileReview({ review: r, scope: s, siblings: () => [], now: at('2026-12-01T00:00:05.300Z') });
    expect(findCondition(late.status!.conditions, VALID)).toMatchObject({
      status: 'False',
      reason: 'Expired',
      lastTransitionTime: '2026-12-01T00:00:05Z',
    });
    expect(late.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ReviewExpired' })]);
    expect(late.requeueAt).toBeUndefined();
    // Written once, the event is not repeated.
    const after = { ...r, status: late.status };
    expect(reconcileReview({ review: after, scope: s, siblings: () => [], now: at('2026-12-01T00:01:00Z') }).events).toEqual([]);
  });

  test('revocation: Valid False/Revoked at once, Warning ReviewRevoked', () => {
    const r = written(review('r'), at('2026-12-01T00:00:00Z'));
    const revoked = { ...r, metadata: { ...r.metadata, generation: 2 }, spec: { ...r.spec, decision: 'Revoked' as const } };
    const res = reconcileReview({ review: revoked, scope: s, siblings: () => [], now: at('2026-12-01T00:00:10Z') });
    expect(findCondition(res.status!.conditions, VALID)).toMatchObject({
      status: 'False',
      reason: 'Revoked',
      observedGeneration: 2,
      lastTransitionTime: '2026-12-01T00:00:10Z',
    });
    expect(res.status!.observedGeneration).toBe(2);
    expect(res.status!.expiresAt).toBeUndefined();
    expect(res.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'ReviewRevoked']]);
  });

  test('a review first seen expired or revoked gets its status but no Event (nothing changed that anybody saw)', () => {
    const res = reconcileReview({
      review: review('old', { expiresAt: '2026-11-30T00:00:00Z' }),
      scope: s,
      siblings: () => [],
      now: at('2026-12-01T00:00:00Z'),
    });
    expect(res.events).toEqual([]);
  });

  test('the window opens: ExpiringSoon True, a Normal Event, and the next Pending review, once', () => {
    const r = written(review('r'), at('2026-12-01T00:00:00Z'));
    const now = at('2027-01-16T10:00:00.200Z');
    const res = reconcileReview({ review: r, scope: s, siblings: () => [r], now });
    expect(findCondition(res.status!.conditions, EXPIRING_SOON)).toMatchObject({
      status: 'True',
      reason: 'ExpiringSoon',
      lastTransitionTime: '2027-01-16T10:00:00Z',
    });
    expect(findCondition(res.status!.conditions, VALID)!.lastTransitionTime).toBe('2026-12-01T00:00:00Z');
    expect(res.events.map((e) => [e.type, e.reason])).toEqual([['Normal', 'ReviewExpiringSoon']]);
    expect(res.requeueAt).toBe(at('2027-01-30T10:00:00Z'));
    expect(res.create).toMatchObject({
      metadata: {
        name: 's-20270130',
        namespace: NS,
        annotations: { [ANNOTATION_PREVIOUS]: 'r' },
        ownerReferences: [{ kind: 'ModelScope', name: 's', uid: 'uid-s' }],
      },
      spec: {
        scopeRef: { name: 's' },
        type: 'Periodic',
        decision: 'Pending',
        evidence: ['/apis/scopekeeper.dev/v1alpha1/namespaces/team-a/accessreviews/r', 'https://tickets.example.com/SEC-1'],
      },
    });
    expect(res.create!.spec.requestedBy).toBeUndefined();
    expect(res.create!.spec.justification).toBeUndefined();
    // Once it exists (in the cache), it is not asked for again.
    const next = res.create!;
    expect(reconcileReview({ review: r, scope: s, siblings: () => [r, next], now }).create).toBeUndefined();
  });

  test('only the review that carries the scope (valid, lasting longest) opens the next one', () => {
    const now = at('2027-01-20T00:00:00Z');
    const ending = review('ending', { expiresAt: '2027-01-30T10:00:00Z' });
    const newer = review('newer', { reviewedAt: '2027-01-10T00:00:00Z', expiresAt: '2027-04-01T00:00:00Z' });
    expect(reconcileReview({ review: ending, scope: s, siblings: () => [ending, newer], now }).create).toBeUndefined();
    expect(reconcileReview({ review: ending, scope: s, siblings: () => [ending], now }).create?.metadata.name).toBe('s-20270130');
  });

  test('JustInTime reviews have no window and expire at reviewedAt + grantDuration', () => {
    const ops = scope('s', { approval: { grantDuration: '1h', approvers: [{ kind: 'Group', name: 'g' }] } });
    const j = review('j', {
      type: 'JustInTime',
      reviewedAt: '2026-12-01T10:00:00Z',
      expiresAt: '2026-12-02T00:00:00Z',
      request: { subject: { kind: 'User', name: 'a' } },
    });
    const res = reconcileReview({ review: j, scope: ops, siblings: () => [], now: at('2026-12-01T10:30:00Z') });
    expect(res.status!.expiresAt).toBe('2026-12-01T11:00:00Z');
    expect(res.requeueAt).toBe(at('2026-12-01T11:00:00Z'));
    expect(findCondition(res.status!.conditions, EXPIRING_SOON)).toMatchObject({ status: 'False' });
    expect(res.create).toBeUndefined();
  });

  test('nextReviewName fits a Kubernetes name', () => {
    expect(nextReviewName('support-agent', at('2027-01-30T10:00:00Z'))).toBe('support-agent-20270130');
    expect(nextReviewName('x'.repeat(253), 0).length).toBeLessThanOrEqual(253);
  });
});

describe('reconcileScope', () => {
  const now = at('2026-12-01T00:00:00Z');
  test('Ready True; validReview and expiresAt from the Periodic review that counts (the newest decided)', () => {
    const res = reconcileScope({
      scope: scope('s'),
      reviews: [
        review('a', { reviewedAt: '2026-11-02T10:00:00Z', expiresAt: '2027-01-25T00:00:00Z' }),
        review('b', { reviewedAt: '2026-11-03T10:00:00Z', expiresAt: '2027-01-20T00:00:00Z' }),
        review('c', { decision: 'Revoked', expiresAt: '2027-01-25T00:00:00Z' }),
        review('j', {
          type: 'JustInTime',
          reviewedAt: '2026-11-04T10:00:00Z',
          expiresAt: '2027-01-29T00:00:00Z',
          request: { subject: { kind: 'User', name: 'u' } },
        }),
      ],
      now,
    });
    expect(res.status).toMatchObject({ observedGeneration: 1, validReview: 'b', expiresAt: '2027-01-20T00:00:00Z' });
    expect(findCondition(res.status!.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Valid' });
    expect(res.requeueAt).toBe(at('2027-01-20T00:00:00Z'));
    expect(res.events).toEqual([]);
  });

  test('Ready False with the problems; ScopeInvalid once, on becoming invalid', () => {
    const bad = scope('s', { models: ['claude-['], review: { reviewers: [] } });
    const res = reconcileScope({ scope: bad, reviews: [], now });
    const ready = findCondition(res.status!.conditions, 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'Invalid' });
    expect(ready.message).toMatch(/spec.review.reviewers is empty/);
    expect(res.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'ScopeInvalid']]);
    expect(reconcileScope({ scope: { ...bad, status: res.status }, reviews: [], now }).events).toEqual([]);
    expect(reconcileScope({ scope: { ...bad, status: res.status }, reviews: [], now }).status).toBeUndefined();
  });

  test('no valid review: validReview and expiresAt are absent', () => {
    const res = reconcileScope({ scope: scope('s'), reviews: [review('a', { expiresAt: '2026-11-02T00:00:00Z' })], now });
    expect(res.status!.validReview).toBeUndefined();
    expect(res.requeueAt).toBeUndefined();
  });
});

describe('the newest decided Periodic review counts (issue 14 class 5)', () => {
  const now = at('2026-12-22T00:00:00Z');
  const older = review('older', { reviewedAt: '2026-11-01T10:00:00Z', expiresAt: '2027-01-20T00:00:00Z' });
  const newerApproved = review('newer', { reviewedAt: '2026-12-20T10:00:00Z', expiresAt: '2027-02-01T00:00:00Z' });
  const newerRevoked = review('newer', { decision: 'Revoked', reviewedAt: '2026-12-21T10:00:00Z', expiresAt: '2027-02-01T00:00:00Z' });

  test('revoking the newer of two approvals: the scope has no valid review and the older one is Valid False (Revoked)', () => {
    expect(reconcileScope({ scope: scope('s'), reviews: [older, newerRevoked], now }).status?.validReview).toBeUndefined();
    const res = reconcileReview({ review: older, scope: scope('s'), siblings: () => [older, newerRevoked], now });
    expect(findCondition(res.status!.conditions, 'Valid')).toMatchObject({ status: 'False', reason: 'Revoked' });
  });

  test('with both approved, the newer counts and the older is Superseded', () => {
    expect(reconcileScope({ scope: scope('s'), reviews: [older, newerApproved], now }).status?.validReview).toBe('newer');
    const res = reconcileReview({ review: older, scope: scope('s'), siblings: () => [older, newerApproved], now });
    expect(findCondition(res.status!.conditions, 'Valid')).toMatchObject({ status: 'False', reason: 'Superseded' });
  });

  test('a newer approval after a revocation restores access', () => {
    const revokedFirst = review('older', { decision: 'Revoked', reviewedAt: '2026-12-01T10:00:00Z' });
    expect(reconcileScope({ scope: scope('s'), reviews: [revokedFirst, newerApproved], now }).status?.validReview).toBe('newer');
  });
});
