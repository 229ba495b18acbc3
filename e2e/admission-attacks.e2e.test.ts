// Key theft and self-approval, tried as an attacker would, against the chart's admission webhooks
// as a real kube-apiserver calls them (issue 15). Two people sign in through OIDC: frank owns the
// agent (he may create and change pods and reviews in its namespaces, and he is in the scope's
// subject group), erin is a security lead. The agent's service account holds the sidecar's RBAC
// (the chart's ClusterRole). Every attempt must be refused with a message that says why; the
// legitimate paths (injection, a debug container aimed at the app, approval by a reviewer who is
// not a subject, a held request recorded by the sidecar's service account) must keep working.
// endpoints[].auth (a token projected into the sidecar alone) runs on a real node:
// e2e/pods/product.e2e.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { AccessReview } from '@scopekeeper/core';
import { createWebhookServer, ensureCerts, type InjectionConfig, type WebhookServer } from '../packages/operator/src/webhook/index.ts';
import { AnthropicStub, runSidecar, silentLogger, type Sidecar } from '../packages/sidecar/src/index.ts';
import { applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';
import { apiServerLookups, chartWebhooks } from './harness/webhooks.ts';
import { until } from '@scopekeeper/kube/testing/until';
import { expectRefusal } from '../packages/sidecar/test/refusal.ts';

const c = cluster();
const local = c.mode === 'local' && c.oidc !== undefined;
const RUN = Date.now().toString(36);
const NS = 'sk-attack'; // not enforced: the checks follow the injected pods
const NS_ENF = 'sk-attack-enforced';
const NS_AR = 'sk-selfapproval';
const FRANK = 'frank@example.com'; // ml-engineers
const ERIN = 'erin@example.com'; // security-leads
const KEY = 'anthropic-api-key';
const AUDIENCE = 'crm.sk-attack';
const RELEASE = 'sk-attack';

const injection: InjectionConfig = {
  image: 'ghcr.io/scopekeeper/scopekeeper:0.2.0',
  issuers: [c.serviceAccountIssuer ?? c.server],
  upstreamKeySecret: KEY,
};

const kc = new KubeConfig();
kc.loadFromFile(c.kubeconfigPath);
kc.setCurrentContext(c.adminContext);

let server: WebhookServer;
let dir = '';

const json = (o: unknown): string => JSON.stringify(o);
const podSpec = (name: string, ns: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, annotations: { 'scopekeeper.dev/inject': 'true' }, ...meta },
  spec: { serviceAccountName: 'agent-bot', containers: [{ name: 'app', image: 'agent:1' }], ...spec },
});

/** kubectl as a user that must be refused: returns stderr (the API server's answer). */
async function refused(args: string[], as: string, input?: unknown): Promise<string> {
  const r = await c.kubectl(args, { as, allowFailure: true, ...(input !== undefined ? { input: json(input) } : {}) });
  if (r.code === 0) throw new Error(`expected kubectl ${args.join(' ')} as ${as} to be refused, but it succeeded:\n${r.stdout}`);
  return r.stderr.trim();
}
const create = async (obj: unknown, as: string): Promise<any> =>
  JSON.parse((await c.kubectl(['create', '-f', '-', '-o', 'json'], { as, input: json(obj) })).stdout);
const getPod = async (ns: string, name: string): Promise<any> =>
  JSON.parse((await c.kubectl(['get', 'pod', name, '-n', ns, '-o', 'json'])).stdout);
const getReview = async (name: string): Promise<AccessReview> =>
  JSON.parse((await c.kubectl(['get', 'accessreview', name, '-n', NS_AR, '-o', 'json'])).stdout);

/** The chart's webhook configurations (helm template), each service reference turned into a url to this process. */
const scope = (ns: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name: 'crm-agent', namespace: ns },
  spec: {
    subjects: [
      { kind: 'ServiceAccount', name: 'agent-bot' },
      { kind: 'Group', name: 'ml-engineers' },
    ],
    models: ['claude-sonnet-4-5'],
    endpoints: [{ name: 'crm', url: 'http://crm.sk-attack.svc:8080', auth: { serviceAccountToken: { audience: AUDIENCE } } }],
    review: {
      period: '90d',
      reviewers: [
        { kind: 'Group', name: 'security-leads' },
        { kind: 'Group', name: 'ml-engineers' },
      ],
    },
    ...extra,
  },
});

