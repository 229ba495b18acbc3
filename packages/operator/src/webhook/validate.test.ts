import type { V1Pod } from '@kubernetes/client-node';
import type { AccessReview, ModelScope } from '@scopekeeper/core';
import type { AdmissionRequest } from './admission.ts';
import { applyPatch } from './jsonpatch.ts';
import type { InjectionConfig } from './config.ts';
import { mutatePod } from './inject.ts';
import { validate, type NamespaceLike, type ValidationDeps } from './validate.ts';
import { validatePod } from './validate-pod.ts';
import { isDecision, mutateAccessReview, serviceAccountOf, validateAccessReview } from './validate-review.ts';

const injection: InjectionConfig = { image: 'scopekeeper:1', issuers: ['https://issuer'], upstreamKeySecret: 'anthropic-key' };

const scope: ModelScope = {
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name: 'support-agent', namespace: 'team-a' },
  spec: {
    subjects: [{ kind: 'ServiceAccount', name: 'support-bot' }],
    models: ['claude-sonnet-4-*'],
    review: {
      reviewers: [
        { kind: 'Group', name: 'security-leads' },
        { kind: 'User', name: 'erin@example.com' },
      ],
    },
    approval: {
      requiredFor: { models: ['claude-opus-*'] },
      approvers: [
        { kind: 'User', name: 'frank@example.com' },
        { kind: 'Group', name: 'oncall' },
      ],
    },
  },
};
const namespaces: Record<string, NamespaceLike> = {
  'team-a': { metadata: { name: 'team-a', labels: {} } },
  locked: { metadata: { name: 'locked', labels: { 'scopekeeper.dev/enforce': 'true' } } },
};
const deps: ValidationDeps = {
  getScope: (ns, name) => (ns === 'team-a' && name === 'support-agent' ? scope : undefined),
  getNamespace: async (name) => namespaces[name],
  injection,
};

function review(spec: Partial<AccessReview['spec']> = {}): AccessReview {
  return {
    apiVersion: 'scopekeeper.dev/v1alpha1',
    kind: 'AccessReview',
    metadata: { name: 'support-agent-2026q4', namespace: 'team-a' },
    spec: { scopeRef: { name: 'support-agent' }, type: 'Periodic', decision: 'Pending', requestedBy: 'alice@example.com', ...spec },
  };
}

const approved = (over: Partial<AccessReview['spec']> = {}) =>
  review({ decision: 'Approved', expiresAt: '2027-01-30T10:00:00Z', justification: 'SEC-123', ...over });

function arRequest(user: string, groups: string[], object: AccessReview, oldObject?: AccessReview): AdmissionRequest {
  return {
    uid: 'u-1',
    kind: { group: 'scopekeeper.dev', version: 'v1alpha1', kind: 'AccessReview' },
    resource: { group: 'scopekeeper.dev', version: 'v1alpha1', resource: 'accessreviews' },
    name: object.metadata.name,
    namespace: 'team-a',
    operation: oldObject ? 'UPDATE' : 'CREATE',
    userInfo: { username: user, groups: [...groups, 'system:authenticated'] },
    object,
    ...(oldObject ? { oldObject } : {}),
  };
}

/** What the API server does: the mutating webhook's patch, then the validating webhook. */
async function decide(user: string, groups: string[], object: AccessReview, oldObject?: AccessReview) {
  const req = arRequest(user, groups, object, oldObject);
  const stamped = applyPatch(object, mutateAccessReview(req, Date.parse('2026-11-01T10:00:00.123Z')));
  return { stamped, verdict: await validateAccessReview({ ...req, object: stamped }, deps) };
}

describe('what counts as a decision', () => {
  test.each([
    ['a Pending create', false, 'CREATE', review(), undefined],
    ['an Approved create', true, 'CREATE', approved(), undefined],
    ['Pending → Approved', true, 'UPDATE', approved(), review()],
    ['Pending → Revoked', true, 'UPDATE', review({ decision: 'Revoked' }), review()],
    ['Approved → Pending', false, 'UPDATE', review(), approved()],
    ['a new expiresAt on an Approved review', true, 'UPDATE', approved({ expiresAt: '2027-06-01T00:00:00Z' }), approved()],
    ['a new reviewer on an Approved review', true, 'UPDATE', approved({ reviewer: 'someone' }), approved()],
    [
      'an Approved review with a label added (same spec)',
      false,
      'UPDATE',
      { ...approved(), metadata: { ...approved().metadata, labels: { a: 'b' } } },
      approved(),
    ],
    ['a delete', false, 'DELETE', approved(), approved()],
  ] as const)('%s → %s', (_name, expected, op, obj, old) => {
    expect(isDecision(op, obj as AccessReview, old as AccessReview | undefined)).toBe(expected);
  });
});

describe('/mutate-accessreview stamps the decider', () => {
  test('reviewer = the authenticated user, reviewedAt = now (whole seconds), whatever the client sent', () => {
    const ops = mutateAccessReview(
      arRequest(
        'carol@example.com',
        ['security-leads'],
        approved({ reviewer: 'ceo@example.com', reviewedAt: '2020-01-01T00:00:00Z' }),
        review(),
      ),
      Date.parse('2026-11-01T10:00:00.987Z'),
    );
    expect(ops).toEqual([
      { op: 'add', path: '/spec/reviewer', value: 'carol@example.com' },
      { op: 'add', path: '/spec/reviewedAt', value: '2026-11-01T10:00:00Z' },
    ]);
  });
  test('spec.requestedBy: the creator on CREATE, whatever was sent; unchanged on UPDATE', () => {
    expect(mutateAccessReview(arRequest('mallory@example.com', [], review({ requestedBy: 'alice@example.com' })))).toEqual([
      { op: 'add', path: '/spec/requestedBy', value: 'mallory@example.com' },
    ]);
    expect(mutateAccessReview(arRequest('mallory@example.com', [], review({ requestedBy: undefined })))).toEqual([
      { op: 'add', path: '/spec/requestedBy', value: 'mallory@example.com' },
    ]);
    expect(mutateAccessReview(arRequest('mallory@example.com', [], review({ requestedBy: 'mallory@example.com' }), review()))).toEqual([
      { op: 'add', path: '/spec/requestedBy', value: 'alice@example.com' },
    ]);
    expect(
      mutateAccessReview(arRequest('mallory@example.com', [], review({ requestedBy: 'x' }), review({ requestedBy: undefined }))),
    ).toEqual([{ op: 'remove', path: '/spec/requestedBy' }]);
  });
  test('nothing for a Pending review or a metadata-only update', () => {
    expect(mutateAccessReview(arRequest('alice@example.com', [], review()))).toEqual([]);
    expect(
      mutateAccessReview(
        arRequest('bob@example.com', [], approved({ reviewer: 'carol@example.com' }), approved({ reviewer: 'carol@example.com' })),
      ),
    ).toEqual([]);
  });
});

