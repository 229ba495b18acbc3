// The human loop on a real control plane (issue "Approvals, recurring reviews and evidence"):
// a held Opus request becomes a Pending JustInTime review; the requester and an outsider are
// refused by the API server's admission webhook; an allowed reviewer approves through
// `scopekeeper reviews approve`; the request passes until the grant runs out, then is held again;
// `scopekeeper reviews export` lists each step with the right people and times. Two people sign
// in through OIDC (erin approves, frank asks); the operator notifies a webhook receiver.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { createWebhookServer, ensureCerts, type WebhookServer } from '../packages/operator/src/webhook/index.ts';
import { Operator, WebhookNotifier, type Notification } from '../packages/operator/src/index.ts';
import { AnthropicStub, runSidecar, silentLogger, type Sidecar } from '../packages/sidecar/src/index.ts';
import { MAX_PENDING_PER_CALLER } from '../packages/sidecar/src/policy/held.ts';
import { applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';
import { until } from '@scopekeeper/kube/testing/until';
import { expectRefusal } from '../packages/sidecar/test/refusal.ts';

const c = cluster();
const local = c.mode === 'local' && c.oidc !== undefined;
const NS = 'sk-approvals';
const GRANT_S = 6;
const FRANK = 'frank@example.com';
const ERIN = 'erin@example.com';
const run = promisify(execFile);

let sidecar: Sidecar;
let sidecarUrl = '';
let stub: AnthropicStub;
let operator: Operator;
let webhooks: WebhookServer;
let receiver: Server;
const notifications: Notification[] = [];
let dir = '';
const steps: { step: string; at: string }[] = [];

async function chartWebhooks(baseUrl: string): Promise<unknown[]> {
  const r = await c.helm([
    'template',
    'scopekeeper',
    join(c.repoRoot, 'charts/scopekeeper'),
    '--namespace',
    'scopekeeper-system',
    '--show-only',
    'templates/webhooks.yaml',
  ]);
  const objs = parseAllDocuments(r.stdout)
    .map((d) => d.toJS())
    .filter(Boolean);
  for (const o of objs) for (const w of o.webhooks) w.clientConfig = { url: `${baseUrl}${w.clientConfig.service.path}` };
  return objs;
}

async function cli(args: string[], context: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(
      join(c.repoRoot, 'node_modules/.bin/node'),
      [join(c.repoRoot, 'bin/scopekeeper.js'), ...args, '--context', context],
      { env: { ...process.env, KUBECONFIG: c.kubeconfigPath } },
    );
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

const opus = (reason?: string) =>
  fetch(`${sidecarUrl}/v1/messages`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${c.tokens[FRANK]}`,
      'content-type': 'application/json',
      ...(reason ? { 'x-scopekeeper-reason': reason } : {}),
    },
    body: JSON.stringify({
      model: 'claude-opus-4-1',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Find the root cause of INC-2231.' }],
    }),
  });

const review = async (name: string) => JSON.parse((await c.kubectl(['get', 'accessreview', name, '-n', NS, '-o', 'json'])).stdout);

/** The sidecar: policy from the cluster, frank's OIDC token verified against the IdP the API server trusts. */
async function startSidecar(keyFile: string): Promise<void> {
  const started = await runSidecar(
    {
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      upstream: stub.url,
      upstreamKeyFile: keyFile,
      policy: 'kubernetes',
      namespace: NS,
      issuer: [c.oidc!.issuer],
      issuerCa: c.oidc!.caFile,
      audience: 'scopekeeper',
      audit: [`file:${join(dir, 'audit.jsonl')}`],
      auditRequired: true,
      maxBodyBytes: 1 << 20,
      upstreamTimeout: 30,
      policyMaxStale: 60,
      groupsClaim: 'groups',
      maxTokenLifetime: 3600,
    },
    silentLogger(),
  );
  sidecar = started.sidecar;
  sidecarUrl = started.urls.data;
}

(local ? describe : describe.skip)('approvals, held requests and evidence', () => {
  beforeAll(async () => {
    await applyCrds();
    await ensureNamespace(NS);
    dir = mkdtempSync(join(tmpdir(), 'sk-approvals-'));
    // People act on reviews through RBAC first; what they may decide is the webhook's call.
    await c.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'Role',
            metadata: { name: 'review-editor', namespace: NS },
            rules: [
              {
                apiGroups: ['scopekeeper.dev'],
                resources: ['accessreviews', 'modelscopes'],
                verbs: ['get', 'list', 'watch', 'patch', 'update'],
              },
            ],
          },
          {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: 'review-editors', namespace: NS },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'review-editor' },
            subjects: [ERIN, FRANK, 'mallory@example.com'].map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
          },
          {
            apiVersion: 'scopekeeper.dev/v1alpha1',
            kind: 'ModelScope',
            metadata: { name: 'incident', namespace: NS },
            spec: {
              subjects: [{ kind: 'User', name: FRANK }],
              models: ['claude-sonnet-4-*'],
              approval: {
                requiredFor: { models: ['claude-opus-*'] },
                approvers: [
                  { kind: 'Group', name: 'security-leads' },
                  { kind: 'Group', name: 'ml-engineers' },
                ],
                grantDuration: `${GRANT_S}s`,
              },
              review: { period: '30d', reviewers: [{ kind: 'Group', name: 'security-leads' }] },
            },
          },
          {
            apiVersion: 'scopekeeper.dev/v1alpha1',
            kind: 'AccessReview',
            metadata: { name: 'incident-periodic', namespace: NS },
            spec: { scopeRef: { name: 'incident' }, type: 'Periodic', decision: 'Pending', requestedBy: FRANK },
          },
        ],
      }),
    });
    // The admission webhooks (stamping and checking decisions) in this process, as the operator runs them.
    const { certs } = await ensureCerts({ serviceName: 'scopekeeper', namespace: 'scopekeeper-system', dir, ipAddresses: ['127.0.0.1'] });
    const kc = new KubeConfig();
    kc.loadFromFile(c.kubeconfigPath);
    kc.setCurrentContext(c.adminContext);
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        notifications.push(JSON.parse(body) as Notification);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const notifier = new WebhookNotifier({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, log: silentLogger() });
    operator = new Operator({
      kubeConfig: kc,
      namespace: NS,
      admin: { host: '127.0.0.1', port: 0 },
      leaderElection: false,
      notifier,
      defaultMetrics: false,
    });
    await operator.start();
    await operator.synced();
    webhooks = createWebhookServer({
      port: 0,
      host: '127.0.0.1',
      tls: { cert: certs.serving.certPem, key: certs.serving.keyPem },
      deps: {
        injection: { image: 'scopekeeper:e2e', issuers: [c.server], upstreamKeySecret: 'anthropic-api-key' },
        serverVersion: c.serverVersion,
        getScope: (ns, name) => operator.getScope(ns, name),
        getNamespace: async (name) => ({ metadata: { name, labels: {} } }),
      },
    });
    const url = await webhooks.listen();
    const configs = (await chartWebhooks(url)) as { webhooks: { clientConfig: { caBundle?: string } }[] }[];
    for (const cfg of configs) for (const w of cfg.webhooks) w.clientConfig.caBundle = Buffer.from(certs.caBundle).toString('base64');
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: configs }) });
    // The model API stand-in, then the sidecar.
    stub = await new AnthropicStub({ apiKey: 'sk-ant-e2e' }).start();
    const keyFile = join(dir, 'key');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(keyFile, 'sk-ant-e2e');
    process.env.KUBECONFIG = c.kubeconfigPath;
    await startSidecar(keyFile);
    // The periodic review, approved by a reviewer through the CLI: the scope is usable.
    const approved = await cli(
      [
        'reviews',
        'approve',
        'incident-periodic',
        '-n',
        NS,
        '--for',
        '30d',
        '--justification',
        'On-call incident agent; SEC-200',
        '--evidence',
        'https://tickets.example.com/SEC-200',
      ],
      ERIN,
    );
    expect(approved).toMatchObject({ code: 0 });
  }, 120_000);

  afterAll(async () => {
    await c.kubectl([
      'delete',
      'mutatingwebhookconfiguration/scopekeeper',
      'validatingwebhookconfiguration/scopekeeper',
      '--ignore-not-found',
    ]);
    await sidecar?.stop();
    await stub?.close();
    await webhooks?.close();
    await operator?.stop();
    receiver?.close();
    delete process.env.KUBECONFIG;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('held → refused for the requester and an outsider → approved → passes → expires → held again → exported', async () => {
    // 1. A held Opus request: 403 naming the Pending JustInTime review; repeated, the same one.
    // Every refusal is checked once finished (its audit record exists): the model API got nothing.
    const refusal = () => expectRefusal(join(dir, 'audit.jsonl'), stub);
    let nothingForwarded = refusal();
    const held = await opus('INC-2231 needs the larger model');
    expect(held.status).toBe(403);
    await nothingForwarded.refused(held);
    const ref = held.headers.get('x-scopekeeper-approval')!;
    expect(ref).toMatch(new RegExp(`^${NS}/incident-jit-[0-9a-f]{16}$`));
    expect(((await held.json()) as { error: { message: string } }).error.message).toContain(ref);
    steps.push({ step: 'held', at: new Date().toISOString() });
    nothingForwarded = refusal();
    const again = await opus();
    expect(again.headers.get('x-scopekeeper-approval')).toBe(ref);
    await nothingForwarded.refused(again);
    const name = ref.split('/')[1]!;
    const pending = await review(name);
    // requestedBy is who created the review as Kubernetes authenticated it: the sidecar's identity
    // (admin here; its service account in a pod). The person held is request.subject.
    expect(pending.spec).toMatchObject({
      type: 'JustInTime',
      decision: 'Pending',
      requestedBy: 'admin',
      request: { subject: { kind: 'User', name: FRANK }, model: 'claude-opus-4-1', reason: 'INC-2231 needs the larger model' },
    });
    const jitCount = JSON.parse((await c.kubectl(['get', 'ar', '-n', NS, '-o', 'json'])).stdout).items.filter(
      (r: { spec: { type: string } }) => r.spec.type === 'JustInTime',
    );
    expect(jitCount).toHaveLength(1);

    // 2. The operator told the approvers.
    await until('the approval-requested notification', async () =>
      notifications.find((n) => n.type === 'approval-requested' && n.review === name),
    );
    expect(notifications.find((n) => n.review === name)).toMatchObject({
      namespace: NS,
      scope: 'incident',
      reviewers: ['Group:security-leads', 'Group:ml-engineers'],
      request: { subject: `User/${FRANK}`, model: 'claude-opus-4-1' },
    });

    // 3. The requester (an approver by group) and an outsider are refused by the API server.
    const self = await cli(['reviews', 'approve', name, '-n', NS, '--justification', 'I need it'], FRANK);
    expect(self.code).toBe(1);
    expect(self.out).toContain(`User ${FRANK} may not approve AccessReview ${NS}/${name}: it is their own request`);
    const outsider = await cli(['reviews', 'approve', name, '-n', NS, '--justification', 'sure'], 'mallory@example.com');
    expect(outsider.code).toBe(1);
    expect(outsider.out).toContain(
      `User mallory@example.com may not approve AccessReview ${NS}/${name}: only the approvers of ModelScope ${NS}/incident may`,
    );
    expect((await review(name)).spec.decision).toBe('Pending');

    // 4. An allowed reviewer approves, as herself: spec.reviewer is who the API server authenticated.
    const ok = await cli(
      [
        'reviews',
        'approve',
        name,
        '-n',
        NS,
        '--justification',
        'Approved for INC-2231',
        '--evidence',
        'https://tickets.example.com/INC-2231',
      ],
      ERIN,
    );
    expect(ok.code).toBe(0);
    steps.push({ step: 'approved', at: new Date().toISOString() });
    const approved = await review(name);
    expect(approved.spec).toMatchObject({ decision: 'Approved', reviewer: ERIN, justification: 'Approved for INC-2231' });
    // The webhook stamps reviewedAt with the server's clock, the CLI wrote expiresAt with its own: the grant
    // ends at the earlier of expiresAt and reviewedAt + grantDuration (the two may be a second apart).
    const grantEnds = Math.min(Date.parse(approved.spec.expiresAt), Date.parse(approved.spec.reviewedAt) + GRANT_S * 1000);

    // 5. The same request now passes (the sidecar sees the approval through its watch).
    const passed = await until('the approved request to pass', async () => {
      const r = await opus();
      await r.arrayBuffer();
      return r.status === 200 ? r : undefined;
    });
    expect(passed.headers.get('x-scopekeeper-decision')).toBe('allow');
    steps.push({ step: 'allowed', at: new Date().toISOString() });

    // 6. When the grant runs out the same request is held again, under a new Pending review.
    await new Promise((r) => setTimeout(r, Math.max(0, grantEnds - Date.now() + 50)));
    nothingForwarded = refusal();
    const late = await opus();
    expect(late.status).toBe(403);
    await nothingForwarded.refused(late);
    expect(late.headers.get('x-scopekeeper-decision')).toBe('approval-required');
    expect(late.headers.get('x-scopekeeper-approval')).toBe(`${NS}/${name}-2`);
    await until('Valid=False, Expired on the approved review', async () => {
      const cond = (await review(name)).status?.conditions?.find((x: { type: string }) => x.type === 'Valid');
      return cond?.status === 'False' && cond.reason === 'Expired' ? cond : undefined;
    });

    // 7. The export lists each step with the people and times, and the access used.
    await sidecar.stop();
    const exported = await cli(['reviews', 'export', '-n', NS, '--format', 'json', '--audit', join(dir, 'audit.jsonl')], 'admin');
    expect(exported.code).toBe(0);
    const rows = JSON.parse(exported.out) as Record<string, unknown>[];
    const periodic = rows.find((r) => r.review === 'incident-periodic')!;
    expect(periodic).toMatchObject({
      type: 'Periodic',
      decision: 'Approved',
      reviewer: ERIN,
      requestedBy: FRANK,
      justification: 'On-call incident agent; SEC-200',
      evidence: 'https://tickets.example.com/SEC-200',
      valid: true,
    });
    const jit = rows.find((r) => r.review === name)!;
    expect(jit).toMatchObject({
      type: 'JustInTime',
      decision: 'Approved',
      state: 'Expired',
      reviewer: ERIN,
      requestedBy: 'admin',
      requestSubject: `User/${FRANK}`,
      requestModel: 'claude-opus-4-1',
      requestReason: 'INC-2231 needs the larger model',
      justification: 'Approved for INC-2231',
      evidence: 'https://tickets.example.com/INC-2231',
      models: 'claude-opus-4-1',
    });
    expect(jit.allowed).toBeGreaterThanOrEqual(1);
    expect(Date.parse(String(jit.reviewedAt))).toBeGreaterThanOrEqual(Date.parse(steps[0]!.at) - 1000);
    expect(Date.parse(String(jit.expiresAt))).toBe(grantEnds);
    expect(rows.find((r) => r.review === `${name}-2`)).toMatchObject({ decision: 'Pending', requestSubject: `User/${FRANK}` });
    // Used against granted while the periodic review was in force: only the held-then-approved Opus ran.
    expect(periodic).toMatchObject({ grantsUsed: 'model:claude-opus-4-1', grantsUnused: 'spec.models=claude-sonnet-4-*' });

    // 8. The next periodic approval shows the reviewer the ending period's usage and the narrower scope first.
    await c.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'scopekeeper.dev/v1alpha1',
        kind: 'AccessReview',
        metadata: { name: 'incident-periodic-next', namespace: NS },
        spec: { scopeRef: { name: 'incident' }, type: 'Periodic', decision: 'Pending' },
      }),
    });
    const next = await cli(
      [
        'reviews',
        'approve',
        'incident-periodic-next',
        '-n',
        NS,
        '--for',
        '30d',
        '--justification',
        'Still on call; SEC-201',
        '--audit',
        join(dir, 'audit.jsonl'),
      ],
      ERIN,
    );
    expect(next.code).toBe(0);
    expect(next.out).toContain(`Usage of the period that is ending:\nModelScope ${NS}/incident, `);
    expect(next.out).toMatch(/^models +claude-opus-4-1 \(\d+, last /m);
    expect(next.out).toMatch(/^# note: every model used came through approvals \(spec\.approval\)/m);
    expect(next.out).toContain(`${NS}/incident-periodic-next: Approved by ${ERIN}`);
    const csv = await cli(['reviews', 'export', '-n', NS, '--format', 'csv'], 'admin');
    expect(csv.out.split('\r\n')[0]).toMatch(/^namespace,review,scope,type,decision,valid,state,/);
    expect(csv.out).toContain(`${NS},${name},incident,JustInTime,Approved,false,Expired`);
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    expect(audit).not.toContain(c.tokens[FRANK]!.split('.')[2]!);
  }, 90_000);

  test(`a flood of held requests for made-up models leaves frank at most ${MAX_PENDING_PER_CALLER} Pending AccessReviews`, async () => {
    const pendingOfFrank = async () =>
      JSON.parse((await c.kubectl(['get', 'ar', '-n', NS, '-o', 'json'])).stdout).items.filter(
        (r: { spec: { type: string; decision: string; request?: { subject: { name: string } } } }) =>
          r.spec.type === 'JustInTime' && r.spec.decision === 'Pending' && r.spec.request?.subject.name === FRANK,
      ).length as number;
    // The export above stopped the sidecar (its audit file complete): the same sidecar again.
    await startSidecar(join(dir, 'key'));
    const before = await pendingOfFrank();
    expect(before).toBeLessThan(MAX_PENDING_PER_CALLER);
    const statuses = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const r = await fetch(`${sidecarUrl}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${c.tokens[FRANK]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: `claude-opus-4-1-x${i}`, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
        });
        await r.arrayBuffer();
        return r.status;
      }),
    );
    expect(new Set(statuses)).toEqual(new Set([403]));
    // What the sidecar wrote is on the API server; nothing more arrives later.
    await until('the written reviews', async () => (await pendingOfFrank()) === MAX_PENDING_PER_CALLER);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await pendingOfFrank()).toBe(MAX_PENDING_PER_CALLER);
  }, 60_000);
});