(local ? describe : describe.skip)('issue 15: key theft and self-approval through the admission webhooks', () => {
  beforeAll(async () => {
    await applyCrds();
    for (const ns of [NS, NS_ENF, NS_AR]) await ensureNamespace(ns);
    await c.kubectl(['label', 'namespace', NS_ENF, 'scopekeeper.dev/enforce=true', '--overwrite']);
    const role = (ns: string) => [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'agent-owner', namespace: ns },
        rules: [
          {
            apiGroups: [''],
            resources: ['pods', 'pods/ephemeralcontainers', 'pods/resize'],
            verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
          },
          {
            apiGroups: ['scopekeeper.dev'],
            resources: ['accessreviews', 'modelscopes'],
            verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'agent-owners', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'agent-owner' },
        // RBAC lets both do everything here: what refuses them is the webhook.
        subjects: [FRANK, ERIN].map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'agent-bot', namespace: ns } },
    ];
    await c.kubectl(['apply', '-f', '-'], { input: json({ apiVersion: 'v1', kind: 'List', items: [NS, NS_ENF, NS_AR].flatMap(role) }) });
    // The chart's RBAC, with the sidecar ClusterRole bound to the agent's service account.
    const rbac = await c.helm([
      'template',
      RELEASE,
      join(c.repoRoot, 'charts/scopekeeper'),
      '--namespace',
      'scopekeeper-system',
      '--show-only',
      'templates/rbac.yaml',
      '--set',
      `sidecar.bindings[0].namespace=${NS_AR}`,
      '--set',
      'sidecar.bindings[0].serviceAccount=agent-bot',
    ]);
    await c.kubectl(['apply', '-f', '-'], { input: rbac.stdout.replace(/namespace: scopekeeper-system/g, `namespace: ${NS_AR}`) });
    await c.kubectl(['apply', '-f', '-'], { input: json({ apiVersion: 'v1', kind: 'List', items: [scope(NS), scope(NS_ENF)] }) });

    dir = mkdtempSync(join(tmpdir(), 'sk-attack-'));
    const { certs } = await ensureCerts({ serviceName: 'scopekeeper', namespace: 'scopekeeper-system', dir, ipAddresses: ['127.0.0.1'] });
    server = createWebhookServer({
      port: 0,
      host: '127.0.0.1',
      tls: { cert: certs.serving.certPem, key: certs.serving.keyPem },
      deps: { injection, serverVersion: c.serverVersion, ...apiServerLookups(kc) },
    });
    const url = await server.listen();
    const webhooks = await chartWebhooks(c, { release: RELEASE, namespace: 'scopekeeper-system', baseUrl: url, caBundle: certs.caBundle });
    await c.kubectl(['apply', '-f', '-'], { input: json({ apiVersion: 'v1', kind: 'List', items: webhooks }) });
    await until('the API server to call the webhooks', async () => {
      const r = await c.kubectl(['create', '--dry-run=server', '-f', '-', '-o', 'json'], {
        input: json(podSpec('probe', NS)),
        allowFailure: true,
      });
      return r.code === 0 && JSON.parse(r.stdout).spec.initContainers?.length ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await c.kubectl([
      'delete',
      'mutatingwebhookconfiguration/scopekeeper',
      'validatingwebhookconfiguration/scopekeeper',
      '--ignore-not-found',
    ]);
    for (const ns of [NS, NS_ENF]) await c.kubectl(['delete', 'pods', '--all', '-n', ns, '--wait=false'], { allowFailure: true });
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('key theft from inside the pod', () => {
    const agent = `agent-${RUN}`;

    test("legitimate: frank's annotated pod is injected; the endpoint token is projected into the sidecar alone", async () => {
      const p = await create(podSpec(agent, NS), FRANK);
      const sc = p.spec.initContainers[0];
      expect(sc.name).toBe('scopekeeper-sidecar');
      expect(sc.args.slice(-2)).toEqual(['--endpoint-token', `${AUDIENCE}=/var/run/scopekeeper/endpoint-tokens/token-0`]);
      expect(sc.volumeMounts).toContainEqual({
        name: 'scopekeeper-endpoint-tokens',
        mountPath: '/var/run/scopekeeper/endpoint-tokens',
        readOnly: true,
      });
      const vol = p.spec.volumes.find((v: any) => v.name === 'scopekeeper-endpoint-tokens');
      expect(vol.projected.sources).toEqual([{ serviceAccountToken: { audience: AUDIENCE, expirationSeconds: 600, path: 'token-0' } }]);
      expect(JSON.stringify(p.spec.containers)).not.toContain('scopekeeper-endpoint-tokens');
      expect(JSON.stringify(p.spec.containers)).not.toContain('scopekeeper-upstream-key');
      expect(p.metadata.labels['scopekeeper.dev/injected']).toBe('true');
    });

    test('a copy of the real sidecar plus a readinessProbe and a postStart hook that print the key is replaced by the real one at injection', async () => {
      // The right image, args, env, ports, mounts and security context: only the hooks are the attacker's.
      const reference = (await getPod(NS, agent)).spec.initContainers[0];
      const forged = {
        ...reference,
        readinessProbe: { exec: { command: ['sh', '-c', 'cat /var/run/scopekeeper/upstream/key > /proc/1/fd/1'] } },
        lifecycle: { postStart: { exec: { command: ['sh', '-c', 'cp /var/run/scopekeeper/upstream/key /tmp/'] } } },
      };
      const p = await create(podSpec(`lookalike-${RUN}`, NS, { initContainers: [forged] }), FRANK);
      expect(p.spec.initContainers).toHaveLength(1);
      expect(p.spec.initContainers[0]).toEqual(reference);
      expect(JSON.stringify(p)).not.toContain('cat /var/run/scopekeeper/upstream/key');
    });

    test('the same look-alike, opted out of injection but labelled as injected, is refused at validation', async () => {
      const forged = {
        name: 'scopekeeper-sidecar',
        image: injection.image,
        lifecycle: { postStart: { exec: { command: ['sh', '-c', 'cat /var/run/scopekeeper/upstream/key'] } } },
        volumeMounts: [{ name: 'key', mountPath: '/k' }],
      };
      const msg = await refused(
        ['create', '-f', '-'],
        FRANK,
        podSpec(
          `optout-${RUN}`,
          NS,
          { containers: [{ name: 'app', image: 'agent:1' }, forged], volumes: [{ name: 'key', secret: { secretName: KEY } }] },
          { annotations: { 'scopekeeper.dev/inject': 'false' }, labels: { 'scopekeeper.dev/injected': 'true' } },
        ),
      );
      expect(msg).toContain(
        `admission webhook "pods-injected.scopekeeper.dev" denied the request: pod ${NS}/optout-${RUN} carries a container named scopekeeper-sidecar that is not the sidecar scopekeeper injects (its container scopekeeper-sidecar differs from the injected one in`,
      );
      expect(msg).toContain('lifecycle');
      expect(msg).toContain('Remove that container (and the injected volumes) from the pod spec and let the webhook inject the sidecar.');
    });

    test("an UPDATE that swaps the sidecar's image is refused, in both kinds of namespace", async () => {
      await create(podSpec(agent, NS_ENF), FRANK);
      for (const ns of [NS, NS_ENF]) {
        const msg = await refused(
          [
            'patch',
            'pod',
            agent,
            '-n',
            ns,
            '--type',
            'json',
            '-p',
            json([{ op: 'replace', path: '/spec/initContainers/0/image', value: 'attacker/exfil:1' }]),
          ],
          FRANK,
        );
        expect(msg).toContain(
          `denied the request: pod ${ns}/${agent}: an update may not change the scopekeeper sidecar (it changes image of container scopekeeper-sidecar); it holds the upstream key.`,
        );
      }
      expect((await getPod(NS, agent)).spec.initContainers[0].image).toBe(injection.image);
    });

    test("an UPDATE that removes the injected label (to escape the webhook's objectSelector) is refused; other updates pass", async () => {
      const msg = await refused(['label', 'pod', agent, '-n', NS, 'scopekeeper.dev/injected-'], FRANK);
      expect(msg).toContain(
        `pod ${NS}/${agent}: an update may not change the label scopekeeper.dev/injected or the annotation scopekeeper.dev/status of an injected pod`,
      );
      await c.kubectl(['label', 'pod', agent, '-n', NS, 'team=crm', '--overwrite'], { as: FRANK });
      await c.kubectl(
        [
          'patch',
          'pod',
          agent,
          '-n',
          NS,
          '--type',
          'json',
          '-p',
          json([{ op: 'replace', path: '/spec/containers/0/image', value: 'agent:2' }]),
        ],
        { as: FRANK },
      );
    });

    const debug = (name: string, container: Record<string, unknown>) => [
      'patch',
      'pod',
      agent,
      '-n',
      NS,
      '--subresource=ephemeralcontainers',
      '--type=strategic',
      '-p',
      json({ spec: { ephemeralContainers: [{ name, image: 'busybox:1', ...container }] } }),
    ];
    test.each([
      [
        'targets the sidecar (kubectl debug --target)',
        { targetContainerName: 'scopekeeper-sidecar' },
        'ephemeralContainer "dbg-target" targets the sidecar (targetContainerName: scopekeeper-sidecar), whose processes and files it would share: target the app container instead',
      ],
      [
        "runs as the sidecar's uid",
        { securityContext: { runAsUser: 65532 } },
        'ephemeralContainer "dbg-uid" runs as uid 65532, the sidecar\'s (securityContext.runAsUser): run it as another uid',
      ],
      [
        'mounts the key volume',
        { volumeMounts: [{ name: 'scopekeeper-upstream-key', mountPath: '/k' }] },
        `ephemeralContainer "dbg-key" reads the upstream key Secret "${KEY}" through volumeMount scopekeeper-upstream-key at /k: remove the volumeMount scopekeeper-upstream-key`,
      ],
      [
        'mounts the endpoint tokens',
        { volumeMounts: [{ name: 'scopekeeper-endpoint-tokens', mountPath: '/t' }] },
        'ephemeralContainer "dbg-tok" mounts scopekeeper-endpoint-tokens, the sidecar\'s service tokens: remove the volumeMount scopekeeper-endpoint-tokens',
      ],
    ])('an ephemeral container that %s is refused', async (_what, container, why) => {
      const name = why.split('"')[1]!;
      const msg = await refused(debug(name, container), FRANK);
      expect(msg).toContain(
        `admission webhook "pods-injected.scopekeeper.dev" denied the request: pod ${NS}/${agent}: this ephemeralcontainers update would expose the scopekeeper sidecar's credentials (the pod is injected with the scopekeeper sidecar): ${why}.`,
      );
    });

    test('legitimate: a debug container aimed at the app is admitted', async () => {
      const r = await c.kubectl([...debug('dbg-app', { targetContainerName: 'app' }), '-o', 'json'], { as: FRANK });
      expect(JSON.parse(r.stdout).spec.ephemeralContainers.map((e: any) => e.name)).toEqual(['dbg-app']);
    });

    test.each([
      [
        'shareProcessNamespace',
        { shareProcessNamespace: true },
        "spec.shareProcessNamespace is true, so every container sees the sidecar's processes and its files through /proc/<pid>/root: remove shareProcessNamespace",
      ],
      [
        "a hostPath of the kubelet's pod directories",
        { volumes: [{ name: 'pods', hostPath: { path: '/var/lib/kubelet/pods' } }] },
        'volume "pods" is hostPath /var/lib/kubelet/pods, which reaches /var/lib/kubelet on the node',
      ],
      [
        'a hostPath of /var',
        { volumes: [{ name: 'var', hostPath: { path: '/var' } }] },
        'volume "var" is hostPath /var, which reaches /var/lib/kubelet on the node',
      ],
      [
        "an app running as the sidecar's uid",
        { containers: [{ name: 'app', image: 'agent:1', securityContext: { runAsUser: 65532 } }] },
        'container "app" runs as uid 65532, the sidecar\'s (securityContext.runAsUser): run it as another uid',
      ],
      [
        "an app projecting the endpoint's audience",
        { volumes: [{ name: 'mine', projected: { sources: [{ serviceAccountToken: { audience: AUDIENCE, path: 't' } }] } }] },
        `volume "mine" projects a service-account token for audience "${AUDIENCE}", which endpoints[].auth of a ModelScope reserves for the sidecar`,
      ],
    ])('a pod with %s is refused, in both kinds of namespace', async (what, spec, why) => {
      for (const ns of [NS, NS_ENF]) {
        const name = `x-${what.length}-${ns.length}-${RUN}`;
        const msg = await refused(['create', '-f', '-'], FRANK, podSpec(name, ns, spec));
        const hook = ns === NS ? 'pods-injected' : 'pods-enforced';
        const because =
          ns === NS ? 'the pod is injected with the scopekeeper sidecar' : `namespace ${ns} is labelled scopekeeper.dev/enforce=true`;
        expect(msg).toContain(
          `admission webhook "${hook}.scopekeeper.dev" denied the request: pod ${ns}/${name} would expose the scopekeeper sidecar's credentials (${because}): ${why}`,
        );
        expect(msg).toContain('Only the scopekeeper sidecar may hold the upstream key and its service tokens');
      }
    });
  });

  describe('self-approval', () => {
    const incident = {
      apiVersion: 'scopekeeper.dev/v1alpha1',
      kind: 'ModelScope',
      metadata: { name: 'incident', namespace: NS_AR },
      spec: {
        // frank is a subject through his group, and (by a careless scope author) also a reviewer.
        subjects: [
          { kind: 'ServiceAccount', name: 'agent-bot' },
          { kind: 'Group', name: 'ml-engineers' },
        ],
        models: ['claude-sonnet-4-5'],
        approval: {
          requiredFor: { models: ['claude-opus-*'] },
          approvers: [
            { kind: 'Group', name: 'security-leads' },
            { kind: 'Group', name: 'ml-engineers' },
          ],
          grantDuration: '1h',
        },
        review: {
          period: '30d',
          reviewers: [
            { kind: 'Group', name: 'security-leads' },
            { kind: 'Group', name: 'ml-engineers' },
          ],
        },
      },
    };
    const expiresAt = new Date(Date.now() + 20 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const periodic = (name: string, spec: Record<string, unknown> = {}) => ({
      apiVersion: 'scopekeeper.dev/v1alpha1',
      kind: 'AccessReview',
      metadata: { name, namespace: NS_AR },
      spec: { scopeRef: { name: 'incident' }, type: 'Periodic', decision: 'Pending', ...spec },
    });
    const approve = (name: string) => [
      'patch',
      'accessreview',
      name,
      '-n',
      NS_AR,
      '--type',
      'merge',
      '-p',
      json({ spec: { decision: 'Approved', expiresAt, justification: 'Incident agent; SEC-300' } }),
    ];

    beforeAll(async () => {
      await c.kubectl(['apply', '-f', '-'], { input: json(incident) });
    });

    test('frank creates an Approved review naming erin as the requester: requestedBy is stamped as frank, and the approval is refused as his own', async () => {
      const msg = await refused(
        ['create', '-f', '-'],
        FRANK,
        periodic(`forged-${RUN}`, { decision: 'Approved', expiresAt, justification: 'trust me', requestedBy: ERIN }),
      );
      expect(msg).toContain(
        `admission webhook "accessreviews.scopekeeper.dev" denied the request: User ${FRANK} may not approve AccessReview ${NS_AR}/forged-${RUN}: it is their own request (spec.requestedBy is ${FRANK}).`,
      );
      const bare = await refused(
        ['create', '-f', '-'],
        FRANK,
        periodic(`bare-${RUN}`, { decision: 'Approved', expiresAt, justification: 'trust me' }),
      );
      expect(bare).toContain(`it is their own request (spec.requestedBy is ${FRANK})`);
    });

    test('a Pending review is stamped with its creator whatever it says; requestedBy never changes afterwards', async () => {
      const r = await create(periodic(`asked-${RUN}`, { requestedBy: ERIN }), FRANK);
      expect(r.spec.requestedBy).toBe(FRANK);
      await c.kubectl(
        ['patch', 'accessreview', `asked-${RUN}`, '-n', NS_AR, '--type', 'merge', '-p', json({ spec: { requestedBy: ERIN } })],
        { as: FRANK },
      );
      expect((await getReview(`asked-${RUN}`)).spec.requestedBy).toBe(FRANK);
    });

    test('frank, a reviewer but also a subject (group ml-engineers), may not approve a review erin asked for', async () => {
      await create(periodic(`erins-${RUN}`), ERIN);
      const msg = await refused(approve(`erins-${RUN}`), FRANK);
      expect(msg).toContain(
        `User ${FRANK} may not approve AccessReview ${NS_AR}/erins-${RUN}: they are a subject of ModelScope ${NS_AR}/incident (spec.subjects names Group ml-engineers, and you are in it), so the decision would be about their own access. ` +
          'One of the reviewers (Group security-leads, Group ml-engineers) who is not a subject of the scope must decide it.',
      );
      const own = await refused(approve(`erins-${RUN}`), ERIN);
      expect(own).toContain(
        `User ${ERIN} may not approve AccessReview ${NS_AR}/erins-${RUN}: it is their own request (spec.requestedBy is ${ERIN})`,
      );
    });

    test('legitimate: erin (security-leads, not a subject) approves the review frank asked for', async () => {
      const r = JSON.parse((await c.kubectl([...approve(`asked-${RUN}`), '-o', 'json'], { as: ERIN })).stdout) as AccessReview;
      expect(r.spec).toMatchObject({ decision: 'Approved', reviewer: ERIN, requestedBy: FRANK });
    });

    describe("the agent's service account (held by the sidecar, and by the app beside it)", () => {
      let saToken = '';
      let callerToken = '';
      const jit = (name: string, request: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
        apiVersion: 'scopekeeper.dev/v1alpha1',
        kind: 'AccessReview',
        metadata: { name, namespace: NS_AR },
        spec: { scopeRef: { name: 'incident' }, type: 'JustInTime', decision: 'Pending', request, ...spec },
      });
      const asSa = (args: string[], input?: unknown) =>
        c.kubectl([...args, '--token', saToken], { allowFailure: true, ...(input ? { input: json(input) } : {}) });
      const saRefused = async (input: unknown): Promise<string> => {
        const r = await asSa(['create', '-f', '-'], input);
        if (r.code === 0) throw new Error(`expected the service account's create to be refused:\n${r.stdout}`);
        return r.stderr;
      };
      const SA_NAME = `system:serviceaccount:${NS_AR}:agent-bot`;
      let attempt = 0;
      const tail =
        'A service account (the sidecar holding a request) may only ask, Pending, for its own access to one exact model and exact tools.';

      beforeAll(async () => {
        saToken = (await c.kubectl(['create', 'token', 'agent-bot', '-n', NS_AR, '--duration', '10m'])).stdout.trim();
        callerToken = (
          await c.kubectl(['create', 'token', 'agent-bot', '-n', NS_AR, '--audience', 'scopekeeper', '--duration', '10m'])
        ).stdout.trim();
        expect((await asSa(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).stdout).toBe(SA_NAME);
      });

      test.each([
        [
          'for a person (frank)',
          { subject: { kind: 'User', name: FRANK }, model: 'claude-opus-4-1' },
          {},
          `spec.request.subject must be the service account itself (ServiceAccount ${NS_AR}/agent-bot), not User ${FRANK}`,
        ],
        [
          'with a model pattern',
          { subject: { kind: 'ServiceAccount', name: 'agent-bot' }, model: 'claude-*' },
          {},
          'spec.request.model must be an exact model name, not the pattern "claude-*"',
        ],
        [
          'with tool patterns',
          { subject: { kind: 'ServiceAccount', name: 'agent-bot' }, model: 'claude-opus-4-1', tools: ['mcp__*'] },
          {},
          'spec.request.tools must be exact tool names, not the patterns "mcp__*"',
        ],
        [
          'already Approved',
          { subject: { kind: 'ServiceAccount', name: 'agent-bot' }, model: 'claude-opus-4-1' },
          { decision: 'Approved', expiresAt, justification: 'self', reviewer: 'x', reviewedAt: '2026-01-01T00:00:00Z' },
          'spec.decision must be Pending (got Approved)',
        ],
      ])("the app, with the pod's token, may not create a JustInTime review %s", async (what, request, spec, why) => {
        const name = `sa-${++attempt}-${RUN}`;
        const msg = await saRefused(jit(name, request, spec));
        expect(msg).toContain(
          `admission webhook "accessreviews.scopekeeper.dev" denied the request: ServiceAccount ${NS_AR}/agent-bot may not create JustInTime AccessReview ${NS_AR}/${name}: ${why}. ${tail}`,
        );
      });

      test('legitimate: a held request is recorded by the sidecar under its service account; a subject may not approve it, erin does, and it passes', async () => {
        const stub = await new AnthropicStub({ apiKey: 'sk-ant-attack' }).start();
        const kubeconfig = join(dir, 'sa-kubeconfig');
        writeFileSync(
          kubeconfig,
          json({
            apiVersion: 'v1',
            kind: 'Config',
            clusters: [{ name: 'e2e', cluster: { server: c.server, 'certificate-authority': c.caFile } }],
            users: [{ name: 'agent-bot', user: { token: saToken } }],
            contexts: [{ name: 'agent-bot', context: { cluster: 'e2e', user: 'agent-bot', namespace: NS_AR } }],
            'current-context': 'agent-bot',
          }),
        );
        writeFileSync(join(dir, 'key'), 'sk-ant-attack');
        const before = process.env.KUBECONFIG;
        process.env.KUBECONFIG = kubeconfig;
        let sidecar: Sidecar | undefined;
        try {
          const started = await runSidecar(
            {
              listen: '127.0.0.1:0',
              admin: '127.0.0.1:0',
              upstream: stub.url,
              upstreamKeyFile: join(dir, 'key'),
              policy: 'kubernetes',
              namespace: NS_AR,
              issuer: [c.serviceAccountIssuer ?? c.server],
              issuerCa: c.caFile,
              audience: 'scopekeeper',
              audit: [`file:${join(dir, 'audit.jsonl')}`],
              auditRequired: false,
              maxBodyBytes: 1 << 20,
              upstreamTimeout: 30,
              policyMaxStale: 60,
              groupsClaim: 'groups',
              maxTokenLifetime: 3600,
            },
            silentLogger(),
          );
          sidecar = started.sidecar;
          const opus = () =>
            fetch(`${started.urls.data}/v1/messages`, {
              method: 'POST',
              headers: { authorization: `Bearer ${callerToken}`, 'content-type': 'application/json', 'x-scopekeeper-reason': 'INC-77' },
              body: json({ model: 'claude-opus-4-1', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
            });
          // The scope needs a valid periodic review first (frank asked, erin approved above).
          const held = await until('the sidecar to hold the Opus request', async () => {
            const r = await opus();
            const body = await r.text();
            return r.status === 403 && r.headers.get('x-scopekeeper-decision') === 'approval-required' ? { r, body } : undefined;
          });
          // The hold, checked once finished (its audit record exists): the model API got nothing.
          const nothingForwarded = expectRefusal(join(dir, 'audit.jsonl'), stub);
          const again = await opus();
          expect(again.headers.get('x-scopekeeper-approval')).toBe(held.r.headers.get('x-scopekeeper-approval'));
          await nothingForwarded.refused(again);
          const ref = held.r.headers.get('x-scopekeeper-approval')!;
          const name = ref.split('/')[1]!;
          const review = await getReview(name);
          expect(review.spec).toMatchObject({
            type: 'JustInTime',
            decision: 'Pending',
            requestedBy: SA_NAME,
            request: { subject: { kind: 'ServiceAccount', name: 'agent-bot' }, model: 'claude-opus-4-1' },
          });

          const frank = await refused(
            [
              'patch',
              'accessreview',
              name,
              '-n',
              NS_AR,
              '--type',
              'merge',
              '-p',
              json({ spec: { decision: 'Approved', expiresAt, justification: 'my agent needs it' } }),
            ],
            FRANK,
          );
          expect(frank).toContain(
            `User ${FRANK} may not approve AccessReview ${NS_AR}/${name}: they are a subject of ModelScope ${NS_AR}/incident (spec.subjects names Group ml-engineers, and you are in it)`,
          );
          const widen = await refused(
            ['patch', 'accessreview', name, '-n', NS_AR, '--type', 'merge', '-p', json({ spec: { request: { model: 'claude-*' } } })],
            FRANK,
          );
          expect(widen).toContain(
            `User ${FRANK} may not change spec.request of AccessReview ${NS_AR}/${name}: what a review is about and who asked for it are fixed when it is created.`,
          );

          await c.kubectl(
            [
              'patch',
              'accessreview',
              name,
              '-n',
              NS_AR,
              '--type',
              'merge',
              '-p',
              json({ spec: { decision: 'Approved', expiresAt, justification: 'INC-77, approved' } }),
            ],
            { as: ERIN },
          );
          expect((await getReview(name)).spec).toMatchObject({ decision: 'Approved', reviewer: ERIN, requestedBy: SA_NAME });
          const passed = await until('the approved request to pass', async () => {
            const r = await opus();
            await r.arrayBuffer();
            return r.status === 200 ? r : undefined;
          });
          expect(passed.headers.get('x-scopekeeper-decision')).toBe('allow');
        } finally {
          await sidecar?.stop();
          await stub.close();
          if (before === undefined) delete process.env.KUBECONFIG;
          else process.env.KUBECONFIG = before;
        }
      }, 60_000);
    });
  });
});