describe('/validate-accessreview: who may decide', () => {
  test('carol (Group security-leads, a reviewer of the scope) approves: allowed and stamped', async () => {
    const { stamped, verdict } = await decide('carol@example.com', ['security-leads'], approved(), review());
    expect(verdict).toEqual({ allowed: true });
    expect(stamped.spec.reviewer).toBe('carol@example.com');
    expect(stamped.spec.reviewedAt).toBe('2026-11-01T10:00:00Z');
  });

  test('a User reviewer is matched by name', async () => {
    expect((await decide('erin@example.com', [], approved(), review())).verdict).toEqual({ allowed: true });
  });

  test('mallory (no group) is refused, naming the reviewers', async () => {
    const { verdict } = await decide('mallory@example.com', [], approved(), review());
    expect(verdict).toEqual({
      allowed: false,
      code: 403,
      message:
        'User mallory@example.com may not approve AccessReview team-a/support-agent-2026q4: only the reviewers of ModelScope team-a/support-agent may ' +
        '(spec.review.reviewers: Group security-leads, User erin@example.com). Ask one of them to decide it.',
    });
  });

  test('the requester may not approve their own request, even as a reviewer', async () => {
    const { verdict } = await decide(
      'carol@example.com',
      ['security-leads'],
      approved({ requestedBy: 'carol@example.com' }),
      review({ requestedBy: 'carol@example.com' }),
    );
    expect(verdict).toMatchObject({ allowed: false });
    expect(!verdict.allowed && verdict.message).toBe(
      'User carol@example.com may not approve AccessReview team-a/support-agent-2026q4: it is their own request (spec.requestedBy is carol@example.com). ' +
        'Another of the reviewers of ModelScope team-a/support-agent (Group security-leads, User erin@example.com) must decide it.',
    );
  });

  test('revoking and changing an Approved review need a reviewer too', async () => {
    const revoke = await decide(
      'mallory@example.com',
      [],
      { ...approved(), spec: { ...approved().spec, decision: 'Revoked' } },
      approved({ reviewer: 'carol@example.com' }),
    );
    expect(!revoke.verdict.allowed && revoke.verdict.message).toMatch(/^User mallory@example.com may not revoke AccessReview/);
    const extend = await decide(
      'alice@example.com',
      ['ml-engineers'],
      approved({ reviewer: 'carol@example.com', expiresAt: '2030-01-01T00:00:00Z' }),
      approved({ reviewer: 'carol@example.com' }),
    );
    expect(!extend.verdict.allowed && extend.verdict.message).toMatch(/^User alice@example.com may not change the Approved AccessReview/);
  });

  test('JustInTime reviews are decided by the approvers; the held subject may not approve itself', async () => {
    const jit = (over: Partial<AccessReview['spec']> = {}) =>
      review({
        type: 'JustInTime',
        requestedBy: 'support-bot',
        request: { subject: { kind: 'ServiceAccount', name: 'support-bot', namespace: 'team-a' }, model: 'claude-opus-4-1' },
        ...over,
      });
    const carol = await decide(
      'carol@example.com',
      ['security-leads'],
      { ...jit(), spec: { ...jit().spec, decision: 'Approved', expiresAt: '2026-11-01T11:00:00Z', justification: 'ok' } },
      jit(),
    );
    expect(!carol.verdict.allowed && carol.verdict.message).toContain(
      'only the approvers of ModelScope team-a/support-agent may (spec.approval.approvers: User frank@example.com, Group oncall)',
    );
    const frank = await decide(
      'frank@example.com',
      [],
      { ...jit(), spec: { ...jit().spec, decision: 'Approved', expiresAt: '2026-11-01T11:00:00Z', justification: 'ok' } },
      jit(),
    );
    expect(frank.verdict).toEqual({ allowed: true });
    const bot = await decide(
      'system:serviceaccount:team-a:support-bot',
      ['oncall'],
      { ...jit(), spec: { ...jit().spec, decision: 'Approved', expiresAt: '2026-11-01T11:00:00Z', justification: 'ok' } },
      jit(),
    );
    expect(!bot.verdict.allowed && bot.verdict.message).toContain(
      'it is their own request (spec.request.subject is ServiceAccount team-a/support-bot)',
    );
  });

  test('a member of a Group request subject may not approve it', async () => {
    const r = review({ type: 'JustInTime', requestedBy: undefined, request: { subject: { kind: 'Group', name: 'oncall' } } });
    const v = await decide(
      'olga@example.com',
      ['oncall'],
      { ...r, spec: { ...r.spec, decision: 'Approved', expiresAt: '2026-11-01T11:00:00Z', justification: 'x' } },
      r,
    );
    expect(!v.verdict.allowed && v.verdict.message).toContain('spec.request.subject is Group oncall, and you are in it');
  });

  test('spec.reviewer must be the user (the mutating webhook missing is named)', async () => {
    const v = await validateAccessReview(
      arRequest('carol@example.com', ['security-leads'], approved({ reviewer: 'erin@example.com' }), review()),
      deps,
    );
    expect(!v.allowed && v.message).toContain(
      'spec.reviewer must be the user who makes the decision (carol@example.com), but it is "erin@example.com"',
    );
    expect(!v.allowed && v.message).toContain('MutatingWebhookConfiguration "scopekeeper"');
  });

  test('a review of a scope that does not exist cannot be approved', async () => {
    const { verdict } = await decide(
      'carol@example.com',
      ['security-leads'],
      approved({ scopeRef: { name: 'nope' } }),
      review({ scopeRef: { name: 'nope' } }),
    );
    expect(!verdict.allowed && verdict.message).toContain('it refers to ModelScope "nope", which does not exist in namespace team-a');
  });

  test('a scope without reviewers: nobody may decide', async () => {
    const bare: ModelScope = { ...scope, spec: { subjects: scope.spec.subjects, models: scope.spec.models } };
    const v = await validateAccessReview(
      { ...arRequest('carol@example.com', ['security-leads'], approved({ reviewer: 'carol@example.com' }), review()) },
      { getScope: () => bare },
    );
    expect(!v.allowed && v.message).toContain('names no reviewers (spec.review.reviewers)');
  });

  test('Pending creates and metadata-only updates pass for anyone', async () => {
    expect(await validateAccessReview(arRequest('mallory@example.com', [], review({ requestedBy: 'mallory@example.com' })), deps)).toEqual({
      allowed: true,
    });
    const a = approved({ reviewer: 'carol@example.com' });
    expect(
      await validateAccessReview(arRequest('mallory@example.com', [], { ...a, metadata: { ...a.metadata, labels: { x: 'y' } } }, a), deps),
    ).toEqual({ allowed: true });
  });
});

// ---- pods -----------------------------------------------------------------------------------

function podRequest(namespace: string, pod: V1Pod, over: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'p-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace,
    operation: 'CREATE',
    userInfo: { username: 'dave@example.com', groups: ['support-engineers'] },
    object: pod,
    ...over,
  };
}

const plain = (
  annotations: Record<string, string> = {},
  containers: V1Pod['spec'] = { containers: [{ name: 'app', image: 'agent:1' }] },
): V1Pod => ({
  metadata: { name: 'agent', namespace: 'locked', annotations },
  spec: containers,
});
const injected = (p: V1Pod): V1Pod => {
  const r = mutatePod(p, { namespace: 'locked', serverVersion: 'v1.37.2', config: injection });
  if (!r.allowed) throw new Error(r.message);
  return applyPatch(p, r.patch);
};

