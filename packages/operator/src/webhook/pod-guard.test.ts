// Every exposure of the sidecar's credentials the pod guard knows, each with the fix the refusal
// tells the pod's author (what the validating webhook refuses and the injection warns about).
import type { V1Pod } from '@kubernetes/client-node';
import type { InjectionConfig } from './config.ts';
import { coversProtectedPath, describeExposures, exposureKey, podExposures, withinAllowed } from './pod-guard.ts';

const config: InjectionConfig = { image: 'scopekeeper:1', issuers: ['https://issuer'], upstreamKeySecret: 'anthropic-key' };

test('every exposure, with what it does and the fix', () => {
  const pod: V1Pod = {
    metadata: { name: 'p' },
    spec: {
      shareProcessNamespace: true,
      hostPID: true,
      securityContext: { runAsUser: 65532 },
      volumes: [
        { name: 'host', hostPath: { path: '/var/lib/kubelet' } },
        { name: 'tok', projected: { sources: [{ serviceAccountToken: { audience: 'crm.team-a', path: 't' } }] } },
        { name: 'scopekeeper-endpoint-tokens', projected: { sources: [{ serviceAccountToken: { audience: 'crm.team-a', path: 't' } }] } },
      ],
      containers: [
        {
          name: 'app',
          image: 'x',
          env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'anthropic-key', key: 'k' } } }],
          envFrom: [{ configMapRef: { name: 'cfg' } }, { secretRef: { name: 'anthropic-key' } }],
          volumeMounts: [{ name: 'scopekeeper-endpoint-tokens', mountPath: '/t' }],
          securityContext: { privileged: true },
        },
      ],
      ephemeralContainers: [
        { name: 'dbg', image: 'busybox', targetContainerName: 'scopekeeper-sidecar', securityContext: { runAsUser: 1 } },
      ],
    },
  };
  const found = podExposures(pod, config, ['crm.team-a']);
  expect(found).toEqual([
    {
      subject: 'spec.shareProcessNamespace',
      what: "is true, so every container sees the sidecar's processes and its files through /proc/<pid>/root",
      fix: 'remove shareProcessNamespace',
    },
    { subject: 'spec.hostPID', what: "is true, so the pod sees every process of the node, the sidecar's included", fix: 'remove hostPID' },
    {
      subject: 'volume "host"',
      what: "is hostPath /var/lib/kubelet, which reaches /var/lib/kubelet on the node (where the kubelet and the runtime keep every container's files and mounted Secrets)",
      fix: 'remove the volume or use a host directory outside /var/lib/kubelet',
    },
    {
      subject: 'volume "tok"',
      what: 'projects a service-account token for audience "crm.team-a", which endpoints[].auth of a ModelScope reserves for the sidecar',
      fix: 'remove that token source; the sidecar sends it on every request it forwards to that endpoint',
    },
    { subject: 'container "app"', what: 'reads the upstream key Secret "anthropic-key" through env K', fix: 'remove env K' },
    {
      subject: 'container "app"',
      what: 'reads the upstream key Secret "anthropic-key" through envFrom',
      fix: 'remove the envFrom secretRef anthropic-key',
    },
    {
      subject: 'container "app"',
      what: "mounts scopekeeper-endpoint-tokens, the sidecar's service tokens",
      fix: 'remove the volumeMount scopekeeper-endpoint-tokens',
    },
    {
      subject: 'container "app"',
      what: "runs as uid 65532, the sidecar's (inherited from spec.securityContext.runAsUser)",
      fix: 'run it as another uid',
    },
    {
      subject: 'container "app"',
      what: "is privileged, so it can read any file of the node, the key's included",
      fix: 'remove securityContext.privileged',
    },
    {
      subject: 'ephemeralContainer "dbg"',
      what: 'targets the sidecar (targetContainerName: scopekeeper-sidecar), whose processes and files it would share',
      fix: 'target the app container instead',
    },
  ]);
  expect(exposureKey(found[1]!)).toBe("spec.hostPID is true, so the pod sees every process of the node, the sidecar's included");
  expect(describeExposures(found.slice(0, 2))).toBe(
    "spec.shareProcessNamespace is true, so every container sees the sidecar's processes and its files through /proc/<pid>/root: remove shareProcessNamespace; " +
      "spec.hostPID is true, so the pod sees every process of the node, the sidecar's included: remove hostPID",
  );
});

test('a mount of the key volume names the fix; a pod without a spec exposes nothing', () => {
  const pod: V1Pod = {
    spec: {
      volumes: [{ name: 'k', secret: { secretName: 'anthropic-key' } }],
      containers: [{ name: 'app', image: 'x', volumeMounts: [{ name: 'k', mountPath: '/k' }] }],
    },
  };
  expect(podExposures(pod, config, [])).toEqual([
    {
      subject: 'container "app"',
      what: 'reads the upstream key Secret "anthropic-key" through volumeMount k at /k',
      fix: 'remove the volumeMount k',
    },
  ]);
  expect(podExposures({ metadata: { name: 'x' } }, config, [])).toEqual([]);
});

