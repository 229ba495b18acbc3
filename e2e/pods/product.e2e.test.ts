// The product as a user installs it, on a real node: `kubectl apply -f crds/`, `helm install` of the
// chart with the image of `npm run image` (imagePullPolicy Never), the operator and its webhooks as
// the chart's Deployment, and an annotated pod whose app container runs the real Claude Agent SDK
// (e2e/pods/agent/agent.mjs) against the injected native sidecar, with the projected token through
// apiKeyHelper. Only the Anthropic API is a stand-in (the stub, served from this process and
// reached by the pod through a bridge into the node's namespace). An internal service (crm) that
// checks its callers by TokenReview shows endpoints[].auth: the kubelet projects a token for its
// audience into the sidecar alone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { runAuditVerify } from '../../packages/sidecar/src/audit/index.ts';
import { AnthropicStub } from '../../packages/sidecar/src/stub/anthropic-stub.ts';
import { requestCounter } from '../../packages/sidecar/test/refusal.ts';
import { applyCrds } from '../harness/cluster.ts';
import { nodeCluster } from '../harness/pods.ts';
import { startPrometheus, type Prometheus } from '../harness/prometheus.ts';
import { run } from '../harness/proc.ts';
import { until } from '@scopekeeper/kube/testing/until';

const c = nodeCluster();
const NS = 'agents';
const POD = 'support-agent';
const SIDECAR = 'scopekeeper-sidecar';
const KEY = 'sk-ant-e2e-upstream-key-0000';
const CRM_AUDIENCE = 'crm.agents';
let stub: AnthropicStub;
let crm: Server;
let crmUrl = '';
const crmRequests = requestCounter();
let upstream = '';
let prom: Prometheus | undefined;
const tmp = mkdtempSync(join(tmpdir(), 'sk-product-'));

/** The internal service's own check, as the README documents it: a TokenReview for its audience. */
function crmService(): Server {
  const kc = new KubeConfig();
  kc.loadFromFile(c.kubeconfigPath);
  kc.setCurrentContext(c.adminContext);
  const auth = kc.makeApiClient(AuthenticationV1Api);
  return createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const answer = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!token) return answer(401, { error: 'no token' });
    auth
      .createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [CRM_AUDIENCE] } },
      })
      .then((r) =>
        r.status?.authenticated && r.status.audiences?.includes(CRM_AUDIENCE)
          ? answer(200, { caller: r.status.user?.username })
          : answer(401, { error: r.status?.error ?? 'not for this audience' }),
      )
      .catch((e: Error) => answer(500, { error: e.message }));
  });
}

interface Status {
  phase?: string;
  podIP?: string;
  initContainerStatuses?: {
    name: string;
    ready: boolean;
    restartCount: number;
    containerID?: string;
    state?: { running?: { startedAt: string } };
  }[];
  containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: { running?: { startedAt: string } } }[];
}
const status = async (): Promise<Status> =>
  JSON.parse((await c.kubectl(['get', 'pod', POD, '-n', NS, '-o', 'jsonpath={.status}'])).stdout || '{}') as Status;
const sidecarStatus = (s: Status) => s.initContainerStatuses?.find((x) => x.name === SIDECAR);
const describe_ = async () => (await c.kubectl(['describe', 'pod', POD, '-n', NS], { allowFailure: true })).stdout;