describe('/validate-pod: namespaces labelled scopekeeper.dev/enforce=true', () => {
  test('a namespace without the label lets anything through', async () => {
    expect(await validatePod(podRequest('team-a', plain()), deps)).toEqual({ allowed: true });
  });

  test('a pod that is not injected is refused, saying what to add', async () => {
    const v = await validatePod(podRequest('locked', plain()), deps);
    expect(v).toEqual({
      allowed: false,
      code: 403,
      message:
        'pod locked/agent is not injected with the scopekeeper sidecar, and namespace locked is labelled scopekeeper.dev/enforce=true: every pod there must run it. ' +
        'Add the annotation scopekeeper.dev/inject: "true" to the pod (for a Deployment: spec.template.metadata.annotations).',
    });
  });

  test('opting out is refused; an opted-in pod the injector missed is explained', async () => {
    const out = await validatePod(podRequest('locked', plain({ 'scopekeeper.dev/inject': 'false' })), deps);
    expect(!out.allowed && out.message).toContain('opts out of the scopekeeper sidecar (scopekeeper.dev/inject: "false")');
    const missed = await validatePod(podRequest('locked', plain({ 'scopekeeper.dev/inject': 'true' })), deps);
    expect(!missed.allowed && missed.message).toContain('asks for the scopekeeper sidecar but does not carry it');
  });

  test('an injected pod passes', async () => {
    expect(await validatePod(podRequest('locked', injected(plain({ 'scopekeeper.dev/inject': 'true' }))), deps)).toEqual({ allowed: true });
  });

  test('a forged status annotation and a look-alike container do not pass', async () => {
    const p = injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    p.spec!.initContainers![0]!.image = 'attacker/exfil:latest';
    const v = await validatePod(podRequest('locked', p), deps);
    expect(!v.allowed && v.message).toContain('carries a container named scopekeeper-sidecar that is not the sidecar scopekeeper injects');
    expect(!v.allowed && v.message).toContain(
      '(its container scopekeeper-sidecar differs from the injected one in image, imagePullPolicy)',
    );
  });

  test.each([
    [
      'env valueFrom.secretKeyRef',
      {
        name: 'app',
        image: 'x',
        env: [{ name: 'ANTHROPIC_API_KEY', valueFrom: { secretKeyRef: { name: 'anthropic-key', key: 'api-key' } } }],
      },
      'container "app" reads the upstream key Secret "anthropic-key" through env ANTHROPIC_API_KEY: remove env ANTHROPIC_API_KEY',
    ],
    [
      'envFrom secretRef',
      { name: 'app', image: 'x', envFrom: [{ secretRef: { name: 'anthropic-key' } }] },
      'container "app" reads the upstream key Secret "anthropic-key" through envFrom: remove the envFrom secretRef anthropic-key',
    ],
    [
      'a mount of a secret volume',
      { name: 'app', image: 'x', volumeMounts: [{ name: 'creds', mountPath: '/creds' }] },
      'container "app" reads the upstream key Secret "anthropic-key" through volumeMount creds at /creds: remove the volumeMount creds',
    ],
    [
      'a mount of a projected volume',
      { name: 'app', image: 'x', volumeMounts: [{ name: 'bundle', mountPath: '/b' }] },
      'container "app" reads the upstream key Secret "anthropic-key" through volumeMount bundle at /b',
    ],
    [
      'a mount of the injected key volume',
      { name: 'app', image: 'x', volumeMounts: [{ name: 'scopekeeper-upstream-key', mountPath: '/k' }] },
      'through volumeMount scopekeeper-upstream-key at /k',
    ],
  ])(
    'an injected pod whose app reads the key through %s is refused, naming the container and the fix',
    async (_how, container, expected) => {
      const p = injected(
        plain(
          { 'scopekeeper.dev/inject': 'true' },
          {
            containers: [container],
            volumes: [
              { name: 'creds', secret: { secretName: 'anthropic-key' } },
              { name: 'bundle', projected: { sources: [{ configMap: { name: 'x' } }, { secret: { name: 'anthropic-key' } }] } },
            ],
          },
        ),
      );
      const v = await validatePod(podRequest('locked', p), deps);
      expect(v.allowed).toBe(false);
      expect(!v.allowed && v.message).toContain(
        "pod locked/agent would expose the scopekeeper sidecar's credentials (namespace locked is labelled scopekeeper.dev/enforce=true): ",
      );
      expect(!v.allowed && v.message).toContain(expected);
      expect(!v.allowed && v.message).toContain('Only the scopekeeper sidecar may hold the upstream key');
    },
  );

  const withDebugger = (p: V1Pod, c: Record<string, unknown>): V1Pod => ({
    ...p,
    spec: { ...p.spec!, ephemeralContainers: [{ name: 'debugger', image: 'busybox', ...c }] },
  });
  const injectedIn = (ns: string): V1Pod =>
    injected({
      ...plain({ 'scopekeeper.dev/inject': 'true' }),
      metadata: { name: 'agent', namespace: ns, annotations: { 'scopekeeper.dev/inject': 'true' } },
    });
  test.each([
    [
      'mounts the key',
      { volumeMounts: [{ name: 'scopekeeper-upstream-key', mountPath: '/k' }] },
      'ephemeralContainer "debugger" reads the upstream key Secret "anthropic-key" through volumeMount scopekeeper-upstream-key at /k',
    ],
    [
      'targets the sidecar',
      { targetContainerName: 'scopekeeper-sidecar' },
      'ephemeralContainer "debugger" targets the sidecar (targetContainerName: scopekeeper-sidecar)',
    ],
    [
      "runs as the sidecar's uid",
      { securityContext: { runAsUser: 65532 } },
      `ephemeralContainer "debugger" runs as uid 65532, the sidecar's (securityContext.runAsUser)`,
    ],
    ['is privileged', { securityContext: { privileged: true } }, 'ephemeralContainer "debugger" is privileged'],
  ])('an ephemeral (debug) container that %s is refused, in enforced namespaces and injected pods anywhere', async (_what, c, expected) => {
    for (const ns of ['locked', 'team-a']) {
      const p = injectedIn(ns);
      const v = await validatePod(
        podRequest(ns, withDebugger(p, c), { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: p }),
        deps,
      );
      expect(!v.allowed && v.message).toContain(
        `pod ${ns}/agent: this ephemeralcontainers update would expose the scopekeeper sidecar's credentials`,
      );
      expect(!v.allowed && v.message).toContain(expected);
    }
  });

  test('a harmless debug container, targeting the app, passes', async () => {
    const p = injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    expect(
      await validatePod(
        podRequest('locked', withDebugger(p, { targetContainerName: 'app' }), {
          operation: 'UPDATE',
          subResource: 'ephemeralcontainers',
          oldObject: p,
        }),
        deps,
      ),
    ).toEqual({ allowed: true });
  });

  test.each([
    ['shareProcessNamespace', (p: V1Pod) => (p.spec!.shareProcessNamespace = true), 'spec.shareProcessNamespace is true'],
    ['hostPID', (p: V1Pod) => (p.spec!.hostPID = true), 'spec.hostPID is true'],
    [
      "a hostPath of the kubelet's pod directories",
      (p: V1Pod) => p.spec!.volumes!.push({ name: 'host', hostPath: { path: '/var/lib/kubelet/pods' } }),
      'volume "host" is hostPath /var/lib/kubelet/pods, which reaches /var/lib/kubelet on the node',
    ],
    [
      'a hostPath of a parent (/var//lib/)',
      (p: V1Pod) => p.spec!.volumes!.push({ name: 'host', hostPath: { path: '/var//lib/' } }),
      'volume "host" is hostPath /var//lib/, which reaches /var/lib/kubelet',
    ],
    [
      'a hostPath of /',
      (p: V1Pod) => p.spec!.volumes!.push({ name: 'host', hostPath: { path: '/' } }),
      'volume "host" is hostPath /, which reaches /var/lib/kubelet',
    ],
    [
      'a hostPath of /proc/1/root',
      (p: V1Pod) => p.spec!.volumes!.push({ name: 'host', hostPath: { path: '/proc/1/root' } }),
      'which reaches /proc on the node',
    ],
    [
      "an app running as the sidecar's uid",
      (p: V1Pod) => (p.spec!.containers[0]!.securityContext = { runAsUser: 65532 }),
      `container "app" runs as uid 65532, the sidecar's (securityContext.runAsUser)`,
    ],
    [
      "a pod-level runAsUser of the sidecar's uid",
      (p: V1Pod) => (p.spec!.securityContext = { runAsUser: 65532 }),
      `container "app" runs as uid 65532, the sidecar's (inherited from spec.securityContext.runAsUser)`,
    ],
    ['a privileged app', (p: V1Pod) => (p.spec!.containers[0]!.securityContext = { privileged: true }), 'container "app" is privileged'],
    [
      "an app that adds DAC_READ_SEARCH (open_by_handle_at reads the node's files; before: allowed)",
      (p: V1Pod) => (p.spec!.containers[0]!.securityContext = { capabilities: { add: ['NET_BIND_SERVICE', 'DAC_READ_SEARCH'] } }),
      'container "app" adds the capability DAC_READ_SEARCH, which reaches past the container',
    ],
    [
      'an init container that adds cap_sys_admin (before: allowed)',
      (p: V1Pod) =>
        (p.spec!.initContainers = [
          ...(p.spec!.initContainers ?? []),
          { name: 'setup', image: 'x', securityContext: { capabilities: { add: ['cap_sys_admin'] } } },
        ]),
      'initContainer "setup" adds the capability cap_sys_admin',
    ],
    [
      'hostNetwork (before: allowed on a pod that was injected elsewhere)',
      (p: V1Pod) => (p.spec!.hostNetwork = true),
      "spec.hostNetwork is true, so the sidecar's 127.0.0.1 ports and its traffic are the node's",
    ],
    [
      'hostAliases naming the upstream (before: allowed; the sidecar sent the key to the app)',
      (p: V1Pod) => (p.spec!.hostAliases = [{ ip: '127.0.0.1', hostnames: ['api.anthropic.com', 'crm.team-a.svc'] }]),
      'spec.hostAliases maps host names for every container, the sidecar',
    ],
    [
      'a resolver of its own (before: allowed)',
      (p: V1Pod) => {
        p.spec!.dnsPolicy = 'None';
        p.spec!.dnsConfig = { nameservers: ['127.0.0.1'] };
      },
      'spec.dnsConfig sets the resolver of every container',
    ],
    [
      'a hostPath a symlink on the node can point anywhere (/tmp/kl; before: allowed)',
      (p: V1Pod) => p.spec!.volumes!.push({ name: 'kl', hostPath: { path: '/tmp/kl' } }),
      'volume "kl" is hostPath /tmp/kl: the node follows symlinks in it',
    ],
    [
      "a hostPath of CRI-O's socket by its /var/run name (before: allowed)",
      (p: V1Pod) => p.spec!.volumes!.push({ name: 'crio', hostPath: { path: '/var/run/crio/crio.sock' } }),
      'volume "crio" is hostPath /var/run/crio/crio.sock, which reaches /var/run/crio on the node',
    ],
  ])('an injected pod with %s is refused (enforced or not)', async (_what, change, expected) => {
    for (const ns of ['locked', 'team-a']) {
      const p = injectedIn(ns);
      change(p);
      const v = await validatePod(podRequest(ns, p), deps);
      expect(!v.allowed && v.message).toContain(expected);
    }
  });

  test('a hostPath inside sidecar.allowedHostPaths (/var/log/app), and an app with its own uid, pass; outside it, refused', async () => {
    const p = injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    p.spec!.volumes!.push({ name: 'logs', hostPath: { path: '/var/log/app/' } });
    p.spec!.containers[0]!.securityContext = { runAsUser: 1000 };
    const allowing = { ...deps, injection: { ...injection, allowedHostPaths: ['/var/log/app', '/srv/data'] } };
    expect(await validatePod(podRequest('locked', p), allowing)).toEqual({ allowed: true });
    const v = await validatePod(podRequest('locked', p), deps);
    expect(!v.allowed && v.message).toContain('volume "logs" is hostPath /var/log/app/: the node follows symlinks in it');
    p.spec!.volumes!.push({ name: 'near', hostPath: { path: '/var/log/application' } });
    const near = await validatePod(podRequest('locked', p), allowing);
    expect(!near.allowed && near.message).toContain('volume "near" is hostPath /var/log/application');
    // a protected path stays refused even when an allowed directory holds it
    const wide = { ...deps, injection: { ...injection, allowedHostPaths: ['/var'] } };
    p.spec!.volumes!.splice(-1, 1, { name: 'kubelet', hostPath: { path: '/var/lib/kubelet/pods' } });
    const k = await validatePod(podRequest('locked', p), wide);
    expect(!k.allowed && k.message).toContain('which reaches /var/lib/kubelet on the node');
  });

  test('an update may not change the sidecar, nor drop the injected marks; other updates pass', async () => {
    for (const ns of ['locked', 'team-a']) {
      const p = injectedIn(ns);
      const swapped = structuredClone(p);
      swapped.spec!.initContainers![0]!.image = 'attacker/exfil:1';
      const v = await validatePod(podRequest(ns, swapped, { operation: 'UPDATE', oldObject: p }), deps);
      expect(!v.allowed && v.message).toBe(
        `pod ${ns}/agent: an update may not change the scopekeeper sidecar (it changes image of container scopekeeper-sidecar); it holds the upstream key. ` +
          "Leave container scopekeeper-sidecar as injected; to run another sidecar, change the operator's injection config and re-create the pod.",
      );
      const unlabelled = structuredClone(p);
      delete unlabelled.metadata!.labels!['scopekeeper.dev/injected'];
      const u = await validatePod(podRequest(ns, unlabelled, { operation: 'UPDATE', oldObject: p }), deps);
      expect(!u.allowed && u.message).toContain(
        'an update may not change the label scopekeeper.dev/injected or the annotation scopekeeper.dev/status of an injected pod',
      );
      const app = structuredClone(p);
      app.spec!.containers[0]!.image = 'agent:2';
      app.metadata!.labels!.team = 'support';
      expect(await validatePod(podRequest(ns, app, { operation: 'UPDATE', oldObject: p }), deps)).toEqual({ allowed: true });
    }
  });

  test('in a namespace that is not enforced, a pod that is not injected passes whatever it does', async () => {
    const p: V1Pod = {
      metadata: { name: 'x', namespace: 'team-a' },
      spec: { shareProcessNamespace: true, containers: [{ name: 'app', image: 'x', envFrom: [{ secretRef: { name: 'anthropic-key' } }] }] },
    };
    expect(await validatePod(podRequest('team-a', p), deps)).toEqual({ allowed: true });
  });

  test('kube-system is never enforced; an unknown namespace fails closed with a retry hint', async () => {
    expect(await validatePod(podRequest('kube-system', plain()), deps)).toEqual({ allowed: true });
    const v = await validatePod(podRequest('fresh', plain()), deps);
    expect(!v.allowed && v.message).toContain('namespace fresh is not known to the scopekeeper webhook yet');
  });

  test('pod names from generateName are shown as a prefix', async () => {
    const p = plain();
    p.metadata = { generateName: 'agent-7d9f-', namespace: 'locked' };
    const v = await validatePod(podRequest('locked', p), deps);
    expect(!v.allowed && v.message).toMatch(/^pod locked\/agent-7d9f-\* is not injected/);
  });
});

