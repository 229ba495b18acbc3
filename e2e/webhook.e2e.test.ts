// The admission webhooks through a real kube-apiserver: the chart's two webhook configurations,
// pointed (url instead of service) at the webhook server of packages/operator/src/webhook running
// in this process on 127.0.0.1 with its own CA, whose bundle patchCaBundle writes. Then pods are
// created and their stored spec checked, enforced namespaces refuse what they must, and
// AccessReview decisions are made as distinct authenticated users.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, KubeConfig } from '@kubernetes/client-node';
import type { AccessReview } from '@scopekeeper/core';
import {
  createWebhookServer,
  ensureCerts,
  mutatePod,
  patchCaBundle,
  type InjectionConfig,
  type WebhookServer,
} from '../packages/operator/src/webhook/index.ts';
import { applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';
import { apiServerLookups, chartWebhooks } from './harness/webhooks.ts';

const c = cluster();
const local = c.mode === 'local'; // a remote API server cannot call 127.0.0.1 on this machine
const RUN = Date.now().toString(36);
const NS_INJECT = 'sk-inject';
const NS_ENFORCED = 'sk-enforced';
const NS_REVIEWS = 'sk-reviews';
const RELEASE_NS = 'scopekeeper-system';
const KEY_SECRET = 'anthropic-api-key';

const injection: InjectionConfig = {
  image: 'ghcr.io/scopekeeper/scopekeeper:0.1.0',
  issuers: [c.serviceAccountIssuer ?? c.server],
  issuerCAFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
  upstreamKeySecret: KEY_SECRET,
};

const kc = new KubeConfig();
kc.loadFromFile(c.kubeconfigPath);
kc.setCurrentContext(c.adminContext);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);

let server: WebhookServer;
let certDir: string;
let caBundle: string;

interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  spec: any;
}

const podJson = (name: string, ns: string, annotations: Record<string, string>, spec: Partial<Pod['spec']> = {}): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, annotations },
    spec: {
      containers: [{ name: 'app', image: 'agent:1', env: [{ name: 'ANTHROPIC_BASE_URL', value: 'https://api.anthropic.com' }] }],
      ...spec,
    },
  });

async function createPod(json: string, as?: string): Promise<Pod> {
  const r = await c.kubectl(['create', '-f', '-', '-o', 'json'], { input: json, ...(as ? { as } : {}) });
  return JSON.parse(r.stdout) as Pod;
}