test('capabilities that reach the node are exposures, whatever their case or CAP_ prefix; others are not', () => {
  const withCaps = (add: string[]) =>
    podExposures({ spec: { containers: [{ name: 'app', image: 'x', securityContext: { capabilities: { add } } }] } }, config, []);
  for (const cap of [
    'ALL',
    'DAC_READ_SEARCH',
    'SYS_ADMIN',
    'SYS_MODULE',
    'SYS_RAWIO',
    'SYS_PTRACE',
    'BPF',
    'PERFMON',
    'cap_sys_admin',
    ' Cap_Bpf ',
  ])
    expect([cap, withCaps([cap]).map((e) => e.subject)]).toEqual([cap, ['container "app"']]);
  expect(withCaps(['NET_BIND_SERVICE', 'CHOWN', 'NET_ADMIN', 'CAP_NET_RAW'])).toEqual([]);
  expect(withCaps(['SYS_ADMIN', 'CHOWN', 'BPF'])).toEqual([
    {
      subject: 'container "app"',
      what: "adds the capabilities SYS_ADMIN, BPF, which reach past the container (open_by_handle_at, mounts, kernel modules, raw devices, eBPF, another process's memory) to the node's files, the key's included",
      fix: 'remove SYS_ADMIN, BPF from securityContext.capabilities.add',
    },
  ]);
  expect(withCaps(['SYS_PTRACE'])[0]!.what).toMatch(/^adds the capability SYS_PTRACE, which reaches past/);
  expect(withCaps(['SYS_PTRACE'])[0]!.fix).toBe('remove SYS_PTRACE from securityContext.capabilities.add');
});

test('envFrom a ConfigMap or another Secret is no exposure', () => {
  const pod: V1Pod = {
    spec: {
      containers: [{ name: 'app', image: 'x', envFrom: [{ configMapRef: { name: 'anthropic-key' } }, { secretRef: { name: 'other' } }] }],
    },
  };
  expect(podExposures(pod, config, [])).toEqual([]);
});

test('coversProtectedPath: the path itself, a parent, a child; not a sibling with the same prefix', () => {
  const paths = ['/var/lib/kubelet', '/proc'];
  expect(coversProtectedPath('/var/lib/kubelet', paths)).toBe('/var/lib/kubelet');
  expect(coversProtectedPath('/var/lib/kubelet/', paths)).toBe('/var/lib/kubelet');
  expect(coversProtectedPath('var/lib/kubelet', paths)).toBe('/var/lib/kubelet');
  expect(coversProtectedPath('/var/lib', paths)).toBe('/var/lib/kubelet');
  expect(coversProtectedPath('/', paths)).toBe('/var/lib/kubelet');
  expect(coversProtectedPath('/proc/1/root', paths)).toBe('/proc');
  expect(coversProtectedPath('/var/lib/kubelet-plugins', paths)).toBeUndefined();
  expect(coversProtectedPath('/var/lib/kubelet/../../log', paths)).toBeUndefined();
  expect(coversProtectedPath('/procfs', paths)).toBeUndefined();
});

test('withinAllowed: the directory itself and what lies inside it; not a sibling with the same prefix, not a parent', () => {
  expect(withinAllowed('/srv/data', ['/srv/data'])).toBe(true);
  expect(withinAllowed('srv//data/x/', ['/srv/data/'])).toBe(true);
  expect(withinAllowed('/srv/data-2', ['/srv/data'])).toBe(false);
  expect(withinAllowed('/srv', ['/srv/data'])).toBe(false);
  expect(withinAllowed('/srv/data/../../etc', ['/srv/data'])).toBe(false);
  expect(withinAllowed('/anything', ['/'])).toBe(true);
  expect(withinAllowed('/srv/data', [])).toBe(false);
});

test('the node network, host aliases and a resolver of the pod are exposures; dnsPolicy None alone too', () => {
  const pod = (spec: Partial<NonNullable<V1Pod['spec']>>): V1Pod => ({ spec: { containers: [{ name: 'app', image: 'x' }], ...spec } });
  expect(podExposures(pod({ dnsPolicy: 'None' }), config, []).map((e) => e.subject)).toEqual(['spec.dnsPolicy']);
  expect(
    podExposures(pod({ dnsPolicy: 'ClusterFirst', dnsConfig: { options: [{ name: 'ndots', value: '1' }] } }), config, []).map(
      (e) => e.subject,
    ),
  ).toEqual(['spec.dnsConfig']);
  expect(podExposures(pod({ hostNetwork: true, hostAliases: [] }), config, []).map((e) => e.subject)).toEqual(['spec.hostNetwork']);
  expect(podExposures(pod({ hostAliases: [{ ip: '10.0.0.1', hostnames: ['x'] }] }), config, []).map((e) => e.subject)).toEqual([
    'spec.hostAliases',
  ]);
  expect(podExposures(pod({ dnsPolicy: 'ClusterFirst', hostNetwork: false }), config, [])).toEqual([]);
});