test('validate() dispatches by kind and lets other kinds through', async () => {
  expect((await validate(podRequest('locked', plain()), deps)).allowed).toBe(false);
  expect((await validate(arRequest('mallory@example.com', [], approved({ reviewer: 'mallory@example.com' })), deps)).allowed).toBe(false);
  expect(await validate({ ...podRequest('locked', plain()), kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }, deps)).toEqual({
    allowed: true,
  });
});

describe('/validate-accessreview: subjects, requesters and service accounts', () => {
  const both: ModelScope = {
    ...scope,
    spec: {
      ...scope.spec,
      subjects: [
        { kind: 'ServiceAccount', name: 'support-bot' },
        { kind: 'Group', name: 'support-engineers' },
        { kind: 'User', name: 'Erin@Example.com' },
      ],
      review: {
        reviewers: [
          { kind: 'Group', name: 'security-leads' },
          { kind: 'User', name: 'erin@example.com' },
          { kind: 'User', name: 'system:serviceaccount:team-a:support-bot' },
        ],
      },
    },
  };
  const d = { ...deps, getScope: () => both };
  const run = async (user: string, groups: string[], object: AccessReview, oldObject?: AccessReview) => {
    const req = arRequest(user, groups, object, oldObject);
    const stamped = applyPatch(object, mutateAccessReview(req, Date.parse('2026-11-01T10:00:00Z')));
    return validateAccessReview({ ...req, object: stamped }, d);
  };

  test.each([
    ['a User subject (names compared case-insensitively)', 'erin@example.com', [], 'spec.subjects names User Erin@Example.com'],
    [
      'a member of a subject Group',
      'carol@example.com',
      ['security-leads', 'support-engineers'],
      'spec.subjects names Group support-engineers, and you are in it',
    ],
    ['the subject ServiceAccount', 'system:serviceaccount:team-a:support-bot', [], 'spec.subjects names ServiceAccount team-a/support-bot'],
  ])('%s may not decide, even as a reviewer', async (_who, user, groups, why) => {
    const v = await run(user, groups, approved(), review());
    expect(!v.allowed && v.message).toBe(
      `User ${user} may not approve AccessReview team-a/support-agent-2026q4: they are a subject of ModelScope team-a/support-agent (${why}), so the decision would be about their own access. ` +
        'One of the reviewers (Group security-leads, User erin@example.com, User system:serviceaccount:team-a:support-bot) who is not a subject of the scope must decide it.',
    );
  });

  test('a reviewer who is not a subject approves', async () => {
    expect(await run('carol@example.com', ['security-leads'], approved(), review())).toEqual({ allowed: true });
  });

  test('an Approved review created with someone else as requestedBy is stamped with the creator, then refused as their own', async () => {
    const v = await run('carol@example.com', ['security-leads'], approved({ requestedBy: 'dave@example.com' }));
    expect(!v.allowed && v.message).toContain('it is their own request (spec.requestedBy is carol@example.com)');
  });

  test('without the mutating webhook a forged requestedBy is refused at creation', async () => {
    const v = await validateAccessReview(arRequest('mallory@example.com', [], review({ requestedBy: 'alice@example.com' })), d);
    expect(!v.allowed && v.message).toContain(
      'spec.requestedBy must be the user who creates the review (mallory@example.com), but it is "alice@example.com"',
    );
  });

  test.each([
    ['requestedBy', { requestedBy: 'dave@example.com' }],
    ['the scope', { scopeRef: { name: 'other' } }],
    ['the type', { type: 'JustInTime' as const, request: { subject: { kind: 'User' as const, name: 'x' } } }],
  ])('%s cannot change after creation', async (_what, over) => {
    const v = await validateAccessReview(arRequest('carol@example.com', ['security-leads'], review(over), review()), d);
    expect(!v.allowed && v.message).toMatch(
      /^User carol@example.com may not change spec\.\w+.* of AccessReview team-a\/support-agent-2026q4: what a review is about and who asked for it are fixed when it is created/,
    );
  });

  const jit = (request: NonNullable<AccessReview['spec']['request']>, over: Partial<AccessReview['spec']> = {}) =>
    review({ type: 'JustInTime', requestedBy: undefined, request, ...over });
  const bot = 'system:serviceaccount:team-a:support-bot';
  const self = { kind: 'ServiceAccount' as const, name: 'support-bot' };

  test("the sidecar's service account creates a Pending JustInTime review for itself, exact names", async () => {
    expect(
      await run(
        bot,
        ['system:serviceaccounts', 'system:serviceaccounts:team-a'],
        jit({ subject: self, model: 'claude-opus-4-1', tools: ['Bash'], reason: 'INC-1' }),
      ),
    ).toEqual({ allowed: true });
    expect(await run(bot, [], jit({ subject: { ...self, namespace: 'team-a' }, model: 'claude-opus-4-1' }))).toEqual({ allowed: true });
  });

  test.each([
    [
      'for a person',
      { subject: { kind: 'User' as const, name: 'frank@example.com' }, model: 'claude-opus-4-1' },
      {},
      'spec.request.subject must be the service account itself (ServiceAccount team-a/support-bot), not User frank@example.com',
    ],
    [
      'for another service account',
      { subject: { kind: 'ServiceAccount' as const, name: 'admin-bot' }, model: 'claude-opus-4-1' },
      {},
      'spec.request.subject must be the service account itself (ServiceAccount team-a/support-bot), not ServiceAccount admin-bot',
    ],
    [
      'for itself in another namespace',
      { subject: { ...self, namespace: 'team-b' }, model: 'claude-opus-4-1' },
      {},
      'spec.request.subject must be the service account itself (ServiceAccount team-a/support-bot), not ServiceAccount team-b/support-bot',
    ],
    [
      'with a model pattern',
      { subject: self, model: 'claude-*' },
      {},
      'spec.request.model must be an exact model name, not the pattern "claude-*"',
    ],
    [
      'with tool patterns',
      { subject: self, model: 'claude-opus-4-1', tools: ['Read', 'mcp__*', 'B?sh'] },
      {},
      'spec.request.tools must be exact tool names, not the patterns "mcp__*", "B?sh"',
    ],
    [
      'already Approved',
      { subject: self, model: 'claude-opus-4-1' },
      { decision: 'Approved' as const, expiresAt: '2026-11-01T11:00:00Z', justification: 'me' },
      'spec.decision must be Pending (got Approved)',
    ],
  ])('a service account may not create one %s', async (_what, request, over, why) => {
    const v = await run(bot, [], jit(request, over));
    expect(!v.allowed && v.message).toContain(
      `ServiceAccount team-a/support-bot may not create JustInTime AccessReview team-a/support-agent-2026q4: ${why}`,
    );
    expect(!v.allowed && v.message).toContain(
      'A service account (the sidecar holding a request) may only ask, Pending, for its own access to one exact model and exact tools.',
    );
  });

  test('a person may still open a JustInTime review for someone else (an approver decides it)', async () => {
    expect(
      await run('dave@example.com', [], jit({ subject: { kind: 'User', name: 'frank@example.com' }, model: 'claude-opus-*' })),
    ).toEqual({ allowed: true });
  });
});