/** One turn of the Agent SDK inside the app container. */
async function ask(model: string, prompt: string): Promise<{ ok: boolean; text: string; error?: string }> {
  const r = await c.kubectl(['exec', POD, '-n', NS, '-c', 'app', '--', '/usr/local/bin/node', '/agent/agent.mjs', 'ask', model, prompt], {
    timeoutMs: 120_000,
    allowFailure: true,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { ok: boolean; text: string; error?: string };
  } catch {
    throw new Error(`the agent printed no result (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** The audit records in the sidecar's container log (stdout and stderr: the records are the lines of the chain). */
async function sidecarAudit(): Promise<Record<string, any>[]> {
  const lines = (await c.kubectl(['logs', POD, '-n', NS, '-c', SIDECAR])).stdout.split('\n');
  return lines.flatMap((l) => {
    try {
      const o = JSON.parse(l) as Record<string, any>;
      return typeof o.hash === 'string' && typeof o.seq === 'number' ? [o] : [];
    } catch {
      return [];
    }
  });
}

/**
 * The refusal rule (docs/testing.md) through the pod: after the refused call, wait for its audit
 * record in the sidecar's log (the request is finished), then nothing may have reached `upstream`
 * since the mark. The SDK's own requests carry no id the test can read, so `match` selects the record.
 */
function expectRefusalInPod(upstream: { readonly total: number }) {
  const mark = upstream.total;
  const seqBefore = sidecarAudit().then((rs) => Math.max(-1, ...rs.map((r) => r.seq as number)));
  return {
    async refused(match: (r: Record<string, any>) => boolean, what: string): Promise<Record<string, any>> {
      const after = await seqBefore;
      const record = await until(what, async () => (await sidecarAudit()).find((r) => r.seq > after && match(r)), 30_000, 250);
      expect(upstream.total - mark).toBe(0);
      return record;
    },
  };
}

const yaml = (objs: object[]) => objs.map((o) => JSON.stringify(o)).join('\n---\n');

beforeAll(async () => {
  stub = await new AnthropicStub({ apiKey: KEY }).start();
  upstream = await c.exposeToPods(Number(new URL(stub.url).port));
  crm = crmService();
  crm.on('request', crmRequests.hit);
  crmUrl = await c.exposeToPods(crm);

  // What the README says a user does.
  await applyCrds(c);
  await c.helm(
    [
      'upgrade',
      '--install',
      'scopekeeper',
      join(c.repoRoot, 'charts/scopekeeper'),
      '-n',
      'scopekeeper-system',
      '--create-namespace',
      '--skip-crds',
      '--set',
      `image.repository=${c.images.scopekeeper.replace(/:[^:]+$/, '')}`,
      '--set',
      `image.tag=${c.images.scopekeeper.replace(/^.*:/, '')}`,
      '--set',
      'image.pullPolicy=Never',
      '--set',
      'operator.replicas=1',
      '--set',
      'operator.podDisruptionBudget.enabled=false',
      '--set',
      `sidecar.issuers={${c.node.issuer}}`,
      '--set',
      `sidecar.upstream=${upstream}`,
      '--wait',
      '--timeout',
      '240s',
    ],
    { timeoutMs: 300_000 },
  );

  await c.kubectl(['apply', '-f', '-'], {
    input: yaml([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'support-bot', namespace: NS } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'anthropic-api-key', namespace: NS }, stringData: { 'api-key': KEY } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'scopekeeper-sidecar', namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'scopekeeper-sidecar' },
        subjects: [{ kind: 'ServiceAccount', name: 'support-bot', namespace: NS }],
      },
      // dave asks, carol (security-leads) decides.
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'review-editor', namespace: NS },
        rules: [
          {
            apiGroups: ['scopekeeper.dev'],
            resources: ['accessreviews', 'modelscopes'],
            verbs: ['get', 'list', 'watch', 'create', 'patch', 'update'],
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'review-editor', namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'review-editor' },
        subjects: [
          { kind: 'User', name: 'carol@example.com' },
          { kind: 'User', name: 'dave@example.com' },
        ],
      },
      {
        apiVersion: 'scopekeeper.dev/v1alpha1',
        kind: 'ModelScope',
        metadata: { name: 'support-agent', namespace: NS },
        spec: {
          subjects: [{ kind: 'ServiceAccount', name: 'support-bot' }],
          models: ['claude-sonnet-4-5', 'claude-haiku-4-5'],
          limits: { maxTokens: 128000, streaming: true, thinking: true },
          data: { mask: ['email'] },
          endpoints: [{ name: 'crm', url: crmUrl, paths: ['/customers/**'], auth: { serviceAccountToken: { audience: CRM_AUDIENCE } } }],
          approval: {
            requiredFor: { models: ['claude-haiku-*'] },
            approvers: [{ kind: 'Group', name: 'security-leads' }],
            grantDuration: '1h',
          },
          review: { period: '90d', reviewers: [{ kind: 'Group', name: 'security-leads' }], onExpiry: 'Deny' },
        },
      },
    ]),
  });
  await c.kubectl(['apply', '-f', '-'], {
    as: 'dave@example.com',
    input: JSON.stringify({
      apiVersion: 'scopekeeper.dev/v1alpha1',
      kind: 'AccessReview',
      metadata: { name: 'support-agent-q4', namespace: NS },
      spec: { scopeRef: { name: 'support-agent' }, type: 'Periodic', decision: 'Pending' },
    }),
  });
  await approve('support-agent-q4', 'Support bot on Sonnet; SEC-123');

  // The pod, as a user writes it: the annotation, the service account, the app image.
  await c.kubectl(['delete', 'pod', POD, '-n', NS, '--ignore-not-found', '--wait=true'], { timeoutMs: 120_000 });
  await c.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: POD, namespace: NS, annotations: { 'scopekeeper.dev/inject': 'true' } },
      spec: { serviceAccountName: 'support-bot', containers: [{ name: 'app', image: c.images.agent, imagePullPolicy: 'Never' }] },
    }),
  });
  await until(
    'the agent pod to run with the sidecar ready',
    async () => {
      const s = await status();
      return s.phase === 'Running' && s.containerStatuses?.[0]?.ready && sidecarStatus(s)?.ready ? s : undefined;
    },
    180_000,
    500,
  ).catch(async (e: Error) => {
    throw new Error(
      `${e.message}\n${await describe_()}\n${(await c.kubectl(['logs', '-n', 'scopekeeper-system', 'deploy/scopekeeper', '--tail=40'], { allowFailure: true })).stdout}`,
    );
  });
}, 600_000);

afterAll(async () => {
  await prom?.stop();
  await stub?.close();
  crm?.close();
  c.closeBridges();
  rmSync(tmp, { recursive: true, force: true });
});

async function approve(name: string, justification: string): Promise<void> {
  await run(
    join(c.repoRoot, 'node_modules/.bin/node'),
    [
      join(c.repoRoot, 'bin/scopekeeper.js'),
      'reviews',
      'approve',
      name,
      '-n',
      NS,
      '--justification',
      justification,
      '--context',
      'carol@example.com',
    ],
    {
      env: { ...process.env, KUBECONFIG: c.kubeconfigPath },
    },
  );
}

test('the webhook injected a native sidecar that was ready before the app started, with no warning at its start; the app cannot read the key', async () => {
  const pod = JSON.parse((await c.kubectl(['get', 'pod', POD, '-n', NS, '-o', 'json'])).stdout) as {
    metadata: { annotations: Record<string, string> };
    spec: { initContainers?: { name: string; restartPolicy?: string; securityContext?: Record<string, unknown> }[] };
  };
  expect(pod.metadata.annotations['scopekeeper.dev/status']).toBe('injected');
  const side = pod.spec.initContainers?.find((x) => x.name === SIDECAR);
  expect(side?.restartPolicy).toBe('Always');
  expect(side?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });

  const logs = (await c.kubectl(['logs', POD, '-n', NS, '-c', 'app'])).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // The app's very first act, one call without retry, found the sidecar ready.
  expect(logs.find((l) => l.event === 'start')).toEqual({ event: 'start', sidecarReady: 200 });
  expect(logs.find((l) => l.event === 'key')).toEqual({ event: 'key', key: 'ENOENT' });
  expect(logs.find((l) => l.event === 'env')).toMatchObject({
    baseUrl: 'http://127.0.0.1:15180',
    tokenFile: '/var/run/secrets/scopekeeper/token',
  });
  // Node printed no warning as the compiled sidecar started (http-proxy's DEP0060 was one: issue 13).
  const sidecarLog = (await c.kubectl(['logs', POD, '-n', NS, '-c', SIDECAR])).stdout.split('\n');
  expect(sidecarLog.filter((l) => /^\(node:\d+\) /.test(l))).toEqual([]);
});

test("the stored pod carries exactly the sidecar of the chart's injection config, the key and the endpoint token in it alone", async () => {
  const pod = JSON.parse((await c.kubectl(['get', 'pod', POD, '-n', NS, '-o', 'json'])).stdout) as V1Pod;
  expect(pod.metadata!.labels!['scopekeeper.dev/injected']).toBe('true');
  const sc = pod.spec!.initContainers!.find((x) => x.name === SIDECAR)!;
  expect(pod.spec!.initContainers![0]!.name).toBe(SIDECAR); // before any init container of the app
  expect(sc.image).toBe(c.images.scopekeeper);
  expect(sc.command).toBeUndefined(); // the image's entrypoint
  expect(sc.args).toEqual([
    'sidecar',
    '--policy',
    'kubernetes',
    '--namespace',
    '$(POD_NAMESPACE)',
    '--pod',
    '$(POD_NAME)',
    '--issuer',
    c.node.issuer,
    '--issuer-ca',
    '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    '--upstream-key-file',
    '/var/run/scopekeeper/upstream/key',
    '--upstream',
    upstream,
    '--audit',
    'stdout',
    '--admin',
    '0.0.0.0:15181',
    '--endpoint-token',
    `${CRM_AUDIENCE}=/var/run/scopekeeper/endpoint-tokens/token-0`,
  ]);
  expect(sc.env!.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath])).toEqual([
    ['NODE_OPTIONS', expect.stringContaining('--max-old-space-size=')],
    ['MALLOC_ARENA_MAX', '2'],
    ['POD_NAME', 'metadata.name'],
    ['POD_NAMESPACE', 'metadata.namespace'],
  ]);
  expect(sc.ports!.map((p) => [p.name, p.containerPort, p.protocol])).toEqual([
    ['sk-data', 15180, 'TCP'],
    ['sk-admin', 15181, 'TCP'],
  ]);
  expect(sc.startupProbe!.httpGet).toMatchObject({ path: '/healthz', port: 15181 });
  expect(sc.readinessProbe!.httpGet).toMatchObject({ path: '/readyz', port: 15181 });
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
  expect(sc.volumeMounts!.map((m) => [m.name, m.mountPath, m.readOnly]).sort()).toEqual([
    ['scopekeeper-endpoint-tokens', '/var/run/scopekeeper/endpoint-tokens', true],
    ['scopekeeper-kube-api-access', '/var/run/secrets/kubernetes.io/serviceaccount', true],
    ['scopekeeper-upstream-key', '/var/run/scopekeeper/upstream', true],
  ]);
  const vol = (n: string) => pod.spec!.volumes!.find((v) => v.name === n);
  expect(vol('scopekeeper-token')!.projected!.sources).toEqual([
    { serviceAccountToken: { audience: 'scopekeeper', expirationSeconds: 600, path: 'token' } },
  ]);
  expect(vol('scopekeeper-endpoint-tokens')!.projected!.sources).toEqual([
    { serviceAccountToken: { audience: CRM_AUDIENCE, expirationSeconds: 600, path: 'token-0' } },
  ]);
  expect(vol('scopekeeper-upstream-key')!.secret).toMatchObject({
    secretName: 'anthropic-api-key',
    items: [{ key: 'api-key', path: 'key' }],
  });
  const app = pod.spec!.containers.find((x) => x.name === 'app')!;
  expect(app.env).toEqual([
    { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:15180' },
    { name: 'SCOPEKEEPER_TOKEN_FILE', value: '/var/run/secrets/scopekeeper/token' },
  ]);
  expect(app.volumeMounts).toContainEqual({ name: 'scopekeeper-token', mountPath: '/var/run/secrets/scopekeeper', readOnly: true });
  expect(app.volumeMounts!.filter((m) => m.name.startsWith('scopekeeper-')).map((m) => m.name)).toEqual(['scopekeeper-token']);
  // The key and the endpoint token are mounted into the sidecar alone.
  expect(JSON.stringify(pod.spec!.containers)).not.toContain('scopekeeper-upstream-key');
  expect(JSON.stringify(pod.spec!.containers)).not.toContain('scopekeeper-endpoint-tokens');
});

test('the Agent SDK completes a turn through the sidecar with the projected token; the upstream gets the key, not the token', async () => {
  const before = stub.received.length;
  const r = await ask('claude-sonnet-4-5', 'Reply with the word pong.');
  expect(r).toMatchObject({ ok: true });
  expect(r.text).toContain('pong');
  const seen = stub.received.slice(before).filter((q) => q.url.startsWith('/v1/messages'));
  expect(seen.length).toBeGreaterThan(0);
  expect(seen[0]!.headers['x-api-key']).toBe(KEY);
  expect(seen[0]!.headers.authorization).toBeUndefined();
});

test("masking: an email in the model's answer does not reach the app", async () => {
  const r = await ask('claude-sonnet-4-5', 'Write to jane.doe@example.com about the refund.');
  expect(r.ok).toBe(true);
  expect(r.text).toContain('about the refund');
  expect(r.text).not.toContain('jane.doe@example.com');
});

test('a denial: a model outside the scope is refused and never reaches the upstream', async () => {
  const nothingForwarded = expectRefusalInPod(stub);
  const r = await ask('claude-opus-4-1', 'Reply with the word pong.');
  expect(r.ok).toBe(false);
  expect(r.error).toMatch(/403/);
  expect(r.error).toMatch(/spec\.models/);
  // The Agent SDK sends its own name for the Opus it was asked for (see the audit test below).
  await nothingForwarded.refused((x) => x.decision === 'deny' && /^claude-opus-/.test(x.model), 'the audit record of the denied Opus turn');
});

test('a held request: Haiku needs an approval; after carol approves the JustInTime review the same call passes', async () => {
  const held = await ask('claude-haiku-4-5', 'Reply with the word pong.');
  expect(held.ok).toBe(false);
  const pending = await until(
    'the JustInTime review the sidecar created',
    async () => {
      const list = JSON.parse((await c.kubectl(['get', 'accessreviews', '-n', NS, '-o', 'json'])).stdout) as {
        items: { metadata: { name: string }; spec: { type: string; decision: string; request?: { model?: string } } }[];
      };
      return list.items.find(
        (x) => x.spec.type === 'JustInTime' && x.spec.decision === 'Pending' && x.spec.request?.model?.startsWith('claude-haiku'),
      );
    },
    30_000,
    250,
  ).catch(async (e: Error) => {
    const side = await c.kubectl(['logs', POD, '-n', NS, '-c', SIDECAR, '--tail=5'], { allowFailure: true });
    const ars = await c.kubectl(['get', 'accessreviews', '-n', NS, '-o', 'yaml'], { allowFailure: true });
    throw new Error(
      `${e.message}\nthe agent got: ${JSON.stringify(held)}\nsidecar:\n${side.stdout}${side.stderr}\nreviews:\n${ars.stdout}`,
    );
  });
  await approve(pending.metadata.name, 'INC-1 needs Haiku');
  const passed = await until(
    'the approved request to pass',
    async () => {
      const r = await ask('claude-haiku-4-5', 'Reply with the word pong.');
      return r.ok ? r : undefined;
    },
    60_000,
    1000,
  );
  expect(passed.text).toContain('pong');
});

/** node -e in the app container: what the app itself can do. */
const inApp = async (js: string): Promise<string> =>
  (await c.kubectl(['exec', POD, '-n', NS, '-c', 'app', '--', '/usr/local/bin/node', '-e', js])).stdout.trim();

test("the sidecar's audit on its stdout: who, which pod, scope and review; a valid chain; no token or key in it", async () => {
  const lines = (await c.kubectl(['logs', POD, '-n', NS, '-c', SIDECAR])).stdout.split('\n');
  const records = await sidecarAudit();
  const seen = records.map((r) => `${r.seq} ${r.decision} ${r.route} ${r.model} ${r.status}`).join('\n');
  const allowed = records.find((r) => r.decision === 'allow' && r.route === 'messages' && r.masked?.email);
  // The Agent SDK sends its own name for the Opus it was asked for (claude-opus-4-1 went out as claude-opus-5-5 here).
  const denied = records.find((r) => r.decision === 'deny' && /^claude-opus-/.test(r.model));
  if (!allowed || !denied) throw new Error(`the audit records in the sidecar's log:\n${seen}`);
  expect(allowed).toMatchObject({
    subject: `ServiceAccount ${NS}/support-bot`,
    issuer: c.node.issuer,
    namespace: NS,
    pod: POD,
    scope: 'support-agent',
    review: 'support-agent-q4',
    model: 'claude-sonnet-4-5',
    status: 200,
  });
  expect(denied).toMatchObject({ status: 403, pod: POD, scope: 'support-agent' });
  const file = join(tmp, 'audit.jsonl');
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const verified = await runAuditVerify(file);
  expect(verified).toMatchObject({ code: 0 });
  const token = await inApp("process.stdout.write(require('fs').readFileSync(process.env.SCOPEKEEPER_TOKEN_FILE, 'utf8'))");
  expect(token.split('.')).toHaveLength(3);
  const all = lines.join('\n');
  expect(all).not.toContain(token.split('.')[2]!);
  expect(all).not.toContain(KEY);
});

test('endpoints[].auth: the sidecar calls the internal service with the projected token for its audience; the app calling it directly is refused', async () => {
  const get = (url: string, withToken: boolean) =>
    inApp(
      `const fs = require('fs'); const h = ${withToken} ? { authorization: 'Bearer ' + fs.readFileSync(process.env.SCOPEKEEPER_TOKEN_FILE, 'utf8') } : {};` +
        `fetch(${JSON.stringify(url)}, { headers: h }).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => console.log(JSON.stringify({ error: String(e.cause ?? e) })))`,
    ).then((out) => JSON.parse(out.split('\n').pop()!) as { status?: number; body?: string; error?: string });
  const through = await get('http://127.0.0.1:15180/services/crm/customers/1', true);
  expect(through).toMatchObject({ status: 200 });
  expect(JSON.parse(through.body!)).toEqual({ caller: `system:serviceaccount:${NS}:support-bot` });
  // The app's own token is for the audience scopekeeper, not the service's; without one, nothing.
  expect(await get(`${crmUrl}/customers/1`, true)).toMatchObject({ status: 401 });
  expect(await get(`${crmUrl}/customers/1`, false)).toMatchObject({ status: 401 });
  // A path outside the endpoint's paths is refused by the sidecar, and crm receives nothing.
  const nothingForwarded = expectRefusalInPod(crmRequests);
  expect(await get('http://127.0.0.1:15180/services/crm/admin/users', true)).toMatchObject({ status: 403 });
  await nothingForwarded.refused(
    (x) => x.status === 403 && x.path === '/services/crm/admin/users',
    'the audit record of the refused /admin/users call',
  );
});

test('the sidecar cannot write its root file system', async () => {
  const r = await c.kubectl([
    'exec',
    POD,
    '-n',
    NS,
    '-c',
    SIDECAR,
    '--',
    '/usr/local/bin/node',
    '-e',
    "try { require('fs').writeFileSync('/app/owned', 'x'); console.log('WROTE') } catch (e) { console.log(e.code) }",
  ]);
  expect(r.stdout.trim()).toBe('EROFS');
});

test("Prometheus scrapes the pod's sidecar and the chart's operator: requests, masking, the valid review, the injection", async () => {
  const s = await status();
  const sidecarMetrics = await c.exposeFromNode(s.podIP!, 15181);
  const op = JSON.parse(
    (
      await c.kubectl([
        'get',
        'pods',
        '-n',
        'scopekeeper-system',
        '-l',
        'app.kubernetes.io/component=operator',
        '--field-selector',
        'status.phase=Running',
        '-o',
        'json',
      ])
    ).stdout,
  ) as { items: { status: { podIP: string } }[] };
  const operatorMetrics = await c.exposeFromNode(op.items[0]!.status.podIP, 15182);
  prom = await startPrometheus({
    targets: [
      { job: 'scopekeeper-sidecar', url: `${sidecarMetrics}/metrics`, labels: { namespace: NS, pod: POD } },
      { job: 'scopekeeper-operator', url: `${operatorMetrics}/metrics` },
    ],
    scrapeIntervalSeconds: 1,
  });
  const p = prom;
  await p.waitFor('count(up == 1)', (v) => v === 2, { timeoutMs: 30_000 });
  const allowed = await p.waitFor('sum(scopekeeper_requests_total{decision="allow",scope="support-agent"})', (v) => v >= 1);
  expect(allowed[0]!.value).toBeGreaterThanOrEqual(1);
  await p.waitFor('sum(scopekeeper_masked_total{category="email"})', (v) => v > 0);
  const valid = await p.waitFor(
    `scopekeeper_access_review_valid{namespace="${NS}",review="support-agent-q4",scope="support-agent"}`,
    (v) => v === 1,
  );
  expect(valid[0]!.metric.job).toBe('scopekeeper-operator');
  const injected = await p.waitFor('scopekeeper_injections_total{result="injected"}', (v) => v >= 1);
  expect(injected[0]!.metric.job).toBe('scopekeeper-operator');
  // The denied Opus matches no name of the scope: counted as "other", so callers cannot grow the label set.
  const denied = await p.query('scopekeeper_requests_total{decision="deny"}');
  expect(denied.some((x) => x.metric.model === 'other')).toBe(true);
  expect(denied.some((x) => /opus/.test(x.metric.model ?? ''))).toBe(false);
});

test('large bodies at once stay within the sidecar container’s memory limit: answered 200 or 529, never OOM-killed', async () => {
  // Four bodies of 15 MiB (60 MiB against a 48 MiB --max-buffered-bytes): at 192Mi and without the
  // budget, parsing three of them at once took the sidecar past its limit (bench/big-bodies.ts).
  const before = sidecarStatus(await status())!;
  const r = await c.kubectl(['exec', POD, '-n', NS, '-c', 'app', '--', '/usr/local/bin/node', '/agent/agent.mjs', 'bodies', '4', '15'], {
    timeoutMs: 120_000,
    allowFailure: true,
  });
  const { statuses } = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { statuses: (number | string)[] };
  expect(statuses).toHaveLength(4);
  for (const s of statuses) expect([200, 529]).toContain(s);
  expect(statuses).toContain(200);
  const after = sidecarStatus(await status())!;
  expect({ restarts: after.restartCount, ready: after.ready }).toEqual({ restarts: before.restartCount, ready: true });
});

test("a killed sidecar is restarted by the kubelet and the agent's next call succeeds", async () => {
  const s = await status();
  const side = sidecarStatus(s)!;
  const id = side.containerID!.replace(/^containerd:\/\//, '');
  await c.ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]);
  await until(
    'the sidecar to be restarted and ready',
    async () => {
      const now = sidecarStatus(await status());
      return now && now.restartCount > side.restartCount && now.ready;
    },
    90_000,
    250,
  );
  const r = await ask('claude-sonnet-4-5', 'Reply with the word pong.');
  expect(r).toMatchObject({ ok: true });
});
