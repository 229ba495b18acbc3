// HeldRequests: the bound on Pending JustInTime reviews one caller can have the sidecar write.
import { compilePolicy, type AccessReview, type ApprovalRequest, type ModelScope, type PolicySnapshot } from '@scopekeeper/core';
import { HeldRequests, MAX_PENDING_PER_CALLER } from './held.ts';
import type { PolicySource } from './source.ts';

const NS = 'team-a';
const scope = (name: string): ModelScope => ({
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name, namespace: NS },
  spec: {
    subjects: [{ kind: 'ServiceAccount', name: 'ops-bot' }],
    models: ['claude-sonnet-*'],
    approval: { requiredFor: { models: ['claude-opus-*'] }, approvers: [{ kind: 'Group', name: 'leads' }] },
    review: { reviewers: [{ kind: 'Group', name: 'leads' }] },
  },
});
const bot = { kind: 'ServiceAccount' as const, name: 'ops-bot', namespace: NS };
const ask = (model: string, over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  scope: 'ops',
  namespace: NS,
  subject: bot,
  model,
  tools: [],
  fingerprint: `fp-${model}`,
  ...over,
});

/** A policy source that writes reviews into a list, which the next snapshot shows. */
class FakeSource implements PolicySource {
  reviews: AccessReview[] = [];
  writes = 0;
  fail: string | undefined;
  /** Calls wait on this, so a burst is in flight at once. */
  gate: Promise<void> = Promise.resolve();
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  status() {
    return { ready: true, scopes: 2, invalidScopes: 0 };
  }
  /** False: no policy loaded yet. */
  loaded = true;
  current(): PolicySnapshot | undefined {
    return this.loaded ? compilePolicy([scope('ops'), scope('other')], this.reviews, { namespace: NS }) : undefined;
  }
  async requestApproval(a: ApprovalRequest): Promise<string> {
    await this.gate;
    if (this.fail) throw new Error(this.fail);
    const name = `${a.scope}-jit-${a.fingerprint}`;
    if (!this.reviews.some((r) => r.metadata.name === name)) {
      this.writes++;
      this.reviews.push(pending(name, a));
    }
    return `${a.namespace}/${name}`;
  }
}

function pending(name: string, a: ApprovalRequest, decision: 'Pending' | 'Approved' = 'Pending'): AccessReview {
  return {
    apiVersion: 'scopekeeper.dev/v1alpha1',
    kind: 'AccessReview',
    metadata: { name, namespace: a.namespace },
    spec: {
      scopeRef: { name: a.scope },
      type: 'JustInTime',
      decision,
      ...(decision === 'Approved'
        ? {
            reviewer: 'carol',
            reviewedAt: new Date().toISOString(),
            expiresAt: new Date(Date.now() + 3600_000).toISOString(),
            justification: 'x',
          }
        : {}),
      request: { subject: a.subject, model: a.model, tools: a.tools, fingerprint: a.fingerprint },
    },
  };
}

