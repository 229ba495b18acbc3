// packages/kube against a real kube-apiserver: status writes retried on conflict, Events folded
// into a series, Lease election (handover on stop, takeover after a crash), and an informer that
// comes back by itself after an error client-node's ListWatch would stop on (403).
import type { AccessReview } from '@scopekeeper/core';
import {
  EventRecorder,
  KubeConfig,
  LeaderElector,
  accessReviews,
  referenceTo,
  resourceInformer,
  shareConnections,
  writeStatus,
} from '@scopekeeper/kube';
import { applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';
import { until } from '@scopekeeper/kube/testing/until';

const c = cluster();
const NS = 'kube-e2e';
const kc = new KubeConfig();
kc.loadFromFile(c.kubeconfigPath);
kc.setCurrentContext(c.adminContext);
shareConnections(kc);
const reviews = accessReviews(kc);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pending = (name: string): AccessReview => ({
  metadata: { name, namespace: NS },
  spec: { scopeRef: { name: 's' }, type: 'Periodic', decision: 'Pending' },
});

beforeAll(async () => {
  await applyCrds();
  await ensureNamespace(NS);
}, 90_000);

test('writeStatus: a stale resourceVersion gets 409; it reads again, decides again, writes', async () => {
  const created = await reviews.create(pending(`conflict-${Date.now()}`));
  const name = created.metadata.name;
  await reviews.patchStatus(NS, name, { observedGeneration: 1 }); // someone else moves it on
  let decisions = 0;
  const res = await writeStatus(reviews, created, (cur) => {
    decisions++;
    return { status: { observedGeneration: 7, seenVersion: cur.metadata.resourceVersion } as object };
  });
  expect(decisions).toBe(2);
  expect(res?.written).toBe(true);
  expect((await reviews.get(NS, name))?.status?.observedGeneration).toBe(7);
  // The status subresource leaves spec alone, and a field the new status lacks is removed.
  await writeStatus(reviews, (await reviews.get(NS, name))!, () => ({ status: { expiresAt: '2030-01-01T00:00:00Z' } }));
  const after = (await reviews.get(NS, name))!;
  expect(after.status).toEqual({ expiresAt: '2030-01-01T00:00:00Z' });
  expect(after.spec.decision).toBe('Pending');
  expect(await writeStatus(reviews, { ...after, metadata: { ...after.metadata, name: 'gone' } }, () => ({ status: {} }))).toBeUndefined();
});

test('EventRecorder: repeats of one event become a series on the first', async () => {
  const r = await reviews.create(pending(`events-${Date.now()}`));
  const rec = new EventRecorder({ kubeConfig: kc, reportingInstance: 'e2e' });
  for (let i = 0; i < 3; i++)
    await rec.emit(referenceTo(r, 'AccessReview'), { type: 'Warning', reason: 'Tested', action: 'Test', note: 'the same thing' });
  await rec.emit(referenceTo(r, 'AccessReview'), { type: 'Normal', reason: 'Other', action: 'Test', note: 'something else' });
  const evs = (
    JSON.parse((await c.kubectl(['get', 'events.events.k8s.io', '-n', NS, '-o', 'json'])).stdout) as { items: Record<string, any>[] }
  ).items.filter((e) => e.regarding.name === r.metadata.name);
  expect(evs).toHaveLength(2);
  const tested = evs.find((e) => e.reason === 'Tested')!;
  expect(tested).toMatchObject({
    type: 'Warning',
    action: 'Test',
    note: 'the same thing',
    reportingController: 'scopekeeper.dev/operator',
    reportingInstance: 'e2e',
    series: { count: 3 },
  });
  expect(tested.regarding).toMatchObject({ kind: 'AccessReview', apiVersion: 'scopekeeper.dev/v1alpha1', uid: r.metadata.uid });
});

test('LeaderElector: one leader; stop() hands over at once; a crashed leader is replaced after the lease', async () => {
  const name = `lease-${Date.now()}`;
  const log: string[] = [];
  const elector = (id: string) =>
    new LeaderElector({
      kubeConfig: kc,
      namespace: NS,
      name,
      identity: id,
      leaseDurationSeconds: 2,
      renewDeadlineSeconds: 1.5,
      retryPeriodSeconds: 0.25,
      onStartedLeading: () => log.push(`${id}+`),
      onStoppedLeading: () => log.push(`${id}-`),
    });
  const a = elector('a');
  const b = elector('b');
  a.start();
  await until('a leads', () => a.isLeader());
  b.start();
  await sleep(1000);
  expect(b.isLeader()).toBe(false);
  expect(b.leader()).toBe('a');

  const t0 = Date.now();
  await a.stop();
  await until('b leads', () => b.isLeader(), 3000);
  const handover = Date.now() - t0;
  expect(handover).toBeLessThan(1000); // released: no waiting for the lease to run out

  const c2 = elector('c');
  c2.start();
  await sleep(500);
  const t1 = Date.now();
  b.crash();
  await until('c leads', () => c2.isLeader(), 5000);
  const takeover = Date.now() - t1;
  console.log(`lease: handover on stop ${handover} ms; takeover after a crash ${takeover} ms (lease 2 s)`);
  expect(takeover).toBeGreaterThanOrEqual(1000);
  expect(takeover).toBeLessThan(3000);
  const lease = JSON.parse((await c.kubectl(['get', 'lease', '-n', NS, name, '-o', 'json'])).stdout) as { spec: Record<string, unknown> };
  expect(lease.spec).toMatchObject({ holderIdentity: 'c', leaseDurationSeconds: 2, leaseTransitions: 2 });
  expect(String(lease.spec.renewTime)).toMatch(/\.\d{6}Z$/); // MicroTime
  await c2.stop();
  expect(log).toEqual(['a+', 'a-', 'b+', 'c+', 'c-']);
}, 30_000);

const mallory = c.users['mallory@example.com'];
(mallory?.context ? test : test.skip)(
  "Informer: a 403 stops client-node's ListWatch; ours keeps trying and syncs once access is granted",
  async () => {
    const mkc = new KubeConfig();
    mkc.loadFromFile(c.kubeconfigPath);
    mkc.setCurrentContext(mallory!.context!);
    const inf = resourceInformer(accessReviews(mkc), mkc, { namespace: NS, backoff: { initialMs: 50, maxMs: 200 } });
    const role = `scopekeeper-e2e-reader-${Date.now()}`;
    inf.start();
    try {
      await until('a 403', () => /403/.test(inf.health().lastError ?? ''));
      expect(inf.health()).toMatchObject({ synced: false, connected: false });
      await c.kubectl(['create', 'role', role, '-n', NS, '--verb=list,watch', '--resource=accessreviews.scopekeeper.dev']);
      await c.kubectl(['create', 'rolebinding', role, '-n', NS, `--role=${role}`, `--user=${mallory!.name}`]);
      await until('synced', () => inf.health().connected, 10_000);
      expect(inf.health().restarts).toBeGreaterThan(0);
      expect(inf.list(NS).length).toBeGreaterThan(0);
    } finally {
      await inf.stop();
      await c.kubectl(['delete', 'rolebinding,role', role, '-n', NS], { allowFailure: true });
    }
  },
);