async function refused(args: string[], input: string | undefined, as?: string): Promise<string> {
  const r = await c.kubectl(args, { allowFailure: true, ...(input !== undefined ? { input } : {}), ...(as ? { as } : {}) });
  if (r.code === 0) throw new Error(`expected kubectl ${args.join(' ')} to be refused, but it succeeded:\n${r.stdout}`);
  return r.stderr.trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The chart's webhook configurations, with each service reference turned into a url to this process. */
async function deleteWebhookConfigurations(): Promise<void> {
  await c.kubectl([
    'delete',
    'mutatingwebhookconfiguration/scopekeeper',
    'validatingwebhookconfiguration/scopekeeper',
    '--ignore-not-found',
  ]);
}

(local ? describe : describe.skip)('admission webhooks on a real API server', () => {
  beforeAll(async () => {
    await applyCrds();
    for (const ns of [NS_INJECT, NS_ENFORCED, NS_REVIEWS, RELEASE_NS]) await ensureNamespace(ns);
    await c.kubectl(['label', 'namespace', NS_ENFORCED, 'scopekeeper.dev/enforce=true', '--overwrite']);
    await deleteWebhookConfigurations();

    certDir = mkdtempSync(join(tmpdir(), 'sk-webhook-e2e-'));
    const { certs } = await ensureCerts({ serviceName: 'scopekeeper', namespace: RELEASE_NS, dir: certDir, ipAddresses: ['127.0.0.1'] });
    caBundle = certs.caBundle;
    server = createWebhookServer({
      port: 0,
      host: '127.0.0.1',
      // Reloads are triggered by the rotation test itself.
      tls: { certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), reloadIntervalMs: 3_600_000 },
      deps: { injection, serverVersion: c.serverVersion, ...apiServerLookups(kc) },
    });
    const url = await server.listen();
    await c.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: await chartWebhooks(c, { release: 'scopekeeper', namespace: RELEASE_NS, baseUrl: url, timeoutSeconds: 10 }),
      }),
    });
  });

  afterAll(async () => {
    await deleteWebhookConfigurations();
    await c.kubectl(['delete', 'pods', '--all', '-n', NS_INJECT, '--wait=false'], { allowFailure: true });
    await c.kubectl(['delete', 'pods', '--all', '-n', NS_ENFORCED, '--wait=false'], { allowFailure: true });
    await c.kubectl(['delete', 'pods', '-n', 'kube-system', '-l', 'scopekeeper-e2e=true', '--wait=false'], { allowFailure: true });
    await server?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  test('patchCaBundle writes the CA bundle into every webhook of both configurations, once', async () => {
    const first = await patchCaBundle(admission, caBundle);
    expect(first).toEqual({
      mutating: ['inject.scopekeeper.dev', 'inject-enforced.scopekeeper.dev', 'accessreviews.scopekeeper.dev'],
      validating: ['accessreviews.scopekeeper.dev', 'pods-enforced.scopekeeper.dev', 'pods-injected.scopekeeper.dev'],
    });
    expect(await patchCaBundle(admission, caBundle)).toEqual({ mutating: [], validating: [] });
    const m = await admission.readMutatingWebhookConfiguration({ name: 'scopekeeper' });
    for (const w of m.webhooks ?? []) expect(Buffer.from(w.clientConfig.caBundle!, 'base64').toString()).toBe(caBundle);

    // The API server picks configuration changes up asynchronously: wait until a dry-run is injected.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await c.kubectl(['create', '--dry-run=server', '-f', '-', '-o', 'json'], {
        input: podJson('probe', NS_INJECT, { 'scopekeeper.dev/inject': 'true' }),
        allowFailure: true,
      });
      if (r.code === 0 && (JSON.parse(r.stdout) as Pod).spec.initContainers?.length) break;
      if (Date.now() > deadline) throw new Error(`the API server does not call the webhook: ${r.stderr || r.stdout.slice(0, 400)}`);
      await sleep(250);
    }
  });

  test('rotation: a new CA joins the bundle first, then the new certificate is served; the API server keeps calling', async () => {
    const ca0 = (
      await c.kubectl(['get', 'mutatingwebhookconfiguration', 'scopekeeper', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}'])
    ).stdout;
    // Force what happens a year before the CA's end: a new CA, the old one kept in the bundle.
    const rotated = await ensureCerts({
      serviceName: 'scopekeeper',
      namespace: RELEASE_NS,
      dir: certDir,
      ipAddresses: ['127.0.0.1'],
      caRotateBeforeMs: 20 * 365 * 86_400_000,
    });
    expect(rotated.changed).toBe(true);
    expect(rotated.reasons[0]).toMatch(/^the CA expires/);
    expect(rotated.certs.caBundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const patched = await patchCaBundle(admission, rotated.certs.caBundle);
    expect(patched.mutating).toHaveLength(3);
    expect(patched.validating).toHaveLength(3);
    expect(
      (await c.kubectl(['get', 'mutatingwebhookconfiguration', 'scopekeeper', '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}']))
        .stdout,
    ).not.toBe(ca0);
    await sleep(2000); // the API server's webhook configuration cache follows within a moment
    expect(await server.reloadCertificate()).toBe(true);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await c.kubectl(['create', '--dry-run=server', '-f', '-', '-o', 'json'], {
        input: podJson('rotated', NS_INJECT, { 'scopekeeper.dev/inject': 'true' }),
        allowFailure: true,
      });
      if (r.code === 0 && (JSON.parse(r.stdout) as Pod).spec.initContainers?.length) break;
      if (Date.now() > deadline) throw new Error(`the API server does not accept the rotated certificate: ${r.stderr}`);
      await sleep(250);
    }
    caBundle = rotated.certs.caBundle;
  });

  describe('injection', () => {
    let first: Pod;

    test('an annotated pod is stored with the native sidecar, the app pointed at it and the token mounted', async () => {
      const before = (await server.injections.get()).values.find((v) => v.labels.result === 'injected')?.value ?? 0;
      first = await createPod(
        podJson(`agent-${RUN}`, NS_INJECT, { 'scopekeeper.dev/inject': 'true', 'scopekeeper.dev/scope': 'support-agent' }),
        'admin',
      );
      expect(first.metadata.annotations!['scopekeeper.dev/status']).toBe('injected');
      expect(first.metadata.labels!['scopekeeper.dev/injected']).toBe('true');

      const sc = first.spec.initContainers[0];
      expect(sc.name).toBe('scopekeeper-sidecar');
      expect(sc.restartPolicy).toBe('Always');
      expect(sc.image).toBe(injection.image);
      expect(sc.args).toEqual([
        'sidecar',
        '--policy',
        'kubernetes',
        '--namespace',
        '$(POD_NAMESPACE)',
        '--pod',
        '$(POD_NAME)',
        '--issuer',
        injection.issuers[0],
        '--issuer-ca',
        '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
        '--upstream-key-file',
        '/var/run/scopekeeper/upstream/key',
        '--audit',
        'stdout',
        '--admin',
        '0.0.0.0:15181',
        '--scope',
        'support-agent',
      ]);
      expect(sc.env.map((e: any) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath])).toEqual([
        ['NODE_OPTIONS', expect.stringContaining('--max-old-space-size=')],
        ['MALLOC_ARENA_MAX', '2'],
        ['POD_NAME', 'metadata.name'],
        ['POD_NAMESPACE', 'metadata.namespace'],
      ]);
      expect(sc.ports.map((p: any) => [p.name, p.containerPort])).toEqual([
        ['sk-data', 15180],
        ['sk-admin', 15181],
      ]);
      expect(sc.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 15181 });
      expect(sc.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(sc.volumeMounts.map((m: any) => m.name).sort()).toEqual(['scopekeeper-kube-api-access', 'scopekeeper-upstream-key']);

      const app = first.spec.containers[0];
      expect(first.spec.containers).toHaveLength(1);
      expect(app.env).toEqual([
        { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:15180' }, // replaced, not duplicated
        { name: 'SCOPEKEEPER_TOKEN_FILE', value: '/var/run/secrets/scopekeeper/token' },
      ]);
      expect(app.volumeMounts).toEqual([{ name: 'scopekeeper-token', mountPath: '/var/run/secrets/scopekeeper', readOnly: true }]);
      const vol = (n: string) => first.spec.volumes.find((v: any) => v.name === n);
      expect(vol('scopekeeper-token').projected.sources).toEqual([
        { serviceAccountToken: { audience: 'scopekeeper', expirationSeconds: 600, path: 'token' } },
      ]);
      expect(vol('scopekeeper-upstream-key').secret).toMatchObject({ secretName: KEY_SECRET, items: [{ key: 'api-key', path: 'key' }] });
      // The key is mounted into the sidecar alone.
      expect(JSON.stringify(first.spec.containers)).not.toContain('scopekeeper-upstream-key');

      const after = (await server.injections.get()).values.find((v) => v.labels.result === 'injected')!.value;
      expect(after).toBe(before + 1);
    });

    test('a second create of the stored pod is idempotent: the same spec, nothing added twice', async () => {
      // What the API server stored, defaults and all, is already in the injected shape...
      expect(mutatePod(first as never, { namespace: NS_INJECT, serverVersion: c.serverVersion, config: injection })).toMatchObject({
        result: 'skipped',
        patch: [],
      });
      // ... and creating it again (as `kubectl get -o json | kubectl create` would) stores the same spec.
      const skippedBefore = (await server.injections.get()).values.find((v) => v.labels.result === 'skipped')?.value ?? 0;
      const { uid: _u, resourceVersion: _r, creationTimestamp: _t, managedFields: _m, ...meta } = first.metadata as Record<string, unknown>;
      const again = await createPod(JSON.stringify({ ...first, metadata: { ...meta, name: `agent-${RUN}-again` } }));
      expect(again.spec.initContainers).toEqual(first.spec.initContainers);
      expect(again.spec.containers).toEqual(first.spec.containers);
      expect(again.spec.volumes).toEqual(first.spec.volumes);
      expect(again.metadata.annotations).toEqual(first.metadata.annotations);
      expect((await server.injections.get()).values.find((v) => v.labels.result === 'skipped')!.value).toBe(skippedBefore + 1);
    });

    test('a pod without the annotation is left as it is', async () => {
      const p = await createPod(podJson(`plain-${RUN}`, NS_INJECT, {}));
      expect(p.spec.initContainers).toBeUndefined();
      expect(p.spec.containers[0].env).toEqual([{ name: 'ANTHROPIC_BASE_URL', value: 'https://api.anthropic.com' }]);
    });

    test('a pod in kube-system is untouched, annotation or not', async () => {
      const calls = async () => (await server.injections.get()).values.reduce((n, v) => n + v.value, 0);
      const before = await calls();
      const p = await createPod(
        JSON.stringify({
          ...JSON.parse(podJson(`agent-${RUN}`, 'kube-system', { 'scopekeeper.dev/inject': 'true' })),
          metadata: {
            name: `agent-${RUN}`,
            namespace: 'kube-system',
            annotations: { 'scopekeeper.dev/inject': 'true' },
            labels: { 'scopekeeper-e2e': 'true' },
          },
        }),
      );
      expect(p.spec.initContainers).toBeUndefined();
      expect(p.metadata.annotations!['scopekeeper.dev/status']).toBeUndefined();
      expect(await calls()).toBe(before); // the namespaceSelector keeps the API server from even asking
    });

    test('a bad annotation is refused with what to do', async () => {
      const yes = await refused(['create', '-f', '-'], podJson(`yes-${RUN}`, NS_INJECT, { 'scopekeeper.dev/inject': 'yes' }));
      expect(yes).toContain(
        `admission webhook "inject.scopekeeper.dev" denied the request: pod ${NS_INJECT}/yes-${RUN}: the annotation scopekeeper.dev/inject must be "true" or "false" (got "yes"). ` +
          'Set it to "true" to inject the scopekeeper sidecar, "false" to opt out, or remove it.',
      );
      const scope = await refused(
        ['create', '-f', '-'],
        podJson(`scope-${RUN}`, NS_INJECT, { 'scopekeeper.dev/inject': 'true', 'scopekeeper.dev/scope': 'Support_Agent' }),
      );
      expect(scope).toContain('the annotation scopekeeper.dev/scope must name a ModelScope');
    });
  });

  describe('a namespace labelled scopekeeper.dev/enforce=true', () => {
    test('refuses a pod that is not injected', async () => {
      const msg = await refused(['create', '-f', '-'], podJson(`plain-${RUN}`, NS_ENFORCED, {}));
      expect(msg).toContain(
        `admission webhook "pods-enforced.scopekeeper.dev" denied the request: pod ${NS_ENFORCED}/plain-${RUN} is not injected with the scopekeeper sidecar, ` +
          `and namespace ${NS_ENFORCED} is labelled scopekeeper.dev/enforce=true: every pod there must run it. ` +
          'Add the annotation scopekeeper.dev/inject: "true" to the pod (for a Deployment: spec.template.metadata.annotations).',
      );
    });

    test('refuses an injected pod whose app reads the key Secret, naming the container and the fix', async () => {
      const spec = {
        containers: [
          {
            name: 'app',
            image: 'agent:1',
            env: [{ name: 'ANTHROPIC_API_KEY', valueFrom: { secretKeyRef: { name: KEY_SECRET, key: 'api-key' } } }],
          },
          { name: 'helper', image: 'helper:1', envFrom: [{ secretRef: { name: KEY_SECRET } }] },
        ],
      };
      const msg = await refused(['create', '-f', '-'], podJson(`leaky-${RUN}`, NS_ENFORCED, { 'scopekeeper.dev/inject': 'true' }, spec));
      expect(msg).toContain(
        `admission webhook "pods-enforced.scopekeeper.dev" denied the request: pod ${NS_ENFORCED}/leaky-${RUN} would expose the scopekeeper sidecar's credentials ` +
          `(namespace ${NS_ENFORCED} is labelled scopekeeper.dev/enforce=true): ` +
          `container "app" reads the upstream key Secret "${KEY_SECRET}" through env ANTHROPIC_API_KEY: remove env ANTHROPIC_API_KEY; ` +
          `container "helper" reads the upstream key Secret "${KEY_SECRET}" through envFrom: remove the envFrom secretRef ${KEY_SECRET}.`,
      );
    });

    test('admits an injected pod', async () => {
      const p = await createPod(podJson(`agent-${RUN}`, NS_ENFORCED, { 'scopekeeper.dev/inject': 'true' }));
      expect(p.spec.initContainers[0].name).toBe('scopekeeper-sidecar');
    });
  });

  describe('AccessReview decisions as distinct users', () => {
    const scope = {
      apiVersion: 'scopekeeper.dev/v1alpha1',
      kind: 'ModelScope',
      metadata: { name: 'support-agent', namespace: NS_REVIEWS },
      spec: {
        subjects: [{ kind: 'ServiceAccount', name: 'support-bot' }],
        models: ['claude-sonnet-4-*'],
        review: {
          period: '90d',
          reviewers: [
            { kind: 'Group', name: 'security-leads' },
            { kind: 'User', name: 'alice@example.com' },
          ],
        },
      },
    };
    const name = `support-agent-${RUN}`;
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const approve = JSON.stringify({
      spec: { decision: 'Approved', expiresAt, justification: 'Support bot drafts replies with Sonnet; SEC-123' },
    });
    const patch = (body = approve) => ['patch', 'accessreview', name, '-n', NS_REVIEWS, '--type', 'merge', '-p', body];

    beforeAll(async () => {
      await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(scope) });
      // RBAC lets all three update reviews, so what refuses mallory and alice is the webhook.
      await c.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: [
            {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'Role',
              metadata: { name: 'e2e-reviews', namespace: NS_REVIEWS },
              rules: [
                { apiGroups: ['scopekeeper.dev'], resources: ['accessreviews'], verbs: ['get', 'list', 'create', 'update', 'patch'] },
                { apiGroups: ['scopekeeper.dev'], resources: ['modelscopes'], verbs: ['get', 'list'] },
              ],
            },
            {
              apiVersion: 'rbac.authorization.k8s.io/v1',
              kind: 'RoleBinding',
              metadata: { name: 'e2e-reviews', namespace: NS_REVIEWS },
              roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'e2e-reviews' },
              subjects: ['alice@example.com', 'carol@example.com', 'mallory@example.com'].map((u) => ({
                apiGroup: 'rbac.authorization.k8s.io',
                kind: 'User',
                name: u,
              })),
            },
          ],
        }),
      });
      // alice asks for the access: a Pending review anyone may create.
      const pending = {
        apiVersion: 'scopekeeper.dev/v1alpha1',
        kind: 'AccessReview',
        metadata: { name, namespace: NS_REVIEWS },
        spec: { scopeRef: { name: 'support-agent' }, type: 'Periodic', decision: 'Pending', requestedBy: 'alice@example.com' },
      };
      await c.kubectl(['create', '-f', '-'], { input: JSON.stringify(pending), as: 'alice@example.com' });
    });

    test('mallory (no reviewer group) is refused', async () => {
      const msg = await refused(patch(), undefined, 'mallory@example.com');
      expect(msg).toContain(
        `admission webhook "accessreviews.scopekeeper.dev" denied the request: User mallory@example.com may not approve AccessReview ${NS_REVIEWS}/${name}: ` +
          `only the reviewers of ModelScope ${NS_REVIEWS}/support-agent may (spec.review.reviewers: Group security-leads, User alice@example.com). Ask one of them to decide it.`,
      );
    });

    test('alice, a reviewer but the requester, may not approve her own request', async () => {
      const msg = await refused(patch(), undefined, 'alice@example.com');
      expect(msg).toContain(
        `admission webhook "accessreviews.scopekeeper.dev" denied the request: User alice@example.com may not approve AccessReview ${NS_REVIEWS}/${name}: ` +
          `it is their own request (spec.requestedBy is alice@example.com). Another of the reviewers of ModelScope ${NS_REVIEWS}/support-agent ` +
          '(Group security-leads, User alice@example.com) must decide it.',
      );
    });

    test('carol (Group security-leads) approves; spec.reviewer and reviewedAt are stamped from her, not from what she sent', async () => {
      const t0 = Math.floor(Date.now() / 1000) * 1000;
      const forged = JSON.stringify({
        spec: { ...JSON.parse(approve).spec, reviewer: 'ceo@example.com', reviewedAt: '2020-01-01T00:00:00Z' },
      });
      const r = await c.kubectl(patch(forged).concat(['-o', 'json']), { as: 'carol@example.com' });
      const ar = JSON.parse(r.stdout) as AccessReview;
      expect(ar.spec.decision).toBe('Approved');
      expect(ar.spec.reviewer).toBe('carol@example.com');
      expect(Date.parse(ar.spec.reviewedAt!)).toBeGreaterThanOrEqual(t0);
      expect(Date.parse(ar.spec.reviewedAt!)).toBeLessThanOrEqual(Date.now());
      expect(ar.spec.requestedBy).toBe('alice@example.com');
    });

    test('mallory may not revoke or extend the approved review either; a metadata-only change passes', async () => {
      const revoke = await refused(patch(JSON.stringify({ spec: { decision: 'Revoked' } })), undefined, 'mallory@example.com');
      expect(revoke).toContain(`User mallory@example.com may not revoke AccessReview ${NS_REVIEWS}/${name}`);
      const extend = await refused(
        patch(JSON.stringify({ spec: { expiresAt: '2030-01-01T00:00:00Z' } })),
        undefined,
        'mallory@example.com',
      );
      expect(extend).toContain(`User mallory@example.com may not change the Approved AccessReview ${NS_REVIEWS}/${name}`);
      await c.kubectl(['label', 'accessreview', name, '-n', NS_REVIEWS, 'team=support', '--overwrite'], { as: 'mallory@example.com' });
      const ar = JSON.parse((await c.kubectl(['get', 'accessreview', name, '-n', NS_REVIEWS, '-o', 'json'])).stdout) as AccessReview;
      expect(ar.spec.reviewer).toBe('carol@example.com');
    });

    test("an Approved review created outright is its creator's own request: refused for carol (a reviewer) and mallory alike", async () => {
      const direct = (n: string) =>
        JSON.stringify({
          apiVersion: 'scopekeeper.dev/v1alpha1',
          kind: 'AccessReview',
          metadata: { name: n, namespace: NS_REVIEWS },
          spec: {
            scopeRef: { name: 'support-agent' },
            type: 'Periodic',
            decision: 'Approved',
            expiresAt,
            justification: 'Quarterly review; SEC-124',
            requestedBy: 'dave@example.com',
          },
        });
      const carol = await refused(['create', '-f', '-'], direct(`direct-${RUN}`), 'carol@example.com');
      expect(carol).toContain(
        `User carol@example.com may not approve AccessReview ${NS_REVIEWS}/direct-${RUN}: it is their own request (spec.requestedBy is carol@example.com)`,
      );
      const msg = await refused(['create', '-f', '-'], direct(`direct-m-${RUN}`), 'mallory@example.com');
      expect(msg).toContain('User mallory@example.com may not approve AccessReview');
    });
  });
});
