// The Helm chart (charts/scopekeeper) against a real kube-apiserver: lint, the schema, a server
// dry-run of every rendered object, an install (no kubelet here, so the operator's pods never run:
// the objects and their RBAC are what is checked), the CRDs kept on uninstall, and the alert rules
// under promtool.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseInjectionConfig } from '../packages/operator/src/webhook/index.ts';
import { CRDS, applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';

const c = cluster();
const CHART = join(c.repoRoot, 'charts/scopekeeper');
const NS = 'scopekeeper-system';
const RELEASE = 'scopekeeper';
const SA = `system:serviceaccount:${NS}:${RELEASE}`;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: any;
}

const docs = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);

async function template(...set: string[]): Promise<K8sObject[]> {
  const r = await c.helm(['template', RELEASE, CHART, '--namespace', NS, ...set.flatMap((s) => ['--set', s])]);
  return docs(r.stdout);
}

const find = (objs: K8sObject[], kind: string, name?: string): K8sObject => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o)
    throw new Error(`no ${kind} ${name ?? ''} in the rendered chart (have: ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return o;
};

/** Runs a local command (promtool); rejects with its output on failure, ENOENT when absent. */
function local(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

async function cleanup(): Promise<void> {
  await c.helm(['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '60s'], { allowFailure: true });
}

beforeAll(async () => {
  await ensureNamespace(NS);
  await cleanup();
});
afterAll(cleanup);

describe('chart sources', () => {
  test("the chart's crds/ are byte-for-byte the repository's crds/ (copy them over when this fails)", () => {
    const repo = readdirSync(join(c.repoRoot, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    const chart = readdirSync(join(CHART, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(chart).toEqual(repo);
    for (const f of repo) {
      const want = readFileSync(join(c.repoRoot, 'crds', f), 'utf8');
      const have = readFileSync(join(CHART, 'crds', f), 'utf8');
      if (have !== want)
        throw new Error(`charts/scopekeeper/crds/${f} differs from crds/${f}: run  cp crds/*.yaml charts/scopekeeper/crds/`);
    }
  });

  test('helm lint passes, with the defaults and with every optional part on', async () => {
    const plain = await c.helm(['lint', CHART]);
    expect(plain.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    const all = await c.helm([
      'lint',
      CHART,
      '--strict',
      '--set',
      'webhook.certManager.enabled=true',
      '--set',
      'monitoring.serviceMonitor.enabled=true,monitoring.podMonitor.enabled=true,monitoring.prometheusRule.enabled=true',
      '--set',
      'webhook.injection.selector=label',
      '--set',
      'sidecar.bindings[0].namespace=team-a,sidecar.bindings[0].serviceAccount=support-bot',
      '--set',
      'reviewers.subjects[0].kind=Group,reviewers.subjects[0].name=security-leads',
    ]);
    expect(all.stdout).toContain('0 chart(s) failed');
  });

  test('values.schema.json refuses a mistyped or unknown value', async () => {
    const bad = await c.helm(['lint', CHART, '--set', 'webhook.injection.selector=always', '--set', 'operator.replica=3'], {
      allowFailure: true,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain("at '/webhook/injection/selector': value must be one of 'annotation', 'label'");
    expect(bad.stdout + bad.stderr).toContain("additional properties 'replica' not allowed");
    const solo = await c.helm(['template', RELEASE, CHART, '--set', 'operator.leaderElection.enabled=false'], { allowFailure: true });
    expect(solo.stderr).toContain('operator.replicas > 1 needs operator.leaderElection.enabled');
  });
});

describe('rendered objects', () => {
  let objs: K8sObject[];
  beforeAll(async () => {
    objs = await template();
  });

  test('the operator Deployment: 2 replicas, leader election, the contract args, probes, locked-down security', () => {
    const d = find(objs, 'Deployment', RELEASE);
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template.spec;
    const ctr = pod.containers[0];
    expect(ctr.args.slice(0, 5)).toEqual(['operator', '--admin', '0.0.0.0:15182', '--webhook-port', '9443']);
    expect(ctr.args).toContain('--leader-elect=true');
    expect(ctr.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(ctr.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(ctr.resources.requests).toBeDefined();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(ctr.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(ctr.ports).toEqual([
      { name: 'webhook', containerPort: 9443, protocol: 'TCP' },
      { name: 'metrics', containerPort: 15182, protocol: 'TCP' },
    ]);
    const certVolume = pod.volumes.find((v: any) => v.name === 'webhook-cert');
    expect(certVolume.secret).toMatchObject({ secretName: `${RELEASE}-webhook-cert`, optional: true });
    expect(ctr.env).toEqual(expect.arrayContaining([{ name: 'SCOPEKEEPER_WEBHOOK_CERT_SECRET', value: `${RELEASE}-webhook-cert` }]));
  });

  test('the injection settings the operator reads are a valid InjectionConfig', () => {
    const cm = find(objs, 'ConfigMap', `${RELEASE}-injection`);
    const cfg = parseInjectionConfig(JSON.parse(cm.data['injection.json']), 'injection.json');
    expect(cfg).toMatchObject({
      image: 'ghcr.io/scopekeeper/scopekeeper:0.1.0',
      issuers: ['https://kubernetes.default.svc.cluster.local'],
      upstreamKeySecret: 'anthropic-api-key',
      nativeSidecar: 'auto',
    });
  });

  test('SAML IdPs, the service-account issuer and the groups claim reach the injection settings', async () => {
    const rendered = await template(
      'sidecar.issuers={https://login.example.com,https://kubernetes.default.svc.cluster.local}',
      'sidecar.serviceAccountIssuer=https://kubernetes.default.svc.cluster.local',
      'sidecar.groupsClaim=roles',
      'sidecar.saml.idpMetadata={https://idp.example.com/metadata}',
      'sidecar.saml.groupsAttribute=memberOf',
    );
    const cm = find(rendered, 'ConfigMap', `${RELEASE}-injection`);
    const cfg = parseInjectionConfig(JSON.parse(cm.data['injection.json']), 'injection.json');
    expect(cfg).toMatchObject({
      issuers: ['https://login.example.com', 'https://kubernetes.default.svc.cluster.local'],
      serviceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
      groupsClaim: 'roles',
      saml: { idpMetadata: ['https://idp.example.com/metadata'], groupsAttribute: 'memberOf' },
    });
    expect(cfg.saml).not.toHaveProperty('audience'); // empty values are left to the sidecar's defaults
    // The defaults render none of them.
    const plain = parseInjectionConfig(
      JSON.parse(find(objs, 'ConfigMap', `${RELEASE}-injection`).data['injection.json']),
      'injection.json',
    );
    for (const k of ['serviceAccountIssuer', 'groupsClaim', 'saml']) expect(plain).not.toHaveProperty(k);
  });

  test('Service: 443 → webhook (9443), 15182 metrics', () => {
    const svc = find(objs, 'Service', RELEASE);
    expect(svc.spec.ports).toEqual([
      { name: 'https-webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' },
      { name: 'http-metrics', port: 15182, targetPort: 'metrics', protocol: 'TCP' },
    ]);
  });

  test('webhooks: injection Ignore / Fail by the enforce label, kube-system and the release namespace excluded; reviews and pod checks Fail', () => {
    const m = find(objs, 'MutatingWebhookConfiguration', 'scopekeeper');
    const v = find(objs, 'ValidatingWebhookConfiguration', 'scopekeeper');
    const byName = (cfg: K8sObject) => Object.fromEntries(cfg.webhooks.map((w: any) => [w.name, w]));
    const mw = byName(m);
    const vw = byName(v);
    expect(Object.keys(mw)).toEqual(['inject.scopekeeper.dev', 'inject-enforced.scopekeeper.dev', 'accessreviews.scopekeeper.dev']);
    expect(Object.keys(vw)).toEqual(['accessreviews.scopekeeper.dev', 'pods-enforced.scopekeeper.dev', 'pods-injected.scopekeeper.dev']);
    expect(mw['inject.scopekeeper.dev'].failurePolicy).toBe('Ignore');
    expect(mw['inject-enforced.scopekeeper.dev'].failurePolicy).toBe('Fail');
    for (const w of [
      mw['inject.scopekeeper.dev'],
      mw['inject-enforced.scopekeeper.dev'],
      vw['pods-enforced.scopekeeper.dev'],
      vw['pods-injected.scopekeeper.dev'],
    ]) {
      expect(w.namespaceSelector.matchExpressions[0]).toEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', NS],
      });
    }
    expect(mw['inject.scopekeeper.dev'].namespaceSelector.matchExpressions[1]).toEqual({
      key: 'scopekeeper.dev/enforce',
      operator: 'NotIn',
      values: ['true'],
    });
    expect(mw['inject-enforced.scopekeeper.dev'].namespaceSelector.matchExpressions[1]).toEqual({
      key: 'scopekeeper.dev/enforce',
      operator: 'In',
      values: ['true'],
    });
    expect(mw['inject.scopekeeper.dev'].objectSelector).toEqual({
      matchExpressions: [{ key: 'scopekeeper.dev/inject', operator: 'NotIn', values: ['false'] }],
    });
    for (const w of [mw['accessreviews.scopekeeper.dev'], vw['accessreviews.scopekeeper.dev']]) {
      expect(w.failurePolicy).toBe('Fail');
      expect(w.rules).toEqual([
        {
          apiGroups: ['scopekeeper.dev'],
          apiVersions: ['v1alpha1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['accessreviews'],
          scope: 'Namespaced',
        },
      ]);
    }
    expect(mw['inject.scopekeeper.dev'].clientConfig.service).toEqual({ name: RELEASE, namespace: NS, path: '/mutate-pod', port: 443 });
    expect(mw['accessreviews.scopekeeper.dev'].clientConfig.service.path).toBe('/mutate-accessreview');
    expect(vw['accessreviews.scopekeeper.dev'].clientConfig.service.path).toBe('/validate-accessreview');
    // Pods are checked at creation, on every update (an image swap of the sidecar, a resize) and when
    // an ephemeral container is added: in enforced namespaces all pods, elsewhere the injected ones
    // (an objectSelector matches the old or the new object, so dropping the label is still seen).
    for (const name of ['pods-enforced.scopekeeper.dev', 'pods-injected.scopekeeper.dev']) {
      expect(vw[name].clientConfig.service.path).toBe('/validate-pod');
      expect(vw[name].failurePolicy).toBe('Fail');
      expect(vw[name].rules).toEqual([
        { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'], scope: 'Namespaced' },
        {
          apiGroups: [''],
          apiVersions: ['v1'],
          operations: ['UPDATE'],
          resources: ['pods/ephemeralcontainers', 'pods/resize'],
          scope: 'Namespaced',
        },
      ]);
    }
    expect(vw['pods-enforced.scopekeeper.dev'].namespaceSelector.matchExpressions[1]).toEqual({
      key: 'scopekeeper.dev/enforce',
      operator: 'In',
      values: ['true'],
    });
    expect(vw['pods-enforced.scopekeeper.dev'].objectSelector).toBeUndefined();
    expect(vw['pods-injected.scopekeeper.dev'].namespaceSelector.matchExpressions[1]).toEqual({
      key: 'scopekeeper.dev/enforce',
      operator: 'NotIn',
      values: ['true'],
    });
    expect(vw['pods-injected.scopekeeper.dev'].objectSelector).toEqual({ matchLabels: { 'scopekeeper.dev/injected': 'true' } });
    // Injection happens at creation only; what an update may do is the validating webhook's call.
    expect(mw['inject.scopekeeper.dev'].rules[0].operations).toEqual(['CREATE']);
    expect(m.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBeUndefined();
  });

  test('RBAC for people and sidecars: the sidecar and requesters may only create reviews, reviewers decide; the webhook narrows both', () => {
    const rules = (name: string) => find(objs, 'ClusterRole', name).rules;
    expect(rules(`${RELEASE}-sidecar`)).toEqual([
      { apiGroups: ['scopekeeper.dev'], resources: ['modelscopes', 'accessreviews'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['scopekeeper.dev'], resources: ['accessreviews'], verbs: ['create'] },
    ]);
    expect(rules(`${RELEASE}-reviewer`)).toEqual([
      { apiGroups: ['scopekeeper.dev'], resources: ['modelscopes', 'accessreviews'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['scopekeeper.dev'], resources: ['accessreviews'], verbs: ['update', 'patch'] },
    ]);
    const requester = find(objs, 'ClusterRole', `${RELEASE}-requester`);
    expect(requester.rules).toEqual([{ apiGroups: ['scopekeeper.dev'], resources: ['accessreviews'], verbs: ['create'] }]);
    expect(requester.metadata.labels).toMatchObject({
      'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
      'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
    });
    expect(requester.metadata.labels!['rbac.authorization.k8s.io/aggregate-to-view']).toBeUndefined();
    // Nothing the chart grants reaches pods, their ephemeral containers or Secrets of app namespaces.
    for (const o of objs.filter((x) => x.kind === 'ClusterRole')) expect(JSON.stringify(o.rules)).not.toMatch(/"pods|"secrets/);
  });

  test('selector=label sends only labelled pods', async () => {
    const m = find(await template('webhook.injection.selector=label'), 'MutatingWebhookConfiguration');
    expect(m.webhooks[0].objectSelector).toEqual({ matchLabels: { 'scopekeeper.dev/inject': 'true' } });
  });

  test('cert-manager: Issuer + Certificate for the Service names, the cainjector annotation, no operator Secret access', async () => {
    const cm = await template('webhook.certManager.enabled=true');
    const cert = find(cm, 'Certificate');
    expect(cert.spec.secretName).toBe(`${RELEASE}-webhook-cert`);
    expect(cert.spec.dnsNames).toEqual([RELEASE, `${RELEASE}.${NS}`, `${RELEASE}.${NS}.svc`, `${RELEASE}.${NS}.svc.cluster.local`]);
    expect(cert.spec.issuerRef).toEqual({ name: `${RELEASE}-selfsigned`, kind: 'Issuer', group: 'cert-manager.io' });
    expect(find(cm, 'Issuer').spec).toEqual({ selfSigned: {} });
    for (const k of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(find(cm, k).metadata.annotations!['cert-manager.io/inject-ca-from']).toBe(`${NS}/${RELEASE}-webhook`);
    }
    expect(cm.some((o) => o.kind === 'Secret')).toBe(false);
    const role = find(cm, 'Role');
    expect(JSON.stringify(role.rules)).not.toContain('secrets');
    expect(JSON.stringify(find(cm, 'ClusterRole', `${RELEASE}-operator`).rules)).not.toContain('webhookconfigurations');
    const withIssuer = await template(
      'webhook.certManager.enabled=true',
      'webhook.certManager.issuerRef.name=corp-ca',
      'webhook.certManager.issuerRef.kind=ClusterIssuer',
    );
    expect(find(withIssuer, 'Certificate').spec.issuerRef).toEqual({ name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    expect(withIssuer.some((o) => o.kind === 'Issuer')).toBe(false);
  });

  test('monitoring: off by default; the PrometheusRule carries exactly files/alerts.yaml; the dashboard is valid JSON on the contract metrics', async () => {
    expect(objs.some((o) => ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].includes(o.kind))).toBe(false);
    const on = await template(
      'monitoring.serviceMonitor.enabled=true',
      'monitoring.podMonitor.enabled=true',
      'monitoring.prometheusRule.enabled=true',
    );
    const rule = find(on, 'PrometheusRule');
    const shipped = parseYaml(readFileSync(join(CHART, 'files/alerts.yaml'), 'utf8'));
    expect(rule.spec).toEqual({ groups: shipped.groups });
    expect(shipped.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert)).sort()).toEqual([
      'AuditFailures',
      'DenialsSpike',
      'ReviewExpired',
      'ReviewExpiringSoon',
    ]);
    expect(find(on, 'ServiceMonitor').spec.endpoints[0]).toMatchObject({ port: 'http-metrics', honorLabels: true });
    expect(find(on, 'PodMonitor').spec).toMatchObject({
      selector: { matchLabels: { 'scopekeeper.dev/injected': 'true' } },
      podMetricsEndpoints: [{ port: 'sk-admin', path: '/metrics' }],
    });

    const cm = find(objs, 'ConfigMap', `${RELEASE}-dashboard`);
    expect(cm.metadata.labels!.grafana_dashboard).toBe('1');
    const dash = JSON.parse(cm.data['scopekeeper.json']);
    const exprs = dash.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)).join('\n');
    for (const metric of [
      'scopekeeper_requests_total',
      'scopekeeper_overhead_seconds_bucket',
      'scopekeeper_masked_total',
      'scopekeeper_access_review_valid',
      'scopekeeper_access_review_expiry_timestamp_seconds',
    ]) {
      expect(exprs).toContain(metric);
    }
    expect(dash.panels.map((p: any) => p.title)).toEqual(
      expect.arrayContaining([
        'Requests by decision',
        'Sidecar overhead (p99, p50)',
        'Masked values by category',
        'Access reviews by state',
        'Days to review expiry',
      ]),
    );
  });
});

describe('against the API server', () => {
  test('every object helm template renders passes kubectl apply --dry-run=server', async () => {
    await applyCrds();
    const r = await c.helm([
      'template',
      RELEASE,
      CHART,
      '--namespace',
      NS,
      '--include-crds',
      '--set',
      'sidecar.bindings[0].namespace=default,sidecar.bindings[0].serviceAccount=default',
      '--set',
      'reviewers.subjects[0].kind=Group,reviewers.subjects[0].name=security-leads',
    ]);
    const applied = await c.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: r.stdout });
    const lines = applied.stdout.trim().split('\n');
    expect(lines.every((l) => / (created|configured|unchanged) \(server dry run\)$/.test(l))).toBe(true);
    expect(applied.stdout).toContain('mutatingwebhookconfiguration.admissionregistration.k8s.io/scopekeeper created (server dry run)');
    expect(applied.stdout).toContain(`deployment.apps/${RELEASE} created (server dry run)`);
    expect(lines.length).toBe(docs(r.stdout).length);
  });

  test("helm install creates the objects; the operator's RBAC is least privilege; an upgrade keeps the certificate Secret's data; uninstall keeps the CRDs", async () => {
    await c.helm(['install', RELEASE, CHART, '--namespace', NS]);
    try {
      const status = JSON.parse((await c.helm(['status', RELEASE, '--namespace', NS, '-o', 'json'])).stdout);
      expect(status.info.status).toBe('deployed');
      for (const ref of [
        `deployment/${RELEASE}`,
        `service/${RELEASE}`,
        `serviceaccount/${RELEASE}`,
        `secret/${RELEASE}-webhook-cert`,
        `configmap/${RELEASE}-injection`,
        `role/${RELEASE}-operator`,
        `rolebinding/${RELEASE}-operator`,
        `poddisruptionbudget/${RELEASE}`,
      ]) {
        await c.kubectl(['get', '-n', NS, ref, '-o', 'name']);
      }
      for (const ref of [
        'mutatingwebhookconfiguration/scopekeeper',
        'validatingwebhookconfiguration/scopekeeper',
        `clusterrole/${RELEASE}-operator`,
        `clusterrole/${RELEASE}-sidecar`,
        `clusterrole/${RELEASE}-reviewer`,
        `clusterrolebinding/${RELEASE}-operator`,
      ]) {
        await c.kubectl(['get', ref, '-o', 'name']);
      }
      const deploy = JSON.parse((await c.kubectl(['get', '-n', NS, `deployment/${RELEASE}`, '-o', 'json'])).stdout);
      expect(deploy.spec.replicas).toBe(2);
      expect(deploy.status.readyReplicas ?? 0).toBe(0); // no kubelet: expected

      const can = async (args: string[]) => (await c.kubectl(['auth', 'can-i', '--as', SA, ...args], { allowFailure: true })).stdout.trim();
      expect(await can(['get', 'secrets', '--all-namespaces'])).toBe('no');
      expect(await can(['get', 'secrets', '-n', NS])).toBe('no');
      expect(await can(['get', `secret/${RELEASE}-webhook-cert`, '-n', NS])).toBe('yes');
      expect(await can(['update', `secret/${RELEASE}-webhook-cert`, '-n', NS])).toBe('yes');
      expect(await can(['patch', 'mutatingwebhookconfigurations/scopekeeper'])).toBe('yes');
      expect(await can(['patch', 'validatingwebhookconfigurations/scopekeeper'])).toBe('yes');
      expect(await can(['patch', 'mutatingwebhookconfigurations/someone-else'])).toBe('no');
      expect(await can(['list', 'modelscopes.scopekeeper.dev', '--all-namespaces'])).toBe('yes');
      expect(await can(['patch', 'accessreviews.scopekeeper.dev', '--subresource=status', '-n', 'team-a'])).toBe('yes');
      expect(await can(['update', 'accessreviews.scopekeeper.dev', '-n', 'team-a'])).toBe('no');
      expect(await can(['create', 'events.events.k8s.io', '-n', 'team-a'])).toBe('yes');
      expect(await can(['watch', 'namespaces'])).toBe('yes');
      expect(await can(['update', `lease/scopekeeper-operator`, '-n', NS])).toBe('yes');
      expect(await can(['create', 'pods', '-n', 'team-a'])).toBe('no');

      // The operator fills the chart's empty Secret; an upgrade must leave that data alone.
      const data = { 'tls.crt': Buffer.from('cert').toString('base64'), 'ca.key': Buffer.from('key').toString('base64') };
      await c.kubectl(['patch', '-n', NS, `secret/${RELEASE}-webhook-cert`, '--type', 'merge', '-p', JSON.stringify({ data })]);
      await c.helm(['upgrade', RELEASE, CHART, '--namespace', NS, '--set', 'operator.logLevel=debug']);
      const secret = JSON.parse((await c.kubectl(['get', '-n', NS, `secret/${RELEASE}-webhook-cert`, '-o', 'json'])).stdout);
      expect(secret.data).toEqual(data);
    } finally {
      await c.helm(['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '60s']);
    }
    expect((await c.kubectl(['get', 'mutatingwebhookconfiguration/scopekeeper'], { allowFailure: true })).code).not.toBe(0);
    for (const crd of CRDS) await c.kubectl(['get', 'crd', crd, '-o', 'name']);
  });
});

describe("alert rules (promtool, from Debian's prometheus package)", () => {
  const promtool = async (args: string[]) => {
    try {
      return await local('promtool', args, CHART);
    } catch (e) {
      throw new Error(`promtool is not on PATH (${(e as Error).message}): global setup provisions it (e2e/harness/tools.ts)`);
    }
  };
  test('promtool check rules files/alerts.yaml', async () => {
    const r = await promtool(['check', 'rules', 'files/alerts.yaml']);
    expect(r.out).toContain('SUCCESS: 4 rules found');
    expect(r.code).toBe(0);
  });
  test('promtool test rules tests/alerts.test.yaml: every alert fires when it should and only then', async () => {
    const r = await promtool(['test', 'rules', 'tests/alerts.test.yaml']);
    if (r.code !== 0) throw new Error(r.out);
    const tested = readFileSync(join(CHART, 'tests/alerts.test.yaml'), 'utf8');
    for (const a of ['ReviewExpiringSoon', 'ReviewExpired', 'DenialsSpike', 'AuditFailures']) expect(tested).toContain(`alertname: ${a}`);
  });
});
