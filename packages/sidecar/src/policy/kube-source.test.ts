// The Kubernetes policy source against a stand-in API server on loopback (list/watch protocol);
// e2e/operator.e2e.test.ts runs it against a real kube-apiserver.
import { decide, type AccessReview, type ModelScope } from '@scopekeeper/core';
import { FakeApiServer } from '@scopekeeper/kube/testing';
import { until } from '@scopekeeper/kube/testing/until';
import { silentLogger } from '../log.ts';
import { KubernetesPolicySource } from './kube-source.ts';
import type { PolicyStatus } from './source.ts';

const NS = 'team-a';
const iso = (ms: number) => new Date(ms).toISOString();

const scope: ModelScope = {
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name: 'agent', namespace: NS },
  spec: {
    subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
    models: ['claude-*'],
    review: { reviewers: [{ kind: 'Group', name: 'leads' }] },
  },
};
const review = (name: string, expiresAt: number, decision: 'Approved' | 'Revoked' = 'Approved'): AccessReview => ({
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'AccessReview',
  metadata: { name, namespace: NS },
  spec: {
    scopeRef: { name: 'agent' },
    type: 'Periodic',
    decision,
    reviewer: 'carol',
    reviewedAt: iso(Date.now() - 60_000),
    expiresAt: iso(expiresAt),
    justification: 'x',
  },
});

const identity = {
  issuer: 'test',
  primary: true,
  subject: `system:serviceaccount:${NS}:bot`,
  groups: [],
  serviceAccount: { namespace: NS, name: 'bot' },
};
const request = {
  route: 'messages' as const,
  facts: { model: 'claude-sonnet-4-5', maxTokens: 10, stream: false, thinking: false, tools: [], betas: [] },
};