describe('/validate-pod at its edges', () => {
  const ns = (name: string, labels?: Record<string, string>): NamespaceLike => ({ metadata: labels ? { name, labels } : { name } });
  const noListing: ValidationDeps = {
    getScope: deps.getScope,
    getNamespace: async (name) => (name === 'bare' ? ns('bare') : namespaces[name]),
    injection,
  };
  const message = (v: Awaited<ReturnType<typeof validatePod>>) => (v.allowed ? '(allowed)' : v.message);
  const leaky = (p: V1Pod): V1Pod => {
    p.spec!.containers[0]!.envFrom = [{ secretRef: { name: 'anthropic-key' } }];
    return p;
  };
  const EXPOSED = `container "app" reads the upstream key Secret "anthropic-key" through envFrom: remove the envFrom secretRef anthropic-key`;
  const CREDENTIALS =
    'Only the scopekeeper sidecar may hold the upstream key and its service tokens; the app calls http://127.0.0.1:15180 (ANTHROPIC_BASE_URL) with the token in $SCOPEKEEPER_TOKEN_FILE instead.';

  test.each([
    ['the injected label alone', (p: V1Pod) => (p.metadata!.labels = { 'scopekeeper.dev/injected': 'true' })],
    ['the status annotation alone', (p: V1Pod) => (p.metadata!.annotations = { 'scopekeeper.dev/status': 'injected' })],
    ['a container named like the sidecar alone', (p: V1Pod) => p.spec!.containers.push({ name: 'scopekeeper-sidecar', image: 'x' })],
  ])('outside an enforced namespace, a pod marked injected by %s is checked for exposures', async (_how, mark) => {
    const p = leaky(plain());
    p.metadata!.namespace = 'team-a';
    mark(p);
    expect(message(await validatePod(podRequest('team-a', p), deps))).toContain(
      `pod team-a/agent would expose the scopekeeper sidecar's credentials (the pod is injected with the scopekeeper sidecar): ${EXPOSED}. ${CREDENTIALS}`,
    );
    // unmarked, the same pod is none of scopekeeper's business there
    expect(await validatePod(podRequest('team-a', leaky(plain())), deps)).toEqual({ allowed: true });
  });

  test('two problems are one refusal, joined by "Also:"', async () => {
    const v = await validatePod(podRequest('locked', leaky(plain())), deps);
    expect(message(v)).toBe(
      'pod locked/agent is not injected with the scopekeeper sidecar, and namespace locked is labelled scopekeeper.dev/enforce=true: every pod there must run it. ' +
        'Add the annotation scopekeeper.dev/inject: "true" to the pod (for a Deployment: spec.template.metadata.annotations). ' +
        `Also: pod locked/agent would expose the scopekeeper sidecar's credentials (namespace locked is labelled scopekeeper.dev/enforce=true): ${EXPOSED}. ${CREDENTIALS}`,
    );
  });

  test('the whole sentence for an opted-out pod, a missed injection and a look-alike sidecar', async () => {
    expect(message(await validatePod(podRequest('locked', plain({ 'scopekeeper.dev/inject': 'false' })), deps))).toBe(
      'pod locked/agent opts out of the scopekeeper sidecar (scopekeeper.dev/inject: "false"), but namespace locked is labelled scopekeeper.dev/enforce=true: every pod there must run it. ' +
        'Set scopekeeper.dev/inject: "true" on the pod (for a Deployment: spec.template.metadata.annotations).',
    );
    expect(message(await validatePod(podRequest('locked', plain({ 'scopekeeper.dev/inject': 'true' })), deps))).toBe(
      'pod locked/agent asks for the scopekeeper sidecar but does not carry it, and namespace locked is labelled scopekeeper.dev/enforce=true: the injection webhook did not run. ' +
        'Check that the scopekeeper operator is running and its MutatingWebhookConfiguration "scopekeeper" is installed, then create the pod again.',
    );
    const p = injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    p.spec!.initContainers![0]!.image = 'attacker/exfil:latest';
    expect(message(await validatePod(podRequest('locked', p), deps))).toMatch(
      /\) and namespace locked is labelled scopekeeper\.dev\/enforce=true\. Remove that container \(and the injected volumes\) from the pod spec and let the webhook inject the sidecar\.$/,
    );
  });

  test('a forged status annotation without the sidecar is not injected', async () => {
    const forged = plain({ 'scopekeeper.dev/inject': 'true', 'scopekeeper.dev/status': 'injected' });
    expect(message(await validatePod(podRequest('locked', forged), deps))).toContain(
      'asks for the scopekeeper sidecar but does not carry it',
    );
  });

  test('only CREATE and UPDATE are checked; status writes pass', async () => {
    for (const operation of ['DELETE', 'CONNECT'] as const) {
      expect(await validatePod(podRequest('locked', leaky(plain()), { operation }), deps)).toEqual({ allowed: true });
    }
    const p = leaky(plain());
    expect(await validatePod(podRequest('locked', p, { operation: 'UPDATE', subResource: 'status', oldObject: p }), deps)).toEqual({
      allowed: true,
    });
  });

  test('a pod without a spec is a 400; the namespace comes from the pod when the request has none', async () => {
    expect(await validatePod(podRequest('locked', { metadata: { name: 'x' } }), deps)).toEqual({
      allowed: false,
      code: 400,
      message: 'the Pod has no spec',
    });
    expect(message(await validatePod(podRequest('', plain()), deps))).toMatch(/^pod locked\/agent is not injected/);
  });

  test('a namespace without labels is not enforced; no scope listing is no reserved audience', async () => {
    expect(await validatePod(podRequest('bare', leaky(plain())), noListing)).toEqual({ allowed: true });
    expect(message(await validatePod(podRequest('locked', leaky(injected(plain({ 'scopekeeper.dev/inject': 'true' })))), noListing))).toBe(
      `pod locked/agent would expose the scopekeeper sidecar's credentials (namespace locked is labelled scopekeeper.dev/enforce=true): ${EXPOSED}. ${CREDENTIALS}`,
    );
  });

  describe('updates', () => {
    const base = () => injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    const update = (pod: V1Pod, old: V1Pod, over: Partial<AdmissionRequest> = {}) =>
      validatePod(podRequest('locked', pod, { operation: 'UPDATE', oldObject: old, ...over }), deps);
    const SIDE = (change: string) =>
      `pod locked/agent: an update may not change the scopekeeper sidecar (${change}); it holds the upstream key. ` +
      "Leave container scopekeeper-sidecar as injected; to run another sidecar, change the operator's injection config and re-create the pod.";

    test('removing, adding or moving the sidecar container', async () => {
      const old = base();
      const removed = structuredClone(old);
      removed.spec!.initContainers = [];
      expect(message(await update(removed, old))).toContain(SIDE('it removes container scopekeeper-sidecar'));
      const moved = structuredClone(old);
      moved.spec!.initContainers!.unshift({ name: 'setup', image: 'busybox' });
      expect(message(await update(moved, old))).toContain(SIDE('it moves container scopekeeper-sidecar'));
      const toApp = structuredClone(old);
      toApp.spec!.containers.push(toApp.spec!.initContainers!.shift()!);
      expect(message(await update(toApp, old))).toContain(SIDE('it moves container scopekeeper-sidecar'));
      const plainOld = plain();
      const added = structuredClone(plainOld);
      added.spec!.containers.push({ name: 'scopekeeper-sidecar', image: 'x' });
      expect(message(await update(added, plainOld))).toContain(SIDE('it adds a container named scopekeeper-sidecar'));
    });

    test('the changed fields of the sidecar are listed in order', async () => {
      const old = base();
      const changed = structuredClone(old);
      changed.spec!.initContainers![0]!.image = 'attacker/exfil:1';
      changed.spec!.initContainers![0]!.workingDir = '/tmp';
      expect(message(await update(changed, old))).toBe(SIDE('it changes image, workingDir of container scopekeeper-sidecar'));
      const added = structuredClone(old);
      added.spec!.initContainers![0]!.workingDir = '/tmp';
      added.spec!.initContainers![0]!.image = 'attacker/exfil:1';
      expect(message(await update(added, old))).toBe(SIDE('it changes image, workingDir of container scopekeeper-sidecar'));
    });

    test('dropping the marks: the labels object or only the status annotation', async () => {
      const old = base();
      const noLabels = structuredClone(old);
      delete noLabels.metadata!.labels;
      expect(message(await update(noLabels, old))).toBe(
        'pod locked/agent: an update may not change the label scopekeeper.dev/injected or the annotation scopekeeper.dev/status of an injected pod: the webhooks find injected pods by them. Put them back as they were.',
      );
      const noStatus = structuredClone(old);
      delete noStatus.metadata!.annotations!['scopekeeper.dev/status'];
      expect(message(await update(noStatus, old))).toContain('may not change the label scopekeeper.dev/injected or the annotation');
      const noAnnotations = structuredClone(old);
      delete noAnnotations.metadata!.annotations;
      expect(message(await update(noAnnotations, old))).toContain('may not change the label scopekeeper.dev/injected or the annotation');
      // a pod that was never injected has no marks to keep
      const unmarkedOld = plain();
      unmarkedOld.metadata!.namespace = 'team-a';
      const relabelled = structuredClone(unmarkedOld);
      relabelled.metadata!.labels = { team: 'x' };
      expect(await validatePod(podRequest('team-a', relabelled, { operation: 'UPDATE', oldObject: unmarkedOld }), deps)).toEqual({
        allowed: true,
      });
    });

    test('only what an update adds is refused; an exposure the pod already had does not block other updates', async () => {
      const old = base();
      old.spec!.hostPID = true;
      const next = structuredClone(old);
      next.spec!.containers[0]!.image = 'agent:2';
      expect(await update(next, old)).toEqual({ allowed: true });
      const worse = structuredClone(next);
      worse.spec!.containers[0]!.envFrom = [{ secretRef: { name: 'anthropic-key' } }];
      expect(message(await update(worse, old))).toBe(
        `pod locked/agent: this update would expose the scopekeeper sidecar's credentials (namespace locked is labelled scopekeeper.dev/enforce=true): ${EXPOSED}. ${CREDENTIALS}`,
      );
    });
  });
});

