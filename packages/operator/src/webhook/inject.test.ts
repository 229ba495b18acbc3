import { readFileSync } from 'node:fs';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ModelScope } from '@scopekeeper/core';
import { parseInjectionConfig, type InjectionConfig } from './config.ts';
import { applyPatch } from './jsonpatch.ts';
import { mutatePod, parseServerVersion, useNativeSidecar, type InjectionContext } from './inject.ts';
import { podExposures } from './pod-guard.ts';
import { SIDECAR_MALLOC_ARENA_MAX, SIDECAR_NODE_OPTIONS, sidecarArgs, sidecarMismatch } from './sidecar.ts';

const hasOurSidecar = (p: V1Pod, cfg: InjectionConfig, scopes: ModelScope[] = []): boolean =>
  sidecarMismatch(p, cfg, {
    scope: p.metadata?.annotations?.['scopekeeper.dev/scope'],
    audiences: [
      ...new Set(scopes.flatMap((s) => (s.spec.endpoints ?? []).flatMap((e) => e.auth?.serviceAccountToken?.audience ?? []))),
    ].sort(),
  }) === undefined;

const config: InjectionConfig = {
  image: 'ghcr.io/scopekeeper/scopekeeper:0.1.0',
  issuers: ['https://kubernetes.default.svc.cluster.local'],
  upstreamKeySecret: 'anthropic-key',
};
const ctx = (over: Partial<InjectionContext> = {}): InjectionContext => ({
  namespace: 'team-a',
  serverVersion: 'v1.37.2',
  config,
  ...over,
});

function pod(
  over: {
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    containers?: V1Container[];
    initContainers?: V1Container[];
  } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'agent',
      namespace: 'team-a',
      ...(over.labels ? { labels: over.labels } : {}),
      annotations: over.annotations ?? { 'scopekeeper.dev/inject': 'true' },
    },
    spec: {
      containers: over.containers ?? [{ name: 'app', image: 'agent:1', env: [{ name: 'LOG_LEVEL', value: 'debug' }] }],
      ...(over.initContainers ? { initContainers: over.initContainers } : {}),
    },
  };
}

const inject = (p: V1Pod, c = ctx()): V1Pod => {
  const r = mutatePod(p, c);
  if (!r.allowed) throw new Error(r.message);
  return applyPatch(p, r.patch);
};

/** What the API server adds when it stores a pod: the defaults a second pass must not fight. */
function apiDefaults(p: V1Pod): V1Pod {
  const q = JSON.parse(JSON.stringify(p)) as V1Pod;
  const all = [...(q.spec!.initContainers ?? []), ...q.spec!.containers];
  for (const c of all) {
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.imagePullPolicy ??= 'IfNotPresent';
    for (const probe of [c.readinessProbe, c.startupProbe]) {
      if (!probe) continue;
      probe.successThreshold ??= 1;
      probe.httpGet!.scheme ??= 'HTTP';
    }
  }
  for (const v of q.spec!.volumes ?? []) {
    if (v.secret) v.secret.defaultMode ??= 420;
    if (v.projected) v.projected.defaultMode ??= 420;
  }
  q.spec!.restartPolicy = 'Always';
  q.spec!.serviceAccountName ??= 'default';
  q.spec!.dnsPolicy = 'ClusterFirst';
  q.metadata!.uid = '1234';
  // The API server writes fields in its own order, not ours.
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .reverse()
              .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
          )
        : v;
  return sortKeys(q) as V1Pod;
}

describe('server version', () => {
  test.each([
    ['v1.37.2', true],
    ['v1.29.0', true],
    ['v1.28.9-eks-123', false],
    [{ major: '1', minor: '29+' }, true],
    [{ major: '1', minor: '27' }, false],
    ['garbage', false],
  ] as const)('%j → native sidecar %s', (v, native) => {
    expect(useNativeSidecar(v)).toBe(native);
  });
  test('the override wins', () => {
    expect(useNativeSidecar('v1.20.0', 'always')).toBe(true);
    expect(useNativeSidecar('v1.37.0', 'never')).toBe(false);
    expect(parseServerVersion({ major: '', minor: '', gitVersion: 'v1.31.4' })).toEqual({ major: 1, minor: 31 });
  });
});