describe('KubernetesPolicySource', () => {
  let api: FakeApiServer;
  let source: KubernetesPolicySource;
  const changes: PolicyStatus[] = [];

  beforeEach(async () => {
    api = await FakeApiServer.start();
    changes.length = 0;
    api.put('modelscopes', scope as never);
    api.put('accessreviews', review('agent-q1', Date.now() + 3_600_000) as never);
    source = new KubernetesPolicySource({
      namespace: NS,
      maxStaleMs: 400,
      log: silentLogger(),
      kubeConfig: api.kubeConfig(),
      onChange: (s) => changes.push(s),
      backoff: { initialMs: 20, maxMs: 100 },
    });
    await source.start();
  });
  afterEach(async () => {
    await source.stop();
    await api.close();
  });

  const allows = () => {
    const snap = source.current();
    return snap !== undefined && decide(snap, identity, request, Date.now()).effect === 'allow';
  };

  test('compiles what it lists, and each change it watches (a revocation within milliseconds)', async () => {
    expect(source.status()).toMatchObject({ ready: true, scopes: 1, invalidScopes: 0 });
    expect(source.status().staleSince).toBeUndefined();
    expect(allows()).toBe(true);
    api.put('accessreviews', review('agent-q1', Date.now() + 3_600_000, 'Revoked') as never);
    // Applied from the watch event (no relist, no polling): the source recompiled on it. How fast
    // is the bench's to say, not a wall-clock window that a busy machine breaks.
    await until('the revocation', () => !allows());
    expect(changes.length).toBeGreaterThanOrEqual(2);
  });

  test('expiry needs no event: decide() compares with the clock', async () => {
    // Far enough ahead that a busy machine still sees the review before it ends (at 150 ms it did not, now and then).
    const expiresAt = Date.now() + 1500;
    api.put('accessreviews', review('agent-q1', expiresAt) as never);
    await until('the new review', () => source.current()?.scopes[0]?.periodic[0]?.timeline.expiresAt === expiresAt);
    expect(allows()).toBe(true);
    await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 50));
    expect(allows()).toBe(false);
  });

  test('an API outage keeps the last good policy, then fails closed after maxStaleMs; back, it resumes', async () => {
    await api.down();
    await until('stale', () => source.status().staleSince !== undefined);
    expect(source.current()).toBeDefined();
    expect(allows()).toBe(true);
    expect(source.status().lastError).toMatch(/deciding with the last known policy/);
    await until('fail closed', () => source.current() === undefined, 2000);
    expect(source.status()).toMatchObject({ ready: false, lastError: expect.stringMatching(/failing closed/) });
    // Told so by onChange too: its timer fires just after the clock says stale, so a busy machine
    // can see current() go first (CI did once); it must still come.
    await until('told it fails closed', () => changes.at(-1)?.ready === false, 2000);
    api.put('accessreviews', review('agent-q1', Date.now() + 3_600_000, 'Revoked') as never); // changed meanwhile
    await api.up();
    await until('watching again', () => source.status().staleSince === undefined, 3000);
    await until('the missed change', () => source.current() !== undefined && !allows());
    expect(source.status().ready).toBe(true);
  });

  test('the fail-closed notice waits for the clock: a timer that fires before it is set again, never reported as ready', async () => {
    const realNow = Date.now;
    await api.down();
    await until('stale', () => source.status().staleSince !== undefined);
    const since = source.status().staleSince!;
    // Date.now() 150 ms behind the timers' clock, as a long loop iteration leaves the loop's clock
    // behind Date.now(): the timer set for maxStaleMs fires while current() still has a policy.
    Date.now = () => realNow() - 150;
    try {
      await new Promise((r) => setTimeout(r, since + 800 - realNow()));
    } finally {
      Date.now = realNow;
    }
    expect(source.current()).toBeUndefined();
    await until('told it fails closed', () => changes.at(-1)?.ready === false, 1000);
  });

  test('an invalid scope is reported and grants nothing', async () => {
    api.put('modelscopes', { ...scope, spec: { ...scope.spec, models: ['claude-['] } } as never);
    await until('invalid', () => source.status().invalidScopes === 1);
    expect(source.status().lastError).toMatch(/ModelScope team-a\/agent grants nothing/);
    expect(allows()).toBe(false);
  });

  test('requestApproval creates a Pending JustInTime review once, reuses it while pending, and numbers the next after a decision', async () => {
    const a = {
      scope: 'agent',
      namespace: NS,
      subject: { kind: 'ServiceAccount' as const, name: 'bot', namespace: NS },
      model: 'claude-opus-4-5',
      tools: ['Bash'],
      fingerprint: 'abc123',
    };
    expect(await source.requestApproval(a, 'deploy the fix')).toBe(`${NS}/agent-jit-abc123`);
    const created = api.get('accessreviews', NS, 'agent-jit-abc123') as unknown as AccessReview;
    expect(created.spec).toEqual({
      scopeRef: { name: 'agent' },
      type: 'JustInTime',
      decision: 'Pending',
      requestedBy: 'bot',
      request: { subject: a.subject, model: 'claude-opus-4-5', tools: ['Bash'], reason: 'deploy the fix', fingerprint: 'abc123' },
    });
    expect(await source.requestApproval(a, 'again')).toBe(`${NS}/agent-jit-abc123`);
    expect(api.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    // Decided (and perhaps expired): the same request shape needs a new review.
    api.put('accessreviews', { ...created, spec: { ...created.spec, decision: 'Approved' } } as never);
    await until('the approval seen', () => source.current()!.scopes[0]!.justInTime.some((t) => t.review.spec.decision === 'Approved'));
    expect(await source.requestApproval(a, 'once more')).toBe(`${NS}/agent-jit-abc123-2`);
    expect(api.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
  });

  test('start() gives up with a message that says what to check when the API never answers', async () => {
    const dead = await FakeApiServer.start();
    const kubeConfig = dead.kubeConfig();
    await dead.close();
    const s = new KubernetesPolicySource({
      namespace: NS,
      maxStaleMs: 1000,
      log: silentLogger(),
      kubeConfig,
      startTimeoutMs: 300,
      backoff: { initialMs: 20, maxMs: 50 },
    });
    await expect(s.start()).rejects.toThrow(
      /could not list ModelScopes and AccessReviews in namespace team-a within 0.3s .*may list and watch/,
    );
    expect(s.current()).toBeUndefined();
  });
});