describe('HeldRequests', () => {
  test(`a caller gets at most ${MAX_PENDING_PER_CALLER} Pending reviews per scope; past that none is written, and it is told why and what to do`, async () => {
    const source = new FakeSource();
    const held = new HeldRequests(source);
    for (let i = 0; i < MAX_PENDING_PER_CALLER; i++) expect((await held.record(ask(`claude-opus-${i}`), undefined)).ref).toBeDefined();
    const over = await held.record(ask('claude-opus-x'), undefined);
    expect(over.ref).toBeUndefined();
    expect(over).toMatchObject({ limited: true });
    expect(over.problem).toMatch(
      /^ServiceAccount team-a\/ops-bot already has 10 Pending JustInTime AccessReviews for ModelScope ops \(team-a\/ops-jit-fp-claude-opus-0, team-a\/ops-jit-fp-claude-opus-1, team-a\/ops-jit-fp-claude-opus-2, …\), the most one caller may have waiting: ask an approver to decide them, or delete those no longer needed, then retry$/,
    );
    expect(source.writes).toBe(MAX_PENDING_PER_CALLER);
    // The same shape as a waiting one still names it.
    expect(await held.record(ask('claude-opus-3'), undefined)).toEqual({ ref: `${NS}/ops-jit-fp-claude-opus-3` });
    // Another scope, and another caller, have bounds of their own.
    expect((await held.record(ask('claude-opus-x', { scope: 'other' }), undefined)).ref).toBe(`${NS}/other-jit-fp-claude-opus-x`);
    const alice = { kind: 'User' as const, name: 'alice@example.com' };
    expect((await held.record(ask('claude-opus-x', { subject: alice, fingerprint: 'fp-alice' }), undefined)).ref).toBeDefined();
    // The same name from another issuer is another caller.
    const bob = { kind: 'User' as const, name: 'alice@example.com', issuer: 'https://other.example' };
    expect((await held.record(ask('claude-opus-x', { subject: bob, fingerprint: 'fp-bob' }), undefined)).ref).toBeDefined();
  });

  test('a burst of distinct held requests, all in flight at once, writes exactly the bound', async () => {
    const source = new FakeSource();
    let open!: () => void;
    source.gate = new Promise((r) => (open = r));
    const held = new HeldRequests(source);
    const all = Array.from({ length: 200 }, (_, i) => held.record(ask(`claude-opus-${i}`), undefined));
    open();
    const outcomes = await Promise.all(all);
    expect(outcomes.filter((o) => o.ref !== undefined)).toHaveLength(MAX_PENDING_PER_CALLER);
    expect(source.writes).toBe(MAX_PENDING_PER_CALLER);
  });

  test('a decided review no longer counts; a review a person wrote for the caller does', async () => {
    const source = new FakeSource();
    const held = new HeldRequests(source, { maxPendingPerCaller: 2 });
    source.reviews.push(pending('by-hand', ask('claude-opus-h', { fingerprint: undefined as unknown as string })));
    delete source.reviews[0]!.spec.request!.fingerprint;
    expect((await held.record(ask('claude-opus-a'), undefined)).ref).toBeDefined();
    expect((await held.record(ask('claude-opus-b'), undefined)).problem).toMatch(
      /already has 2 Pending .*\(team-a\/by-hand, team-a\/ops-jit-fp-claude-opus-a\)/,
    );
    // The person's review is approved: it stops counting.
    source.reviews[0] = pending('by-hand', ask('claude-opus-h'), 'Approved');
    expect((await held.record(ask('claude-opus-b'), undefined)).ref).toBe(`${NS}/ops-jit-fp-claude-opus-b`);
  });

  test('a review written here counts before the snapshot shows it, until it shows or 10 minutes pass', async () => {
    const source = new FakeSource();
    let now = 1_000_000;
    const held = new HeldRequests(source, { maxPendingPerCaller: 1, now: () => now });
    expect((await held.record(ask('claude-opus-a'), undefined)).ref).toBeDefined();
    source.reviews = []; // the snapshot has not caught up (or the review was deleted)
    expect((await held.record(ask('claude-opus-b'), undefined)).limited).toBe(true);
    now += 10 * 60_000;
    expect((await held.record(ask('claude-opus-b'), undefined)).limited).toBe(true);
    now += 1;
    expect((await held.record(ask('claude-opus-b'), undefined)).ref).toBe(`${NS}/ops-jit-fp-claude-opus-b`);
  });

  test('a write that fails says why and does not use up the bound', async () => {
    const source = new FakeSource();
    const held = new HeldRequests(source, { maxPendingPerCaller: 1 });
    source.fail = 'could not create AccessReview team-a/x: connection refused';
    expect(await held.record(ask('claude-opus-a'), undefined)).toEqual({ problem: source.fail });
    source.fail = undefined;
    expect((await held.record(ask('claude-opus-b'), undefined)).ref).toBeDefined();
  });

  test('a source that cannot record held requests says so', async () => {
    const source = new FakeSource();
    (source as { requestApproval?: unknown }).requestApproval = undefined;
    expect(await new HeldRequests(source).record(ask('claude-opus-a'), undefined)).toEqual({
      problem: 'this policy source cannot record held requests',
    });
  });

  test('callers are told apart by namespace and issuer; a User is described without a namespace', async () => {
    const source = new FakeSource();
    const held = new HeldRequests(source, { maxPendingPerCaller: 1 });
    const fill = (subject: ApprovalRequest['subject'], id: string) =>
      held.record(ask(`claude-opus-${id}`, { subject, fingerprint: id }), undefined);
    expect((await fill(bot, 'a1')).ref).toBeDefined();
    expect((await fill({ ...bot, namespace: 'team-b' }, 'b1')).ref).toBeDefined();
    const alice = { kind: 'User' as const, name: 'alice@example.com' };
    expect((await fill(alice, 'p1')).ref).toBeDefined();
    expect((await fill({ ...alice, issuer: 'https://other.example' }, 'o1')).ref).toBeDefined();
    expect((await fill(alice, 'p2')).problem).toMatch(/^User alice@example\.com already has 1 Pending /);
    expect((await fill({ ...bot, namespace: 'team-b' }, 'b2')).problem).toMatch(/^ServiceAccount team-b\/ops-bot already has 1 /);
  });

  test('two reviews a person wrote (no fingerprint) count as two', async () => {
    const source = new FakeSource();
    const held = new HeldRequests(source, { maxPendingPerCaller: 2 });
    for (const name of ['by-hand-1', 'by-hand-2']) {
      source.reviews.push(pending(name, ask('claude-opus-h')));
      delete source.reviews[source.reviews.length - 1]!.spec.request!.fingerprint;
    }
    expect((await held.record(ask('claude-opus-a'), undefined)).problem).toContain(
      'already has 2 Pending JustInTime AccessReviews for ModelScope ops (team-a/by-hand-1, team-a/by-hand-2)',
    );
  });

  test('a review written here and then decided stops counting as soon as the snapshot shows it decided', async () => {
    const source = new FakeSource();
    const held = new HeldRequests(source, { maxPendingPerCaller: 1 });
    expect((await held.record(ask('claude-opus-a'), undefined)).ref).toBeDefined();
    source.reviews[0] = pending('ops-jit-fp-claude-opus-a', ask('claude-opus-a'), 'Approved');
    expect((await held.record(ask('claude-opus-b'), undefined)).ref).toBe(`${NS}/ops-jit-fp-claude-opus-b`);
  });

  test('asking again for a waiting shape does not count it anew once the snapshot lost it', async () => {
    const source = new FakeSource();
    const held = new HeldRequests(source, { maxPendingPerCaller: 1 });
    await held.record(ask('claude-opus-a'), undefined);
    await held.record(ask('claude-opus-a'), undefined); // shown Pending: known
    expect(held.tracking).toBe(0); // the snapshot shows it: nothing to remember
    source.reviews = []; // deleted by a person
    expect((await held.record(ask('claude-opus-b'), undefined)).ref).toBeDefined();
  });

  test('a failed write of a shape still waiting keeps it counted', async () => {
    const source = new FakeSource();
    const held = new HeldRequests(source, { maxPendingPerCaller: 1 });
    await held.record(ask('claude-opus-a'), undefined);
    source.reviews = []; // the snapshot has not caught up
    source.fail = 'connection refused';
    expect((await held.record(ask('claude-opus-a'), undefined)).problem).toBe('connection refused');
    source.fail = undefined;
    const over = await held.record(ask('claude-opus-b'), undefined);
    expect(over.limited).toBe(true);
    // Nothing of it is in the snapshot to name.
    expect(over.problem).toContain('for ModelScope ops, the most one caller');
  });

  test('before any policy is loaded, what this sidecar wrote is counted', async () => {
    const source = new FakeSource();
    source.loaded = false;
    const held = new HeldRequests(source, { maxPendingPerCaller: 1 });
    expect((await held.record(ask('claude-opus-a'), undefined)).ref).toBeDefined();
    expect((await held.record(ask('claude-opus-b'), undefined)).limited).toBe(true);
  });

  test('what it remembers is bounded: callers that never come back are forgotten', async () => {
    const source = new FakeSource();
    source.loaded = false;
    let now = 5_000_000;
    const held = new HeldRequests(source, { now: () => now });
    for (let i = 0; i < 20; i++) await held.record(ask('claude-opus-a', { subject: { ...bot, name: `bot-${i}` } }), undefined);
    expect(held.tracking).toBe(20);
    // A write that fails leaves nothing behind; a shape already counted adds no one.
    source.fail = 'no';
    await held.record(ask('claude-opus-a', { subject: { ...bot, name: 'failing' } }), undefined);
    expect(held.tracking).toBe(20);
    now += 10 * 60_000;
    await held.record(ask('claude-opus-a', { subject: { ...bot, name: 'bot-0' } }), undefined);
    expect(held.tracking).toBe(20);
    // (The sweep runs at most once in 10 minutes: an entry goes within 20.)
    now += 10 * 60_000;
    source.fail = undefined;
    await held.record(ask('claude-opus-a', { subject: { ...bot, name: 'late' } }), undefined);
    expect(held.tracking).toBe(1); // late
    now += 10 * 60_000;
    await held.record(ask('claude-opus-a', { subject: { ...bot, name: 'later' } }), undefined);
    expect(held.tracking).toBe(2); // late and later
  });
});
