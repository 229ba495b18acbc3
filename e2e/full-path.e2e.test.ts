// The full path through a real cluster (issue #7): the chart's settings → the operator and its
// admission webhook (in this process) → an annotated pod stored with the injected sidecar → that
// sidecar started from the STORED spec (as a process, its mounts written from the real Secret,
// ConfigMap and TokenRequests) → the real Claude Agent SDK through it with a TokenRequest token of
// the pod's service account → Prometheus scraping the sidecar's and the operator's /metrics.
//
// Only the Anthropic upstream is a stand-in (AnthropicStub). There is no kubelet on the e2e control
// plane: e2e/harness/pod-sidecar.ts does the kubelet's part that matters to the process (downward
// API, $(VAR) expansion, volumes as files); container-runtime settings are checked on the spec.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query } from '@anthropic-ai/claude-agent-sdk';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { Operator } from '@scopekeeper/operator';
import { AnthropicStub, runAuditVerify } from '@scopekeeper/sidecar';
import {
  createWebhookServer,
  ensureCerts,
  parseInjectionConfig,
  type InjectionConfig,
  type WebhookServer,
} from '../packages/operator/src/webhook/index.ts';
import { applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';
import {
  containerEnv,
  containerOf,
  expand,
  inClusterKubeconfig,
  materializeMounts,
  remapArgs,
  startProcess,
  waitHttpOk,
  type LocalProcess,
  type Mount,
} from './harness/pod-sidecar.ts';
import { freePorts } from './harness/proc.ts';
import { startPrometheus, type Prometheus } from './harness/prometheus.ts';
import { until } from './harness/wait.ts';

const c = cluster();
// The API server calls the webhook on this machine's loopback: only a control plane on loopback can.
const loopback = /^https:\/\/127\.0\.0\.1:\d+$/.test(c.server) && c.caFile !== undefined;
const RUN = Date.now().toString(36);
const NS = 'team-a';
const SA = 'agent-bot';
const SCOPE = 'agent-sdk';
const REVIEW = 'agent-sdk-q1';
const POD = `agent-${RUN}`;
const RELEASE = 'scopekeeper-fullpath'; // not the chart spec's release: its cluster-scoped names differ
const WEBHOOK_CONFIG = 'scopekeeper-fullpath';
const UPSTREAM_KEY = 'sk-ant-e2e-full-path-0000';
const ISSUER = c.serviceAccountIssuer ?? c.server;
const EMAIL = 'jane.doe@example.com';

const kc = new KubeConfig();
kc.loadFromFile(c.kubeconfigPath);
kc.setCurrentContext(c.adminContext);
const core = kc.makeApiClient(CoreV1Api);

const apply = (...items: object[]) => c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
const getJson = async <T>(args: string[]): Promise<T> => JSON.parse((await c.kubectl([...args, '-o', 'json'])).stdout) as T;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

const t0 = Date.now();
const lap = (what: string) => console.log(`full path: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);

// What the test starts, all stopped in afterAll.
let tmp: string;
let stub: AnthropicStub;
let operator: Operator | undefined;
let operatorAdmin: string;
let webhook: WebhookServer | undefined;
let sidecar: LocalProcess | undefined;
let prometheus: Prometheus | undefined;

let injection: InjectionConfig;
let stored: V1Pod;
let mounts: Mount[];
let dataUrl: string;
let adminUrl: string;
let token: string;

(loopback ? describe : describe.skip)(
  'the full path: chart → operator + webhook → injected pod → sidecar from its spec → Agent SDK → Prometheus',
  () => {
    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'sk-full-path-'));
      stub = await new AnthropicStub({ apiKey: UPSTREAM_KEY }).start();

      // The chart, as an admin installs it for this cluster: its issuer is the API server's own.
      const rendered = await c.helm([
        'template',
        RELEASE,
        join(c.repoRoot, 'charts/scopekeeper'),
        '--namespace',
        'scopekeeper-system',
        '--set-json',
        `sidecar.issuers=${JSON.stringify([ISSUER])}`,
        '--set',
        `sidecar.bindings[0].namespace=${NS},sidecar.bindings[0].serviceAccount=${SA}`,
        '--show-only',
        'templates/configmap.yaml',
        '--show-only',
        'templates/rbac.yaml',
        '--show-only',
        'templates/webhooks.yaml',
      ]);
      const objs = parseAllDocuments(rendered.stdout)
        .map((d) => d.toJS())
        .filter(Boolean) as any[];
      const find = (kind: string, name: string) => {
        const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
        if (!o) throw new Error(`the chart renders no ${kind} ${name}`);
        return o;
      };
      injection = parseInjectionConfig(
        JSON.parse(find('ConfigMap', `${RELEASE}-injection`).data['injection.json']),
        "the chart's injection.json",
      );

      await applyCrds();
      await ensureNamespace(NS);
      const caExists =
        (await c.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', NS, '-o', 'name'], { allowFailure: true })).code === 0;
      if (!caExists) {
        // What kube-controller-manager's root-ca-cert-publisher writes into every namespace.
        await c.kubectl(['create', 'configmap', 'kube-root-ca.crt', '-n', NS, `--from-file=ca.crt=${c.caFile}`]);
      }
      await apply(
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } },
        // The upstream key, in the Secret the injection mounts into the sidecar alone.
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: injection.upstreamKeySecret, namespace: NS },
          stringData: { 'api-key': UPSTREAM_KEY },
        },
        // The chart's sidecar ClusterRole, bound to the pod's service account (sidecar.bindings).
        find('ClusterRole', `${RELEASE}-sidecar`),
        find('RoleBinding', `${RELEASE}-sidecar-${SA}`),
        {
          apiVersion: 'scopekeeper.dev/v1alpha1',
          kind: 'ModelScope',
          metadata: { name: SCOPE, namespace: NS },
          spec: {
            subjects: [{ kind: 'ServiceAccount', name: SA }],
            models: ['claude-sonnet-4-*', 'claude-haiku-*'],
            limits: { maxTokens: 64000, streaming: true, thinking: true },
            data: { mask: ['email'] },
            review: { period: '90d', reviewers: [{ kind: 'Group', name: 'security-leads' }] },
          },
        },
        {
          // Decided by carol (security-leads). Created as admin: the AccessReview webhooks are
          // webhook.e2e.test.ts's subject, not this spec's.
          apiVersion: 'scopekeeper.dev/v1alpha1',
          kind: 'AccessReview',
          metadata: { name: REVIEW, namespace: NS },
          spec: {
            scopeRef: { name: SCOPE },
            type: 'Periodic',
            decision: 'Approved',
            reviewer: 'carol@example.com',
            requestedBy: 'dave@example.com',
            reviewedAt: iso(Date.now() - 60_000),
            expiresAt: iso(Date.now() + 30 * 86_400_000),
            justification: 'The agent bot drafts replies with Sonnet and Haiku; SEC-777',
            evidence: ['https://tickets.example.com/SEC-777'],
          },
        },
      );

      // The operator, in process, on the real control plane; the webhook's counter on its registry.
      operator = new Operator({ kubeConfig: kc, namespace: NS, admin: { host: '127.0.0.1', port: 0 }, leaderElection: false });
      operatorAdmin = (await operator.start()).admin!;
      await operator.synced();
      const { certs } = await ensureCerts({
        serviceName: RELEASE,
        namespace: 'scopekeeper-system',
        dir: join(tmp, 'webhook-certs'),
        ipAddresses: ['127.0.0.1'],
      });
      webhook = createWebhookServer({
        port: 0,
        host: '127.0.0.1',
        tls: {
          certFile: join(tmp, 'webhook-certs', 'tls.crt'),
          keyFile: join(tmp, 'webhook-certs', 'tls.key'),
          reloadIntervalMs: 3_600_000,
        },
        metrics: { registry: operator.metrics.registry },
        deps: {
          injection,
          serverVersion: c.serverVersion,
          getScope: (ns, name) => operator!.getScope(ns, name),
          getNamespace: async (name) => ({ metadata: { name, labels: (await core.readNamespace({ name })).metadata?.labels ?? {} } }),
        },
      });
      const url = await webhook.listen();
      // The chart's pod-injection webhook, its service reference turned into a url to this process.
      const mutating = find('MutatingWebhookConfiguration', 'scopekeeper');
      mutating.metadata = { name: WEBHOOK_CONFIG };
      mutating.webhooks = mutating.webhooks
        .filter((w: any) => w.name === 'inject.scopekeeper.dev')
        .map((w: any) => ({
          ...w,
          timeoutSeconds: 10,
          clientConfig: { url: `${url}${w.clientConfig.service.path}`, caBundle: Buffer.from(certs.caBundle).toString('base64') },
        }));
      await apply(mutating);
      // The API server loads webhook configurations asynchronously: wait until a dry run is injected.
      await until(
        'the API server to call the webhook',
        async () => {
          const r = await c.kubectl(['create', '--dry-run=server', '-f', '-', '-o', 'json'], {
            input: JSON.stringify(podManifest(`probe-${RUN}`)),
            allowFailure: true,
          });
          return r.code === 0 && (JSON.parse(r.stdout) as V1Pod).spec?.initContainers?.length;
        },
        30_000,
        250,
      );
      lap('operator, webhook and resources ready');
    }, 60_000);

    afterAll(async () => {
      const stops: Promise<unknown>[] = [];
      stops.push(sidecar?.stop() ?? Promise.resolve());
      stops.push(prometheus?.stop() ?? Promise.resolve());
      await Promise.allSettled(stops);
      await c.kubectl(['delete', 'mutatingwebhookconfiguration', WEBHOOK_CONFIG, '--ignore-not-found'], { allowFailure: true });
      await c.kubectl(['delete', 'pod', POD, '-n', NS, '--ignore-not-found', '--wait=false'], { allowFailure: true });
      await Promise.allSettled([operator?.stop(), webhook?.close(), stub?.close()]);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      lap('everything stopped');
    }, 30_000);

    test("the operator marks carol's review Valid", async () => {
      const valid = await until('Valid=True on the review', async () => {
        const r = await getJson<{ status?: { conditions?: { type: string; status: string; reason: string }[] } }>([
          'get',
          'accessreview',
          REVIEW,
          '-n',
          NS,
        ]);
        return r.status?.conditions?.find((x) => x.type === 'Valid' && x.status === 'True');
      });
      expect(valid.reason).toBe('Approved');
    });

    test('an annotated pod is stored with the injected native sidecar, the app pointed at it', async () => {
      const before = (await webhook!.injections.get()).values.find((v) => v.labels.result === 'injected')?.value ?? 0;
      await c.kubectl(['create', '-f', '-'], { input: JSON.stringify(podManifest(POD)) });
      // Read back what the API server stored, not the create response.
      stored = await getJson<V1Pod>(['get', 'pod', POD, '-n', NS]);
      expect(stored.metadata!.annotations!['scopekeeper.dev/status']).toBe('injected');
      expect(stored.metadata!.labels!['scopekeeper.dev/injected']).toBe('true');
      expect((await webhook!.injections.get()).values.find((v) => v.labels.result === 'injected')!.value).toBe(before + 1);

      const { container: sc, list } = containerOf(stored, 'scopekeeper-sidecar');
      expect(list).toBe('initContainers');
      expect(stored.spec!.initContainers![0]!.name).toBe('scopekeeper-sidecar');
      expect(sc.restartPolicy).toBe('Always');
      expect(sc.image).toBe(injection.image);
      expect(sc.command).toBeUndefined(); // the image's entrypoint: node bin/scopekeeper.js
      expect(sc.args).toEqual([
        'sidecar',
        '--policy',
        'kubernetes',
        '--namespace',
        '$(POD_NAMESPACE)',
        '--pod',
        '$(POD_NAME)',
        '--issuer',
        ISSUER,
        '--issuer-ca',
        '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
        '--upstream-key-file',
        '/var/run/scopekeeper/upstream/key',
        '--audit',
        'stdout',
        '--admin',
        '0.0.0.0:15181',
        '--scope',
        SCOPE,
      ]);
      expect(sc.env!.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
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
      expect(sc.volumeMounts).toEqual(
        expect.arrayContaining([
          { name: 'scopekeeper-upstream-key', mountPath: '/var/run/scopekeeper/upstream', readOnly: true },
          { name: 'scopekeeper-kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
        ]),
      );
      expect(sc.volumeMounts).toHaveLength(2);

      const app = containerOf(stored, 'app').container;
      expect(stored.spec!.containers).toHaveLength(1);
      expect(app.command).toEqual(['node', 'agent.js']);
      expect(app.env).toEqual([
        { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:15180' },
        { name: 'SCOPEKEEPER_TOKEN_FILE', value: '/var/run/secrets/scopekeeper/token' },
      ]);
      expect(app.volumeMounts).toEqual([{ name: 'scopekeeper-token', mountPath: '/var/run/secrets/scopekeeper', readOnly: true }]);

      const vol = (n: string) => stored.spec!.volumes!.find((v) => v.name === n);
      expect(vol('scopekeeper-token')!.projected!.sources).toEqual([
        { serviceAccountToken: { audience: 'scopekeeper', expirationSeconds: 600, path: 'token' } },
      ]);
      expect(vol('scopekeeper-upstream-key')!.secret).toMatchObject({
        secretName: injection.upstreamKeySecret,
        items: [{ key: 'api-key', path: 'key' }],
      });
      expect(vol('scopekeeper-kube-api-access')!.projected!.sources!.map((s) => Object.keys(s)[0])).toEqual([
        'serviceAccountToken',
        'configMap',
        'downwardAPI',
      ]);
      expect(stored.spec!.serviceAccountName).toBe(SA);
      // The key is mounted into the sidecar alone.
      expect(JSON.stringify(stored.spec!.containers)).not.toContain('scopekeeper-upstream-key');
    });

    test("the injected sidecar starts from the stored spec and becomes ready on the cluster's policy", async () => {
      expect(stored).toBeDefined();
      const { container: sc } = containerOf(stored, 'scopekeeper-sidecar');
      // The kubelet's part: the downward-API env, $(VAR) expansion, the mounted volumes as files.
      const env = containerEnv(stored, sc);
      expect(env).toEqual({ POD_NAME: POD, POD_NAMESPACE: NS });
      const root = join(tmp, 'rootfs');
      mounts = await materializeMounts(stored, sc, root, {
        secret: async (ns, name, key) =>
          Buffer.from((await getJson<{ data: Record<string, string> }>(['get', 'secret', name, '-n', ns])).data[key]!, 'base64').toString(),
        configMap: async (ns, name, key) =>
          (await getJson<{ data: Record<string, string> }>(['get', 'configmap', name, '-n', ns])).data[key]!,
        serviceAccountToken: async (ns, sa, audience, seconds) =>
          (
            await c.kubectl(['create', 'token', sa, '-n', ns, `--duration=${seconds}s`, ...(audience ? [`--audience=${audience}`] : [])])
          ).stdout.trim(),
      });
      const keyMount = mounts.find((m) => m.volume === 'scopekeeper-upstream-key')!;
      expect(keyMount.files).toEqual({ key: UPSTREAM_KEY });
      const api = mounts.find((m) => m.volume === 'scopekeeper-kube-api-access')!;
      expect(Object.keys(api.files).sort()).toEqual(['ca.crt', 'namespace', 'token']);
      expect(api.files.namespace).toBe(NS);

      // What differs on this machine: loopback ports, the stub upstream, the issuer's discovery URL
      // (the API server on 127.0.0.1); paths inside the mounts point at the files just written.
      const [dataPort, adminPort] = await freePorts(2);
      const args = remapArgs(
        (sc.args ?? []).map((a) => expand(a, env)),
        mounts,
        {
          '--listen': `127.0.0.1:${dataPort}`,
          '--admin': `127.0.0.1:${adminPort}`,
          '--upstream': stub.url,
          '--issuer': (iss) => `${iss}=${c.server}`,
        },
      );
      expect(args).toEqual([
        'sidecar',
        '--policy',
        'kubernetes',
        '--namespace',
        NS,
        '--pod',
        POD,
        '--issuer',
        `${ISSUER}=${c.server}`,
        '--issuer-ca',
        join(root, '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt'),
        '--upstream-key-file',
        join(root, '/var/run/scopekeeper/upstream/key'),
        '--audit',
        'stdout',
        '--admin',
        `127.0.0.1:${adminPort}`,
        '--scope',
        SCOPE,
        '--listen',
        `127.0.0.1:${dataPort}`,
        '--upstream',
        stub.url,
      ]);
      // Its own API access: the mounted service-account token (of agent-bot, bound to the chart's
      // sidecar role), as client-node's in-cluster config would use it.
      const kubeconfig = inClusterKubeconfig(join(tmp, 'in-cluster.kubeconfig'), c.server, api.localDir, api.files.namespace!);
      sidecar = startProcess(join(c.repoRoot, 'node_modules/.bin/node'), [join(c.repoRoot, 'bin/scopekeeper.js'), ...args], {
        cwd: c.repoRoot, // the image's WORKDIR /app with ENTRYPOINT ["node", "bin/scopekeeper.js"]
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(tmp, 'home'), KUBECONFIG: kubeconfig, ...env },
      });
      dataUrl = `http://127.0.0.1:${dataPort}`;
      adminUrl = `http://127.0.0.1:${adminPort}`;
      await waitHttpOk(`${adminUrl}/readyz`, sidecar, 20_000);
      lap(`sidecar (pid ${sidecar.pid}) ready`);
      const ready = (await (await fetch(`${adminUrl}/readyz`)).json()) as { ready: boolean };
      expect(ready.ready).toBe(true);
      // The app's URL is the sidecar's data port (127.0.0.1:15180 in the pod).
      expect(new URL(containerOf(stored, 'app').container.env![0]!.value!).hostname).toBe('127.0.0.1');
    }, 30_000);

    test('the real Claude Agent SDK completes a turn through the sidecar with a TokenRequest token; a model outside the scope gets 403 with the reason', async () => {
      if (!sidecar || sidecar.done()) throw new Error('the sidecar is not running (see the test before)');
      token = (await c.kubectl(['create', 'token', SA, '-n', NS, '--audience', 'scopekeeper', '--duration', '10m'])).stdout.trim();
      const before = stub.received.length;

      const config = mkdtempSync(join(tmp, 'agent-sdk-'));
      const env = {
        ...process.env,
        ANTHROPIC_BASE_URL: dataUrl,
        ANTHROPIC_AUTH_TOKEN: token,
        ANTHROPIC_API_KEY: '',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CONFIG_DIR: config,
        HOME: config,
      };
      let text = '';
      let result: { isError: boolean; text: string } | undefined;
      const abortController = new AbortController(); // a hung turn fails here, with the sidecar's log, not at jest's timeout
      const timer = setTimeout(() => abortController.abort(), 30_000);
      try {
        for await (const m of query({
          prompt: `Reply with the word pong. Write to me at ${EMAIL}`,
          options: { model: 'claude-sonnet-4-5', env, maxTurns: 1, cwd: config, settingSources: [], abortController },
        })) {
          if (m.type === 'assistant')
            text += m.message.content.map((b: { type: string; text?: string }) => (b.type === 'text' ? b.text : '')).join('');
          if (m.type === 'result') result = { isError: m.is_error, text: 'result' in m ? m.result : JSON.stringify(m) };
        }
      } catch (e) {
        throw new Error(`the Agent SDK turn failed: ${(e as Error).message}\nsidecar stderr:\n${sidecar!.stderr().slice(-4000)}`);
      } finally {
        clearTimeout(timer);
      }
      lap('Agent SDK turn done');
      expect(result?.isError).toBe(false);
      // The stub echoes the prompt; the scope masks emails in the stream.
      expect(text).toContain('Reply with the word pong.');
      expect(text).toContain('[MASKED:email]');
      expect(text).not.toContain(EMAIL);
      const upstream = stub.received.slice(before).filter((r) => r.url.startsWith('/v1/messages'));
      expect(upstream.length).toBeGreaterThan(0);
      expect(upstream[0]!.headers['x-api-key']).toBe(UPSTREAM_KEY); // from the mounted Secret
      expect(upstream[0]!.headers.authorization).toBeUndefined(); // the caller's token stays in the pod
      expect(JSON.parse(upstream[0]!.body.toString()).stream).toBe(true);

      const denied = await fetch(`${dataUrl}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-opus-4-1', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = (await denied.json()) as { type: string; error: { type: string; message: string } };
      expect(denied.status).toBe(403);
      expect(body.type).toBe('error');
      expect(body.error.type).toBe('permission_error');
      expect(body.error.message).toContain(`Denied by ModelScope ${SCOPE}, rule spec.models: model claude-opus-4-1 is not in`);

      // The audit on the sidecar's stdout: who, which pod, which scope and review; a valid chain.
      await until('the audit records', () => sidecar!.stdoutLines().length >= 2, 5_000, 50);
      const records = sidecar!.stdoutLines().map((l) => JSON.parse(l) as Record<string, any>);
      const allowed = records.find((r) => r.decision === 'allow' && r.route === 'messages')!;
      expect(allowed).toMatchObject({
        subject: `ServiceAccount ${NS}/${SA}`,
        issuer: ISSUER,
        namespace: NS,
        pod: POD,
        scope: SCOPE,
        review: REVIEW,
        model: 'claude-sonnet-4-5',
        status: 200,
      });
      expect(allowed.masked).toMatchObject({ email: expect.any(Number) });
      expect(records.find((r) => r.decision === 'deny')).toMatchObject({ model: 'claude-opus-4-1', status: 403, pod: POD });
      const auditFile = join(tmp, 'audit.jsonl');
      writeFileSync(auditFile, sidecar!.stdoutLines().join('\n') + '\n');
      expect((await runAuditVerify(auditFile)).code).toBe(0);
      expect(JSON.stringify(records)).not.toContain(token.split('.')[2]!);
      expect(JSON.stringify(records)).not.toContain(UPSTREAM_KEY);
    }, 40_000);

    test('Prometheus scrapes the sidecar and the operator: allowed and denied requests, tokens, the valid review, the injection', async () => {
      if (!sidecar || sidecar.done()) throw new Error('the sidecar is not running (see the tests before)');
      prometheus = await startPrometheus({
        targets: [
          { job: 'scopekeeper-sidecar', url: `${adminUrl}/metrics`, labels: { namespace: NS, pod: POD } },
          { job: 'scopekeeper-operator', url: `${operatorAdmin}/metrics` },
        ],
        scrapeIntervalSeconds: 1,
      });
      lap(`prometheus (pid ${prometheus.pid}) ready`);
      const p = prometheus;
      await p.waitFor('count(up == 1)', (v) => v === 2);
      expect((await p.query('up')).map((s) => s.metric.job).sort()).toEqual(['scopekeeper-operator', 'scopekeeper-sidecar']);

      const allow = await p.waitFor(`sum(scopekeeper_requests_total{decision="allow",scope="${SCOPE}"})`, (v) => v > 0);
      const deny = await p.waitFor(`sum(scopekeeper_requests_total{decision="deny"})`, (v) => v > 0);
      const tokens = await p.waitFor('sum(scopekeeper_tokens_total)', (v) => v > 0);
      const valid = await p.waitFor(
        `scopekeeper_access_review_valid{namespace="${NS}",review="${REVIEW}",scope="${SCOPE}"}`,
        (v) => v === 1,
      );
      const injected = await p.waitFor('scopekeeper_injections_total{result="injected"}', (v) => v >= 1);
      const masked = await p.waitFor('sum(scopekeeper_masked_total{category="email"})', (v) => v > 0);
      expect(valid[0]!.metric.job).toBe('scopekeeper-operator');
      expect(injected[0]!.metric.job).toBe('scopekeeper-operator');
      const denyByModel = await p.query('scopekeeper_requests_total{decision="deny"}');
      // A model no scope's glob matches is counted under "other": callers cannot grow the label set.
      expect(denyByModel.some((s) => s.metric.model === 'other' && s.metric.job === 'scopekeeper-sidecar')).toBe(true);
      expect(denyByModel.some((s) => s.metric.model === 'claude-opus-4-1')).toBe(false);
      console.log(
        `full path: Prometheus read back allow=${allow[0]!.value} deny=${deny[0]!.value} tokens=${tokens[0]!.value} ` +
          `review_valid=${valid[0]!.value} injected=${injected[0]!.value} masked_email=${masked[0]!.value}`,
      );
    }, 30_000);
  },
);

function podManifest(name: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      labels: { app: 'agent' },
      annotations: { 'scopekeeper.dev/inject': 'true', 'scopekeeper.dev/scope': SCOPE },
    },
    spec: { serviceAccountName: SA, containers: [{ name: 'app', image: 'agent:1', command: ['node', 'agent.js'] }] },
  };
}
