import { FakeApiServer } from './testing/fake-api.ts';
import { until } from './testing/until.ts';
import { resourceInformer, type Informer } from './informer.ts';
import { accessReviews, type KubeObject } from './resources.ts';
import { backoffDelay } from './backoff.ts';
import { describeError, httpStatus } from './errors.ts';
import { statusMergePatch } from './status.ts';

const review = (name: string, decision = 'Approved') => ({
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'AccessReview',
  metadata: { name, namespace: 'team-a' },
  spec: { scopeRef: { name: 's' }, type: 'Periodic', decision },
});

describe('Informer against a stand-in API server', () => {
  let api: FakeApiServer;
  let informer: Informer<KubeObject & { spec: { decision: string } }>;
  const events: string[] = [];

  beforeEach(async () => {
    api = await FakeApiServer.start();
    events.length = 0;
    api.put('accessreviews', review('a'));
    const kc = api.kubeConfig();
    informer = resourceInformer(accessReviews(kc), kc, { namespace: 'team-a', backoff: { initialMs: 20, maxMs: 100 } }) as never;
    informer.on((type, o) => events.push(`${type}:${o.metadata.name}:${o.spec.decision}`));
    informer.start();
    await informer.waitForSync();
  });
  afterEach(async () => {
    await informer.stop();
    await api.close();
  });

  test('lists, then delivers watch events; the cache follows', async () => {
    expect(events).toEqual(['add:a:Approved']);
    expect(informer.health()).toMatchObject({ synced: true, connected: true, restarts: 0 });
    api.put('accessreviews', review('a', 'Revoked'));
    api.put('accessreviews', review('b'));
    api.remove('accessreviews', 'team-a', 'b');
    await until('3 events', () => events.length === 4);
    expect(events.slice(1)).toEqual(['update:a:Revoked', 'add:b:Approved', 'delete:b:Approved']);
    expect(informer.get('team-a', 'a')?.spec.decision).toBe('Revoked');
    expect(informer.list('team-a').map((o) => o.metadata.name)).toEqual(['a']);
  });

  test('a refused connection is not the end: it reports failing, restarts with backoff, resumes where it left off', async () => {
    await api.down();
    await until('failing', () => !informer.health().connected);
    const h = informer.health();
    expect(h.failingSince).toBeGreaterThan(Date.now() - 5000);
    expect(h.lastError).toMatch(/ECONNREFUSED|fetch failed|other side closed|socket/i);
    api.put('accessreviews', review('a', 'Revoked')); // happens while the watch is down
    await until('a second restart', () => informer.health().restarts >= 2); // kept trying
    // but backed off (20 ms doubling, capped at 100 ms): a few more in 300 ms, not one per turn of the loop
    const before = informer.health().restarts;
    await new Promise((r) => setTimeout(r, 300));
    expect(informer.health().restarts - before).toBeLessThan(30);
    await api.up();
    await until('connected', () => informer.health().connected);
    expect(informer.health().failingSince).toBeUndefined();
    await until('the missed change', () => events.includes('update:a:Revoked'));
  });

  test('410 Gone: re-lists, and notices what was deleted meanwhile', async () => {
    api.put('accessreviews', review('b'));
    await until('b', () => events.includes('add:b:Approved'));
    await api.down();
    await until('failing', () => !informer.health().connected);
    api.remove('accessreviews', 'team-a', 'b');
    api.put('accessreviews', review('c'));
    api.compact(); // the watch cannot resume: 410
    await api.up();
    await until('re-listed', () => events.includes('delete:b:Approved') && events.includes('add:c:Approved'));
    expect(api.requests.filter((r) => !r.path.includes('watch=true')).length).toBeGreaterThanOrEqual(2);
    expect(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['a', 'c']);
  });

  test("an HTTP error (500, 403) stops client-node's ListWatch; ours restarts it", async () => {
    api.failWith = 500;
    api.closeWatches();
    await until('failing', () => !informer.health().connected);
    expect(informer.health().lastError).toMatch(/500/);
    api.failWith = undefined;
    await until('connected', () => informer.health().connected);
    api.put('accessreviews', review('d'));
    await until('d', () => events.includes('add:d:Approved'));
  });
});

describe('helpers', () => {
  test('backoffDelay grows exponentially, is capped, and jitters downwards only', () => {
    const fixed = (a: number) => backoffDelay(a, { initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([0, 1, 2, 3, 4, 10].map(fixed)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, { initialMs: 100, jitter: 0.5 }, () => 1)).toBe(200);
    expect(backoffDelay(2, { initialMs: 100, jitter: 0.5 }, () => 0)).toBe(400);
  });

  test('statusMergePatch removes what the new status lacks and replaces the rest', () => {
    expect(
      statusMergePatch({ expiresAt: 'x', conditions: [1], observedGeneration: 1 }, { conditions: [2], observedGeneration: 2 }),
    ).toEqual({
      expiresAt: null,
      conditions: [2],
      observedGeneration: 2,
    });
    expect(statusMergePatch(undefined, { a: 1, b: undefined })).toEqual({ a: 1 });
  });

  test('describeError gives the status and the API server message, not headers', () => {
    const e = Object.assign(new Error('HTTP-Code: 409\nMessage: x\nBody: ...\nHeaders: {...}'), {
      code: 409,
      body: { reason: 'Conflict', message: 'the object has been modified' },
    });
    expect(httpStatus(e)).toBe(409);
    expect(describeError(e)).toBe('409 Conflict: the object has been modified');
    expect(describeError(Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toBe(
      'fetch failed (ECONNREFUSED)',
    );
  });
});