describe('/validate-accessreview and /mutate-accessreview at their edges', () => {
  test('serviceAccountOf: exactly system:serviceaccount:<namespace>:<name>', () => {
    expect(serviceAccountOf('system:serviceaccount:team-a:bot')).toEqual({ namespace: 'team-a', name: 'bot' });
    for (const u of [
      'system:serviceaccount:team-a',
      'system:serviceaccount::bot',
      'system:serviceaccount:team-a:',
      'system:serviceaccount:a:b:c',
      'bot',
      'x:system:serviceaccount:a:b',
    ]) {
      expect(serviceAccountOf(u)).toBeUndefined();
    }
  });

  test('mutate: only AccessReviews, only CREATE and UPDATE, only with a spec', () => {
    const req = arRequest('carol@example.com', [], approved());
    expect(mutateAccessReview({ ...req, kind: { group: '', version: 'v1', kind: 'Pod' } })).toEqual([]);
    expect(mutateAccessReview({ ...req, kind: undefined as unknown as AdmissionRequest['kind'] })).toEqual([]);
    expect(mutateAccessReview({ ...req, operation: 'DELETE' })).toEqual([]);
    expect(mutateAccessReview({ ...req, object: { metadata: { name: 'x' } } })).toEqual([]);
    expect(mutateAccessReview({ ...req, object: undefined })).toEqual([]);
  });

  test('mutate: a request without userInfo stamps the empty user; an UPDATE of a review created without requestedBy removes a forged one', () => {
    const req = arRequest('carol@example.com', [], review({ requestedBy: 'x' }));
    expect(mutateAccessReview({ ...req, userInfo: undefined as unknown as AdmissionRequest['userInfo'] }, 0)).toEqual([
      { op: 'add', path: '/spec/requestedBy', value: '' },
    ]);
    const old = review({ requestedBy: undefined });
    expect(mutateAccessReview(arRequest('carol@example.com', [], review({ requestedBy: 'forged' }), old), 0)).toEqual([
      { op: 'remove', path: '/spec/requestedBy' },
    ]);
    expect(
      mutateAccessReview(
        arRequest('carol@example.com', [], review({ requestedBy: 'forged' }), { ...old, spec: undefined } as unknown as AccessReview),
        0,
      ),
    ).toEqual([{ op: 'remove', path: '/spec/requestedBy' }]);
    expect(mutateAccessReview(arRequest('carol@example.com', [], review({ requestedBy: undefined }), old), 0)).toEqual([]);
  });

  test('isDecision: an UPDATE without the old object counts; other operations never', () => {
    expect(isDecision('UPDATE', approved(), undefined)).toBe(true);
    expect(isDecision('CONNECT', approved(), approved())).toBe(false);
    expect(isDecision('CREATE', undefined, undefined)).toBe(false);
    expect(isDecision('CREATE', { metadata: { name: 'x' } } as AccessReview, undefined)).toBe(false);
  });

  test('validate: only CREATE and UPDATE; a review without a spec is a 400', async () => {
    expect(await validateAccessReview({ ...arRequest('mallory@example.com', [], approved()), operation: 'DELETE' }, deps)).toEqual({
      allowed: true,
    });
    expect(await validateAccessReview(arRequest('carol@example.com', [], { metadata: { name: 'x' } } as AccessReview), deps)).toEqual({
      allowed: false,
      code: 400,
      message: 'the AccessReview has no spec',
    });
  });

  test('a decision without an authenticated user', async () => {
    const req = arRequest('', [], approved({ requestedBy: '', reviewer: '' }));
    expect(await validateAccessReview({ ...req, userInfo: undefined as unknown as AdmissionRequest['userInfo'] }, deps)).toEqual({
      allowed: false,
      code: 403,
      message: 'AccessReview team-a/support-agent-2026q4: a decision needs an authenticated user; the request has none.',
    });
  });

  test('the review is named from the request, then generateName, when it has no name yet', async () => {
    const unnamed = {
      ...approved({ requestedBy: 'x' }),
      metadata: { namespace: 'team-a', generateName: 'support-agent-' },
    } as unknown as AccessReview;
    const req = arRequest('carol@example.com', ['security-leads'], unnamed);
    const byGenerate = await validateAccessReview({ ...req, name: undefined, namespace: '' }, deps);
    expect(!byGenerate.allowed && byGenerate.message).toMatch(/^AccessReview team-a\/support-agent-\*: spec\.requestedBy must be/);
    const byName = await validateAccessReview({ ...req, name: 'from-request' }, deps);
    expect(!byName.allowed && byName.message).toMatch(/^AccessReview team-a\/from-request: /);
  });

  test('whole sentences: immutable fields, a missing scope, a scope without deciders, a decider not listed, their own request', async () => {
    const v1 = await validateAccessReview(
      arRequest('carol@example.com', ['security-leads'], review({ scopeRef: { name: 'other' }, requestedBy: 'z' }), review()),
      deps,
    );
    expect(!v1.allowed && v1.message).toBe(
      'User carol@example.com may not change spec.scopeRef, spec.requestedBy of AccessReview team-a/support-agent-2026q4: what a review is about and who asked for it are fixed when it is created. Create a new AccessReview for other access.',
    );
    const missing = await decide(
      'carol@example.com',
      ['security-leads'],
      approved({ scopeRef: { name: 'gone' } }),
      review({ scopeRef: { name: 'gone' } }),
    );
    expect(!missing.verdict.allowed && missing.verdict.message).toBe(
      'User carol@example.com may not approve AccessReview team-a/support-agent-2026q4: it refers to ModelScope "gone", which does not exist in namespace team-a, so nobody can be its reviewers. Create the ModelScope (or fix spec.scopeRef.name), then decide the review.',
    );
    const noDeciders = { ...deps, getScope: () => ({ ...scope, spec: { ...scope.spec, approval: { requiredFor: { models: ['x'] } } } }) };
    const jitReview = review({ type: 'JustInTime', request: { subject: { kind: 'User', name: 'zed@example.com' }, model: 'x' } });
    const req = arRequest(
      'frank@example.com',
      [],
      { ...jitReview, spec: { ...jitReview.spec, decision: 'Approved', reviewer: 'frank@example.com' } },
      jitReview,
    );
    const v3 = await validateAccessReview(req, noDeciders);
    expect(!v3.allowed && v3.message).toBe(
      'User frank@example.com may not approve AccessReview team-a/support-agent-2026q4: ModelScope team-a/support-agent names no approvers (spec.approval.approvers). Add the people or groups who may decide to the scope first.',
    );
    const revoking = await decide('mallory@example.com', [], review({ decision: 'Revoked' }), approved({ reviewer: 'carol@example.com' }));
    expect(!revoking.verdict.allowed && revoking.verdict.message).toBe(
      'User mallory@example.com may not revoke AccessReview team-a/support-agent-2026q4: only the reviewers of ModelScope team-a/support-agent may (spec.review.reviewers: Group security-leads, User erin@example.com). Ask one of them to decide it.',
    );
    const own = await decide(
      'erin@example.com',
      [],
      approved({ expiresAt: '2027-02-01T00:00:00Z' }),
      approved({ reviewer: 'carol@example.com', requestedBy: 'erin@example.com' }),
    );
    expect(!own.verdict.allowed && own.verdict.message).toBe(
      'User erin@example.com may not change the Approved AccessReview team-a/support-agent-2026q4: it is their own request (spec.requestedBy is erin@example.com). Another of the reviewers of ModelScope team-a/support-agent (Group security-leads, User erin@example.com) must decide it.',
    );
  });

  test('a subject is matched by its kind: a Group or User named like the decider is not the decider', async () => {
    const lookalikes: ModelScope = {
      ...scope,
      spec: {
        ...scope.spec,
        subjects: [
          { kind: 'Group', name: 'carol@example.com' },
          { kind: 'User', name: 'support-bot' },
          { kind: 'ServiceAccount', name: 'support-bot', namespace: 'team-b' },
        ],
        review: {
          reviewers: [
            { kind: 'Group', name: 'security-leads' },
            { kind: 'User', name: 'system:serviceaccount:team-a:support-bot' },
          ],
        },
      },
    };
    const d2 = { ...deps, getScope: () => lookalikes };
    for (const [user, groups] of [
      ['carol@example.com', ['security-leads']],
      ['system:serviceaccount:team-a:support-bot', []],
    ] as const) {
      const req = arRequest(user, [...groups], review());
      const stamped = applyPatch(
        approved(),
        mutateAccessReview({ ...req, object: approved(), oldObject: review(), operation: 'UPDATE' }, 0),
      );
      expect(await validateAccessReview({ ...req, object: stamped, oldObject: review(), operation: 'UPDATE' }, d2)).toEqual({
        allowed: true,
      });
    }
    // names are compared trimmed and case-insensitively
    const spaced = {
      ...deps,
      getScope: () => ({ ...lookalikes, spec: { ...lookalikes.spec, subjects: [{ kind: 'User' as const, name: ' Carol@Example.com ' }] } }),
    };
    const req = arRequest('carol@example.com', ['security-leads'], review());
    const stamped = applyPatch(approved(), mutateAccessReview({ ...req, object: approved(), oldObject: review(), operation: 'UPDATE' }, 0));
    const v = await validateAccessReview({ ...req, object: stamped, oldObject: review(), operation: 'UPDATE' }, spaced);
    expect(!v.allowed && v.message).toContain('(spec.subjects names User  Carol@Example.com )');
  });

  test('a service account may not create one without a request, nor with a subject of another kind', async () => {
    const bot = 'system:serviceaccount:team-a:support-bot';
    const noRequest = await validateAccessReview(arRequest(bot, [], review({ type: 'JustInTime', requestedBy: bot })), deps);
    expect(!noRequest.allowed && noRequest.message).toContain(
      'spec.request.subject must be the service account itself (ServiceAccount team-a/support-bot), not missing',
    );
    const group = await validateAccessReview(
      arRequest(bot, [], review({ type: 'JustInTime', requestedBy: bot, request: { subject: { kind: 'Group', name: 'support-bot' } } })),
      deps,
    );
    expect(!group.allowed && group.message).toContain('not Group support-bot');
    // a Periodic review, or an update, is not the service account's JustInTime request
    expect(await validateAccessReview(arRequest(bot, [], review({ requestedBy: bot })), deps)).toEqual({ allowed: true });
  });
});