describe('mutatePod: injection', () => {
  test('the memory settings in the injected env are the ones bin/scopekeeper.js sets when started without them', () => {
    const bin = readFileSync(new URL('../../../../bin/scopekeeper.js', import.meta.url), 'utf8');
    const own = /const SIDECAR_HEAP = \[([^\]]*)\]/.exec(bin)?.[1];
    expect(own).toBeDefined();
    expect(SIDECAR_NODE_OPTIONS.split(' ')).toEqual([...own!.matchAll(/'([^']*)'/g)].map((m) => m[1]));
    expect(/const SIDECAR_MALLOC_ARENA_MAX = '([^']*)'/.exec(bin)?.[1]).toBe(SIDECAR_MALLOC_ARENA_MAX);
  });

  test('≥ 1.29: a native sidecar first among the init containers, with the contract arguments', () => {
    const out = inject(pod());
    const sc = out.spec!.initContainers![0]!;
    expect(sc.name).toBe('scopekeeper-sidecar');
    expect(sc.restartPolicy).toBe('Always');
    expect(sc.image).toBe(config.image);
    expect(sc.command).toBeUndefined();
    expect(sc.args).toEqual([
      'sidecar',
      '--policy',
      'kubernetes',
      '--namespace',
      '$(POD_NAMESPACE)',
      '--pod',
      '$(POD_NAME)',
      '--issuer',
      'https://kubernetes.default.svc.cluster.local',
      '--upstream-key-file',
      '/var/run/scopekeeper/upstream/key',
      '--audit',
      'stdout',
      '--admin',
      '0.0.0.0:15181',
    ]);
    expect(sc.env).toEqual([
      { name: 'NODE_OPTIONS', value: SIDECAR_NODE_OPTIONS },
      { name: 'MALLOC_ARENA_MAX', value: '2' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
    ]);
    expect(sc.ports).toEqual([
      { name: 'sk-data', containerPort: 15180, protocol: 'TCP' },
      { name: 'sk-admin', containerPort: 15181, protocol: 'TCP' },
    ]);
    expect(sc.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 15181 });
    expect(sc.resources?.requests).toEqual({ cpu: '50m', memory: '64Mi' });
    expect(sc.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(sc.volumeMounts).toEqual([
      { name: 'scopekeeper-upstream-key', mountPath: '/var/run/scopekeeper/upstream', readOnly: true },
      { name: 'scopekeeper-kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ]);
    expect(out.spec!.containers).toHaveLength(1);
    expect(out.metadata!.annotations!['scopekeeper.dev/status']).toBe('injected');
    expect(out.metadata!.labels!['scopekeeper.dev/injected']).toBe('true');
    // projected tokens need one; the ServiceAccount admission plugin would have named it
    expect(out.spec!.serviceAccountName).toBe('default');
    expect(inject({ ...pod(), spec: { ...pod().spec!, serviceAccountName: 'support-bot' } }).spec!.serviceAccountName).toBe('support-bot');
  });

  test('app containers get ANTHROPIC_BASE_URL, the token file and its read-only mount; the key only reaches the sidecar', () => {
    const out = inject(pod());
    const app = out.spec!.containers[0]!;
    expect(app.env).toEqual([
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:15180' },
      { name: 'SCOPEKEEPER_TOKEN_FILE', value: '/var/run/secrets/scopekeeper/token' },
    ]);
    expect(app.volumeMounts).toEqual([{ name: 'scopekeeper-token', mountPath: '/var/run/secrets/scopekeeper', readOnly: true }]);
    const token = out.spec!.volumes!.find((v) => v.name === 'scopekeeper-token')!;
    expect(token.projected!.sources).toEqual([{ serviceAccountToken: { audience: 'scopekeeper', expirationSeconds: 600, path: 'token' } }]);
    const key = out.spec!.volumes!.find((v) => v.name === 'scopekeeper-upstream-key')!;
    expect(key.secret).toEqual({ secretName: 'anthropic-key', items: [{ key: 'api-key', path: 'key' }] });
    expect(podExposures(out, config, [])).toEqual([]);
    expect(hasOurSidecar(out, config)).toBe(true);
  });

  test('an existing ANTHROPIC_BASE_URL is replaced, whether a value or valueFrom', () => {
    const p = pod({
      containers: [
        { name: 'a', image: 'x', env: [{ name: 'ANTHROPIC_BASE_URL', value: 'https://api.anthropic.com' }] },
        { name: 'b', image: 'x', env: [{ name: 'ANTHROPIC_BASE_URL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'url' } } }] },
      ],
    });
    const out = inject(p);
    for (const c of out.spec!.containers) {
      expect(c.env!.filter((e) => e.name === 'ANTHROPIC_BASE_URL')).toEqual([
        { name: 'ANTHROPIC_BASE_URL', value: 'http://127.0.0.1:15180' },
      ]);
    }
  });

  test('init containers that are not ours are left alone; ours goes first', () => {
    const out = inject(pod({ initContainers: [{ name: 'migrate', image: 'm:1' }] }));
    expect(out.spec!.initContainers!.map((c) => c.name)).toEqual(['scopekeeper-sidecar', 'migrate']);
    expect(out.spec!.initContainers![1]).toEqual({ name: 'migrate', image: 'm:1' });
  });

  test('< 1.29: a plain container appended after the app (which stays the default container)', () => {
    const out = inject(pod(), ctx({ serverVersion: 'v1.28.3' }));
    expect(out.spec!.initContainers).toBeUndefined();
    expect(out.spec!.containers.map((c) => c.name)).toEqual(['app', 'scopekeeper-sidecar']);
    expect(out.spec!.containers[1]!.restartPolicy).toBeUndefined();
    expect(out.spec!.containers[1]!.env).toHaveLength(4); // its own NODE_OPTIONS, MALLOC_ARENA_MAX, POD_NAME, POD_NAMESPACE only
  });

  test('the scope annotation becomes --scope; more issuers, a CA, an upstream and audit sinks pass through', () => {
    const cfg: InjectionConfig = {
      ...config,
      issuers: ['https://a', 'https://b'],
      issuerCAFile: '/ca.pem',
      upstream: 'https://gw.example',
      audit: ['stdout', 'file:/tmp/a'],
    };
    const out = inject(
      pod({ annotations: { 'scopekeeper.dev/inject': 'true', 'scopekeeper.dev/scope': 'support-agent' } }),
      ctx({ config: cfg }),
    );
    expect(out.spec!.initContainers![0]!.args).toEqual([
      'sidecar',
      '--policy',
      'kubernetes',
      '--namespace',
      '$(POD_NAMESPACE)',
      '--pod',
      '$(POD_NAME)',
      '--issuer',
      'https://a',
      '--issuer',
      'https://b',
      '--issuer-ca',
      '/ca.pem',
      '--upstream-key-file',
      '/var/run/scopekeeper/upstream/key',
      '--upstream',
      'https://gw.example',
      '--audit',
      'stdout',
      '--audit',
      'file:/tmp/a',
      '--admin',
      '0.0.0.0:15181',
      '--scope',
      'support-agent',
    ]);
    expect(sidecarArgs(config, undefined)).not.toContain('--scope');
  });

  test('the service-account issuer, the groups claim and SAML IdPs pass through as flags', () => {
    const cfg: InjectionConfig = {
      ...config,
      issuers: ['https://login.example.com', 'https://kubernetes.default.svc.cluster.local'],
      serviceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
      groupsClaim: 'roles',
      saml: {
        idpMetadata: ['https://idp.example.com/metadata', '/etc/scopekeeper/idp2.xml'],
        audience: 'sk-prod',
        groupsAttribute: 'memberOf',
      },
    };
    const args = sidecarArgs(cfg, undefined);
    const after = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
    expect(after('--issuer')).toEqual(['https://login.example.com', 'https://kubernetes.default.svc.cluster.local']);
    expect(after('--service-account-issuer')).toEqual(['https://kubernetes.default.svc.cluster.local']);
    expect(after('--groups-claim')).toEqual(['roles']);
    expect(after('--saml-idp-metadata')).toEqual(['https://idp.example.com/metadata', '/etc/scopekeeper/idp2.xml']);
    expect(after('--saml-audience')).toEqual(['sk-prod']);
    expect(after('--saml-groups-attribute')).toEqual(['memberOf']);
    for (const flag of ['--service-account-issuer', '--groups-claim', '--saml-idp-metadata', '--saml-audience', '--saml-groups-attribute'])
      expect(sidecarArgs(config, undefined)).not.toContain(flag);
  });

  test('a label opts in as well (for objectSelector-only setups)', () => {
    const out = inject(pod({ annotations: {}, labels: { 'scopekeeper.dev/inject': 'true' } }));
    expect(out.spec!.initContainers![0]!.name).toBe('scopekeeper-sidecar');
  });

  test('a pod without annotations or labels gets both maps', () => {
    const p = pod({ labels: { 'scopekeeper.dev/inject': 'true' } });
    delete p.metadata!.annotations;
    const out = inject(p);
    expect(out.metadata!.annotations).toEqual({ 'scopekeeper.dev/status': 'injected' });
  });
});

describe('mutatePod: idempotent', () => {
  test.each(['v1.37.2', 'v1.27.1'])('%s: a second pass over its own output changes nothing', (v) => {
    const once = inject(pod({ initContainers: [{ name: 'migrate', image: 'm:1' }] }), ctx({ serverVersion: v }));
    const again = mutatePod(once, ctx({ serverVersion: v }));
    expect(again).toEqual({ allowed: true, result: 'skipped', patch: [], reason: 'already injected', warnings: [] });
  });

  test('nor over the stored copy with API defaults (a pod re-created from kubectl get -o yaml)', () => {
    const stored = apiDefaults(inject(pod()));
    expect(mutatePod(stored, ctx())).toMatchObject({ allowed: true, result: 'skipped', patch: [] });
  });

  test('a sidecar injected as a plain container stays where it is after an upgrade to ≥ 1.29', () => {
    const old = inject(pod(), ctx({ serverVersion: 'v1.28.0' }));
    expect(mutatePod(old, ctx({ serverVersion: 'v1.30.0' }))).toMatchObject({ result: 'skipped', patch: [] });
  });

  test('a status annotation is not trusted without the sidecar: the pod is injected', () => {
    const r = mutatePod(pod({ annotations: { 'scopekeeper.dev/inject': 'true', 'scopekeeper.dev/status': 'injected' } }), ctx());
    expect(r).toMatchObject({ allowed: true, result: 'injected' });
    if (r.allowed) expect(r.patch.some((o) => o.path === '/spec/initContainers')).toBe(true);
  });

  test('a container that only borrows our name is replaced in place by the real sidecar', () => {
    const forged = inject(pod());
    forged.spec!.initContainers![0]!.command = ['sh', '-c', 'cat /var/run/scopekeeper/upstream/key'];
    expect(hasOurSidecar(forged, config)).toBe(false);
    const r = mutatePod(forged, ctx());
    expect(r.allowed && r.patch).toEqual([{ op: 'remove', path: '/spec/initContainers/0/command' }]);
    const fixed = inject(forged);
    expect(fixed.spec!.initContainers![0]!.command).toBeUndefined();
    expect(hasOurSidecar(fixed, config)).toBe(true);
  });

  test('a sidecar pointed at another upstream through env is not ours', () => {
    const p = inject(pod());
    p.spec!.initContainers![0]!.env!.push({ name: 'SCOPEKEEPER_UPSTREAM', value: 'https://evil.example' });
    expect(hasOurSidecar(p, config)).toBe(false);
  });
});

describe('mutatePod: skipped', () => {
  test('kube-system is never touched, whatever the pod says', () => {
    expect(mutatePod(pod(), ctx({ namespace: 'kube-system' }))).toMatchObject({ allowed: true, result: 'skipped', patch: [] });
  });
  test('no opt-in, or inject: "false"', () => {
    expect(mutatePod(pod({ annotations: {} }), ctx())).toMatchObject({ result: 'skipped', reason: 'not opted in', patch: [] });
    expect(mutatePod(pod({ annotations: { 'scopekeeper.dev/inject': 'false' } }), ctx())).toMatchObject({ result: 'skipped', patch: [] });
  });
});

describe('mutatePod: refused with what to do', () => {
  test('inject: "yes"', () => {
    const r = mutatePod(pod({ annotations: { 'scopekeeper.dev/inject': 'yes' } }), ctx());
    expect(r).toEqual({
      allowed: false,
      result: 'refused',
      message:
        'pod team-a/agent: the annotation scopekeeper.dev/inject must be "true" or "false" (got "yes"). Set it to "true" to inject the scopekeeper sidecar, "false" to opt out, or remove it.',
    });
  });
  test.each([
    ['upper case and _', 'Support_Agent'],
    ['a leading dash', '-x'],
    ['254 characters', 'a'.repeat(254)],
    ['a space', 'has space'],
  ])('a scope name with %s', (_what, scope) => {
    const r = mutatePod(pod({ annotations: { 'scopekeeper.dev/inject': 'true', 'scopekeeper.dev/scope': scope } }), ctx());
    expect(r.allowed).toBe(false);
    if (!r.allowed) expect(r.message).toContain('the annotation scopekeeper.dev/scope must name a ModelScope');
  });
  test('hostNetwork', () => {
    const p = pod();
    p.spec!.hostNetwork = true;
    const r = mutatePod(p, ctx());
    expect(!r.allowed && r.message).toContain('uses hostNetwork');
  });
  test('an app container on the sidecar ports', () => {
    const r = mutatePod(pod({ containers: [{ name: 'web', image: 'x', ports: [{ containerPort: 15180 }] }] }), ctx());
    expect(!r.allowed && r.message).toContain('container "web" declares port 15180');
  });
});

test('an app container that reads the key gets a warning (and would be refused where enforced)', () => {
  const r = mutatePod(
    pod({
      containers: [
        {
          name: 'app',
          image: 'x',
          env: [{ name: 'ANTHROPIC_API_KEY', valueFrom: { secretKeyRef: { name: 'anthropic-key', key: 'api-key' } } }],
        },
      ],
    }),
    ctx(),
  );
  expect(r.allowed && r.warnings[0]).toContain(
    'container "app" reads the upstream key Secret "anthropic-key" through env ANTHROPIC_API_KEY: remove env ANTHROPIC_API_KEY',
  );
});

describe('parseInjectionConfig', () => {
  test('accepts the shape the chart renders', () => {
    const raw = {
      ...config,
      imagePullPolicy: 'IfNotPresent',
      issuerCAFile: '/ca',
      audit: ['stdout'],
      nativeSidecar: 'auto',
      resources: { requests: { cpu: '50m' } },
      serviceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
      groupsClaim: 'roles',
      saml: { idpMetadata: ['https://idp.example.com/metadata'], audience: 'sk', groupsAttribute: 'memberOf' },
    };
    expect(parseInjectionConfig(JSON.parse(JSON.stringify(raw)))).toEqual(raw);
  });
  test('SAML needs at least one IdP metadata source', () => {
    expect(() => parseInjectionConfig({ ...config, saml: { audience: 'sk' } }, 'injection.json')).toThrow('saml.idpMetadata is required');
    expect(() => parseInjectionConfig({ ...config, saml: { idpMetadata: [] } }, 'injection.json')).toThrow('saml.idpMetadata');
  });
  test('names every wrong field', () => {
    expect(() =>
      parseInjectionConfig({ image: '', issuers: [], upstreamKeySecret: 'Bad_Name', nativeSidecar: 'maybe', extra: 1 }, 'injection.json'),
    ).toThrow(
      'injection.json: unknown field extra; image must NOT have fewer than 1 characters; issuers must NOT have fewer than 1 items; upstreamKeySecret is not a valid Secret name; nativeSidecar must be one of auto, always, never',
    );
    expect(() => parseInjectionConfig([])).toThrow('must be a JSON object');
  });
});

describe('the sidecar is exactly what the webhook injects', () => {
  const hooks: [string, (c: V1Container) => void][] = [
    [
      'a readinessProbe that prints the key',
      (c) => (c.readinessProbe = { exec: { command: ['sh', '-c', 'cat /var/run/scopekeeper/upstream/key >/proc/1/fd/1'] } }),
    ],
    [
      'a lifecycle.postStart hook',
      (c) => (c.lifecycle = { postStart: { exec: { command: ['sh', '-c', 'cp /var/run/scopekeeper/upstream/key /shared/'] } } }),
    ],
    ['a livenessProbe', (c) => (c.livenessProbe = { exec: { command: ['cat', '/var/run/scopekeeper/upstream/key'] } })],
    ['a command', (c) => (c.command = ['sh'])],
    ['a workingDir', (c) => (c.workingDir = '/tmp')],
    ['an extra port', (c) => c.ports!.push({ containerPort: 9999, protocol: 'TCP' })],
    ['an extra env', (c) => c.env!.push({ name: 'NODE_OPTIONS', value: '--require /x.js' })],
    ['another NODE_OPTIONS', (c) => (c.env!.find((e) => e.name === 'NODE_OPTIONS')!.value = '--require /x.js')],
    ['envFrom', (c) => (c.envFrom = [{ configMapRef: { name: 'x' } }])],
    ['an extra mount', (c) => c.volumeMounts!.push({ name: 'shared', mountPath: '/shared' })],
    ['runAsUser 0', (c) => (c.securityContext!.runAsUser = 0)],
    ['an added capability', (c) => (c.securityContext!.capabilities = { add: ['SYS_PTRACE'] })],
    ['stdin', (c) => (c.stdin = true)],
    ['another image', (c) => (c.image = 'evil:1')],
    ['a field Kubernetes may add later', (c) => ((c as unknown as Record<string, unknown>).someFutureField = { x: 1 })],
  ];
  test.each(hooks)('%s: not ours; the injection restores the exact sidecar', (_what, change) => {
    const exact = inject(pod());
    const forged = structuredClone(exact);
    change(forged.spec!.initContainers![0]!);
    expect(hasOurSidecar(forged, config)).toBe(false);
    const fixed = inject(forged);
    expect(fixed.spec!.initContainers![0]).toEqual(exact.spec!.initContainers![0]);
    expect(hasOurSidecar(fixed, config)).toBe(true);
  });

  test("the API server's defaults do not make it differ: quantities, pull policy, probe defaults", () => {
    const stored = apiDefaults(inject(pod()));
    stored.spec!.initContainers![0]!.resources!.requests!.cpu = '0.05';
    expect(hasOurSidecar(stored, config)).toBe(true);
    const latest = inject(pod(), ctx({ config: { ...config, image: 'scopekeeper:latest' } }));
    latest.spec!.initContainers![0]!.imagePullPolicy = 'Always';
    expect(hasOurSidecar(latest, { ...config, image: 'scopekeeper:latest' })).toBe(true);
    latest.spec!.initContainers![0]!.imagePullPolicy = 'IfNotPresent';
    expect(hasOurSidecar(latest, { ...config, image: 'scopekeeper:latest' })).toBe(false);
  });

  test('an injected volume swapped for another source (the key as hostPath) is not ours, and is put back', () => {
    const p = inject(pod());
    const i = p.spec!.volumes!.findIndex((v) => v.name === 'scopekeeper-upstream-key');
    p.spec!.volumes![i] = { name: 'scopekeeper-upstream-key', hostPath: { path: '/etc' } };
    expect(hasOurSidecar(p, config)).toBe(false);
    expect(inject(p).spec!.volumes![i]).toEqual({
      name: 'scopekeeper-upstream-key',
      secret: { secretName: 'anthropic-key', items: [{ key: 'api-key', path: 'key' }] },
    });
  });
});

describe('endpoints[].auth: a token for the audience, in the sidecar alone', () => {
  const withAuth = (name: string, audience: string): ModelScope => ({
    apiVersion: 'scopekeeper.dev/v1alpha1',
    kind: 'ModelScope',
    metadata: { name, namespace: 'team-a' },
    spec: {
      subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
      models: ['claude-sonnet-4-5'],
      endpoints: [{ name: 'crm', url: 'http://crm.team-a.svc:8080', auth: { serviceAccountToken: { audience } } }],
    },
  });
  const scopes = [withAuth('support', 'crm.team-a'), withAuth('billing', 'billing.team-a'), withAuth('dup', 'crm.team-a')];

  test('no scope pinned: every audience of the namespace, sorted, once; mounted into the sidecar only', () => {
    const out = inject(pod(), ctx({ scopes }));
    const sc = out.spec!.initContainers![0]!;
    expect(sc.args!.slice(-4)).toEqual([
      '--endpoint-token',
      'billing.team-a=/var/run/scopekeeper/endpoint-tokens/token-0',
      '--endpoint-token',
      'crm.team-a=/var/run/scopekeeper/endpoint-tokens/token-1',
    ]);
    expect(sc.volumeMounts).toContainEqual({
      name: 'scopekeeper-endpoint-tokens',
      mountPath: '/var/run/scopekeeper/endpoint-tokens',
      readOnly: true,
    });
    expect(out.spec!.volumes!.find((v) => v.name === 'scopekeeper-endpoint-tokens')!.projected!.sources).toEqual([
      { serviceAccountToken: { audience: 'billing.team-a', expirationSeconds: 600, path: 'token-0' } },
      { serviceAccountToken: { audience: 'crm.team-a', expirationSeconds: 600, path: 'token-1' } },
    ]);
    expect(JSON.stringify(out.spec!.containers)).not.toContain('scopekeeper-endpoint-tokens');
    expect(hasOurSidecar(out, config, scopes)).toBe(true);
    expect(mutatePod(out, ctx({ scopes }))).toMatchObject({ result: 'skipped', patch: [] });
  });

  test('a pinned scope: its audiences only', () => {
    const out = inject(pod({ annotations: { 'scopekeeper.dev/inject': 'true', 'scopekeeper.dev/scope': 'billing' } }), ctx({ scopes }));
    expect(out.spec!.initContainers![0]!.args!.filter((a) => a.includes('='))).toEqual([
      'billing.team-a=/var/run/scopekeeper/endpoint-tokens/token-0',
    ]);
  });

  test('no audience: no volume; a volume under that name brought by the pod is dropped', () => {
    const p = pod();
    p.spec!.volumes = [
      { name: 'scopekeeper-endpoint-tokens', projected: { sources: [{ serviceAccountToken: { audience: 'crm.team-a', path: 't' } }] } },
    ];
    const out = inject(p);
    expect(out.spec!.volumes!.map((v) => v.name)).not.toContain('scopekeeper-endpoint-tokens');
  });

  test('an app volume projecting a reserved audience is an exposure', () => {
    const p = inject(pod(), ctx({ scopes }));
    p.spec!.volumes!.push({ name: 'steal', projected: { sources: [{ serviceAccountToken: { audience: 'crm.team-a', path: 't' } }] } });
    p.spec!.containers[0]!.volumeMounts!.push({ name: 'scopekeeper-endpoint-tokens', mountPath: '/t' });
    expect(podExposures(p, config, ['billing.team-a', 'crm.team-a']).map((e) => `${e.subject} ${e.what}`)).toEqual([
      'volume "steal" projects a service-account token for audience "crm.team-a", which endpoints[].auth of a ModelScope reserves for the sidecar',
      'container "app" mounts scopekeeper-endpoint-tokens, the sidecar\'s service tokens',
    ]);
  });
});
