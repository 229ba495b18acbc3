// The Pending review the operator opens carries the ending period's usage: a real sidecar serves
// requests, a real Prometheus scrapes its /metrics, and the operator (with
// --usage-from prometheus=URL) annotates the next review from that Prometheus.
import type { AccessReview, ModelScope } from '@scopekeeper/core';
import { KubeConfig, accessReviews, modelScopes, shareConnections } from '@scopekeeper/kube';
import { ANNOTATION_USAGE, Operator, PrometheusUsageSource } from '@scopekeeper/operator';
import { startWorld, type World } from '@scopekeeper/sidecar';
import { applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';
import { startPrometheus, type Prometheus } from './harness/prometheus.ts';
import { until } from '@scopekeeper/kube/testing/until';
import { expectRefusal } from '../packages/sidecar/test/refusal.ts';

const c = cluster();
const kc = new KubeConfig();
kc.loadFromFile(c.kubeconfigPath);
kc.setCurrentContext(c.adminContext);
shareConnections(kc);
const ns = 'usage-review';
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

let world: World;
let prom: Prometheus;
let op: Operator | undefined;

async function send(model: string): Promise<Response> {
  const token = await world.saToken('support-bot');
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  return res;
}
const ask = async (model: string): Promise<number> => (await send(model)).status;

beforeAll(async () => {
  await applyCrds();
  await ensureNamespace(ns);
  world = await startWorld();
  prom = await startPrometheus({ targets: [{ job: 'sidecar', url: `${world.adminUrl}/metrics` }] });
  // increase() counts from the first sample Prometheus has: let it see the series before the period's traffic.
  expect(await ask('claude-sonnet-4-5')).toBe(200);
  await prom.waitFor('sum(scopekeeper_requests_total{scope="support-agent",decision="allow"})', (v) => v >= 1);
  for (let i = 0; i < 4; i++) expect(await ask('claude-sonnet-4-5')).toBe(200);
  const nothingForwarded = expectRefusal(world.auditFile, world.stub!);
  const denied = await send('claude-opus-4-1');
  expect(denied.status).toBe(403);
  await nothingForwarded.refused(denied);
  await prom.waitFor('sum(scopekeeper_requests_total{scope="support-agent",decision="allow"})', (v) => v >= 5);
}, 120_000);

afterAll(async () => {
  await op?.stop();
  await prom?.stop();
  await world?.close();
});

test('the next Pending review says what the ending period used and which granted models nothing used', async () => {
  const scope: ModelScope = {
    metadata: { name: 'support-agent', namespace: ns },
    spec: {
      subjects: [{ kind: 'ServiceAccount', name: 'support-bot' }],
      models: ['claude-sonnet-4-*', 'claude-haiku-*'],
      review: { period: '30d', reviewers: [{ kind: 'Group', name: 'security-leads' }], expiringSoonWindow: '1h' },
    },
  };
  await modelScopes(kc).create(scope);
  const now = Math.floor(Date.now() / 1000) * 1000;
  const current: AccessReview = {
    metadata: { name: 'support-agent-q4', namespace: ns },
    spec: {
      scopeRef: { name: 'support-agent' },
      type: 'Periodic',
      decision: 'Approved',
      reviewer: 'carol@example.com',
      reviewedAt: iso(now - 60_000),
      expiresAt: iso(now + 600_000),
      justification: 'e2e',
    },
  };
  await accessReviews(kc).create(current);
  // Expiring within the 1h window: the operator opens the next review at once.
  op = new Operator({
    kubeConfig: kc,
    namespace: ns,
    admin: false,
    leaderElection: false,
    defaultMetrics: false,
    usageSource: new PrometheusUsageSource(prom.url),
  });
  await op.start();
  const opened = await until(
    'the next Pending review',
    async () => (await accessReviews(kc).list(ns)).items.find((r) => r.metadata.name !== 'support-agent-q4'),
    20_000,
    100,
  );
  expect(opened.spec.decision).toBe('Pending');
  const summary = opened.metadata.annotations?.[ANNOTATION_USAGE] ?? '';
  // Four allowed requests in the period: increase() extrapolates over few samples, so the count is only
  // known to be positive; the model, the unused glob and the pointer to the details are exact.
  expect(summary).toMatch(
    /^last 30d: [1-9]\d* allowed \(claude-sonnet-4-5 [1-9]\d*\), \d+ denied or held; models granted but unused: claude-haiku-\*; details: scopekeeper reviews usage support-agent -n usage-review --audit <audit log>$/,
  );
}, 60_000);