describe('/validate-pod: pods and namespaces with parts missing, and the last update cases', () => {
  const message = (v: Awaited<ReturnType<typeof validatePod>>) => (v.allowed ? '(allowed)' : v.message);
  const sidecarOnly = (): V1Pod => {
    const p = injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    return { spec: p.spec };
  };

  test('a pod without metadata, or a request without a pod', async () => {
    expect(message(await validatePod(podRequest('locked', { spec: { containers: [{ name: 'app', image: 'x' }] } }), deps))).toMatch(
      /^pod locked\/\S* is not injected with the scopekeeper sidecar/,
    );
    expect(await validatePod(podRequest('locked', undefined as unknown as V1Pod), deps)).toEqual({
      allowed: false,
      code: 400,
      message: 'the Pod has no spec',
    });
    // its exact sidecar without the status annotation is not an injected pod
    expect(message(await validatePod(podRequest('locked', sidecarOnly()), deps))).toMatch(/is not injected with the scopekeeper sidecar/);
  });

  test('a namespace object without metadata is not enforced', async () => {
    const d = { ...deps, getNamespace: async () => ({}) as NamespaceLike };
    expect(await validatePod(podRequest('somewhere', plain()), d)).toEqual({ allowed: true });
  });

  test('updates of pods without labels or annotations, and of pods never injected in an enforced namespace', async () => {
    const old = sidecarOnly(); // injected by its container alone: no labels, no annotations
    expect(await validatePod(podRequest('locked', structuredClone(old), { operation: 'UPDATE', oldObject: old }), deps)).toEqual({
      allowed: true,
    });
    const never = plain();
    const next = structuredClone(never);
    next.metadata!.labels = { team: 'x' };
    expect(await validatePod(podRequest('locked', next, { operation: 'UPDATE', oldObject: never }), deps)).toEqual({ allowed: true });
  });

  test('a status write is never refused, whatever it carries', async () => {
    const old = injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    const next = structuredClone(old);
    next.spec!.containers[0]!.envFrom = [{ secretRef: { name: 'anthropic-key' } }];
    expect(await validatePod(podRequest('locked', next, { operation: 'UPDATE', subResource: 'status', oldObject: old }), deps)).toEqual({
      allowed: true,
    });
  });

  test('the sidecar moved to the other list at the same index; a field added and one changed, sorted; two update problems', async () => {
    const old = injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    const toApp = structuredClone(old);
    toApp.spec!.containers.unshift(toApp.spec!.initContainers!.shift()!);
    expect(message(await validatePod(podRequest('locked', toApp, { operation: 'UPDATE', oldObject: old }), deps))).toContain(
      '(it moves container scopekeeper-sidecar)',
    );
    const changed = structuredClone(old);
    changed.spec!.initContainers![0]!.image = 'attacker/exfil:1';
    changed.spec!.initContainers![0]!.command = ['/bin/sh']; // a field the injected sidecar does not have
    delete changed.metadata!.labels;
    expect(message(await validatePod(podRequest('locked', changed, { operation: 'UPDATE', oldObject: old }), deps))).toMatch(
      /\(it changes command, image of container scopekeeper-sidecar\); .* Also: pod locked\/agent: an update may not change the label scopekeeper\.dev\/injected/,
    );
  });
});

describe('the last edges of the webhooks', () => {
  test('serviceAccountOf needs the prefix itself, not any 22 characters before namespace:name', () => {
    expect(serviceAccountOf('abcdefghijklmnopqrstuvteam-a:bot')).toBeUndefined();
  });

  test('names are compared trimmed and case-insensitively on both sides; a User named like a group is not that group', async () => {
    const s2: ModelScope = {
      ...scope,
      spec: {
        ...scope.spec,
        subjects: [
          { kind: 'User', name: 'carol@example.com' },
          { kind: 'User', name: 'security-leads' },
        ],
      },
    };
    const d2 = { ...deps, getScope: () => s2 };
    const check = async (user: string) => {
      const req = arRequest(user, ['security-leads'], review());
      const stamped = applyPatch(
        approved(),
        mutateAccessReview({ ...req, object: approved(), oldObject: review(), operation: 'UPDATE' }, 0),
      );
      return validateAccessReview({ ...req, object: stamped, oldObject: review(), operation: 'UPDATE' }, d2);
    };
    const v = await check('Carol@Example.com ');
    expect(!v.allowed && v.message).toContain('(spec.subjects names User carol@example.com)');
    expect(await check('dan@example.com')).toEqual({ allowed: true });
  });

  test("a service account's request with two problems lists both, joined by '; '", async () => {
    const bot = 'system:serviceaccount:team-a:support-bot';
    const v = await validateAccessReview(
      arRequest(
        bot,
        [],
        review({
          type: 'JustInTime',
          requestedBy: bot,
          request: { subject: { kind: 'ServiceAccount', name: 'support-bot' }, model: 'claude-*', tools: ['B*'] },
        }),
      ),
      deps,
    );
    expect(!v.allowed && v.message).toContain(
      'spec.request.model must be an exact model name, not the pattern "claude-*"; spec.request.tools must be exact tool names, not the patterns "B*".',
    );
  });

  test('an update of an injected pod whose old object has metadata but no labels or annotations; a pod without metadata or namespace', async () => {
    const withSidecar = injected(plain({ 'scopekeeper.dev/inject': 'true' }));
    const old: V1Pod = { metadata: { name: 'agent' }, spec: withSidecar.spec };
    expect(await validatePod(podRequest('team-a', structuredClone(old), { operation: 'UPDATE', oldObject: old }), deps)).toEqual({
      allowed: true,
    });
    const v = await validatePod(podRequest('', { spec: { containers: [{ name: 'app', image: 'x' }] } }), deps);
    expect(!v.allowed && v.message).toMatch(/^namespace {2}is not known to the scopekeeper webhook yet/);
  });
});
