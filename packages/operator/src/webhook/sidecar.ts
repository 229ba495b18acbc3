// The sidecar the webhook injects, and the one test of whether a pod carries exactly that.
//
// "Exactly" means every field of the container (probes, lifecycle, command, workingDir, ports,
// env, mounts, securityContext, and any field a later Kubernetes adds) and every volume the
// injection adds, compared after filling in the defaults the API server writes when it stores a
// pod. A container that only borrows the name, or carries one extra hook, is not ours: the
// mutating webhook replaces it and the validating webhook refuses it.
import type { V1Container, V1Pod, V1Probe, V1ResourceRequirements, V1Volume } from '@kubernetes/client-node';
import type { InjectionConfig } from './config.ts';
import {
  ADMIN_PORT,
  ADMIN_PORT_NAME,
  ANNOTATION_SCOPE,
  DATA_PORT,
  DATA_PORT_NAME,
  ENDPOINT_TOKEN_DIR,
  ENDPOINT_TOKEN_VOLUME,
  KEY_DIR,
  KEY_FILE,
  KEY_SECRET_KEY,
  KEY_VOLUME,
  KUBE_API_DIR,
  KUBE_API_VOLUME,
  SIDECAR_NAME,
  SIDECAR_UID,
  TOKEN_AUDIENCE,
  TOKEN_EXPIRATION_SECONDS,
  TOKEN_PATH,
  TOKEN_VOLUME,
} from './constants.ts';
import { canonicalJson } from './jsonpatch.ts';

/**
 * The limit holds the heap bound (SIDECAR_NODE_OPTIONS) beside the bodies the sidecar holds whole
 * (--max-buffered-bytes, 24 MiB, of bodies up to --max-body-bytes, 16 MiB) and what parsing them
 * costs for a moment; e2e/pods/product.e2e.test.ts sends large bodies at once to a real pod.
 */
export const DEFAULT_SIDECAR_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { memory: '256Mi' },
};

/** Expiry of the sidecar's own API token: the value kube-api-access volumes use. */
const KUBE_API_TOKEN_SECONDS = 3607;

/** What the injection depends on besides the config: where the pod is and what it must reach. */
export interface PodPlan {
  /** `scopekeeper.dev/scope`, if the pod pins one. */
  scope: string | undefined;
  /**
   * Audiences of `endpoints[].auth.serviceAccountToken` the sidecar gets a token for: those of
   * the pinned scope, or of every ModelScope in the namespace when none is pinned (sorted, unique).
   */
  audiences: readonly string[];
}

export function podScope(pod: V1Pod): string | undefined {
  const s = pod.metadata?.annotations?.[ANNOTATION_SCOPE];
  return s === undefined || s === '' ? undefined : s;
}

/** The file (inside ENDPOINT_TOKEN_DIR) of the i-th audience of the plan. */
const endpointTokenPath = (i: number): string => `token-${i}`;

/**
 * V8 heap bounds for the sidecar (the same as SIDECAR_HEAP in bin/scopekeeper.js; a test checks
 * they agree): left alone, V8 grows the heap to hundreds of MB under load before it collects.
 * The young generation's 4 MB semi-space holds what a burst of requests in flight allocates, so
 * less of it is copied and promoted than with 2 MB (~8% less CPU per request at saturation in
 * bench/steady.ts, docs/benchmarks.md).
 */
export const SIDECAR_NODE_OPTIONS = '--max-semi-space-size=4 --max-old-space-size=96';

/**
 * glibc's malloc gives threads that allocate (V8's GC helpers, libuv's pool) arenas of their own,
 * each keeping memory it freed; two arenas take ~4 MB less RSS under load, which pays for the
 * larger semi-space (the same as bin/scopekeeper.js sets; a test checks they agree).
 */
export const SIDECAR_MALLOC_ARENA_MAX = '2';

/** The sidecar's arguments for a pod (the scope annotation becomes `--scope`). */
export function sidecarArgs(config: InjectionConfig, scope: string | undefined, audiences: readonly string[] = []): string[] {
  const args = ['sidecar', '--policy', 'kubernetes', '--namespace', '$(POD_NAMESPACE)', '--pod', '$(POD_NAME)'];
  for (const i of config.issuers) args.push('--issuer', i);
  if (config.issuerCAFile) args.push('--issuer-ca', config.issuerCAFile);
  if (config.serviceAccountIssuer) args.push('--service-account-issuer', config.serviceAccountIssuer);
  if (config.groupsClaim) args.push('--groups-claim', config.groupsClaim);
  for (const m of config.saml?.idpMetadata ?? []) args.push('--saml-idp-metadata', m);
  if (config.saml?.audience) args.push('--saml-audience', config.saml.audience);
  if (config.saml?.groupsAttribute) args.push('--saml-groups-attribute', config.saml.groupsAttribute);
  args.push('--upstream-key-file', KEY_FILE);
  if (config.upstream) args.push('--upstream', config.upstream);
  for (const a of config.audit?.length ? config.audit : ['stdout']) args.push('--audit', a);
  // The kubelet probes the pod IP, so the admin port (/healthz, /readyz, /metrics) listens on all
  // addresses; the data path stays on 127.0.0.1 (the sidecar's default), reachable from the pod only.
  args.push('--admin', `0.0.0.0:${ADMIN_PORT}`);
  if (scope) args.push('--scope', scope);
  audiences.forEach((a, i) => args.push('--endpoint-token', `${a}=${ENDPOINT_TOKEN_DIR}/${endpointTokenPath(i)}`));
  return args;
}

/** The container the webhook injects. */
export function sidecarContainer(config: InjectionConfig, plan: PodPlan, native: boolean): V1Container {
  const c: V1Container = {
    name: SIDECAR_NAME,
    image: config.image,
    ...(config.imagePullPolicy ? { imagePullPolicy: config.imagePullPolicy } : {}),
    args: sidecarArgs(config, plan.scope, plan.audiences),
    env: [
      // The memory settings of the sidecar role, given where the process starts: bin/scopekeeper.js
      // would otherwise re-exec itself to set them (a second Node start, ~45 ms).
      { name: 'NODE_OPTIONS', value: SIDECAR_NODE_OPTIONS },
      { name: 'MALLOC_ARENA_MAX', value: SIDECAR_MALLOC_ARENA_MAX },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
    ],
    ports: [
      { name: DATA_PORT_NAME, containerPort: DATA_PORT, protocol: 'TCP' },
      { name: ADMIN_PORT_NAME, containerPort: ADMIN_PORT, protocol: 'TCP' },
    ],
    // Native sidecars: the kubelet starts the app containers once the startup probe passes, so the
    // app never sees a connection refused on 127.0.0.1:15180.
    startupProbe: { httpGet: { path: '/healthz', port: ADMIN_PORT }, periodSeconds: 1, failureThreshold: 60, timeoutSeconds: 1 },
    readinessProbe: { httpGet: { path: '/readyz', port: ADMIN_PORT }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 2 },
    resources: config.resources ?? DEFAULT_SIDECAR_RESOURCES,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: KEY_VOLUME, mountPath: KEY_DIR, readOnly: true },
      { name: KUBE_API_VOLUME, mountPath: KUBE_API_DIR, readOnly: true },
      ...(plan.audiences.length ? [{ name: ENDPOINT_TOKEN_VOLUME, mountPath: ENDPOINT_TOKEN_DIR, readOnly: true }] : []),
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (native) c.restartPolicy = 'Always';
  return c;
}

/** The pod volumes the injection adds. */
export function injectedVolumes(config: InjectionConfig, plan: PodPlan): V1Volume[] {
  const volumes: V1Volume[] = [
    {
      name: TOKEN_VOLUME,
      projected: {
        sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: TOKEN_PATH } }],
      },
    },
    { name: KEY_VOLUME, secret: { secretName: config.upstreamKeySecret, items: [{ key: KEY_SECRET_KEY, path: 'key' }] } },
    {
      // The sidecar's own API credentials (it watches ModelScopes / AccessReviews), independent of
      // the pod's automountServiceAccountToken and of the order of admission plugins.
      name: KUBE_API_VOLUME,
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: KUBE_API_TOKEN_SECONDS, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
  ];
  if (plan.audiences.length) {
    // Credentials for internal services (endpoints[].auth): mounted into the sidecar alone, so a
    // service that checks the audience knows the call came through the sidecar.
    volumes.push({
      name: ENDPOINT_TOKEN_VOLUME,
      projected: {
        sources: plan.audiences.map((audience, i) => ({
          serviceAccountToken: { audience, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: endpointTokenPath(i) },
        })),
      },
    });
  }
  return volumes;
}

// ---- comparing with what the API server stored ----------------------------------------------

/** The API server's pull policy default: Always for `:latest` or no tag, else IfNotPresent. */
function defaultPullPolicy(image: string | undefined): string {
  if (!image || image.includes('@')) return 'IfNotPresent';
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
/** A resource quantity as a number, so `0.1` and `100m` (which the API server may rewrite) compare equal. */
function quantity(q: unknown): unknown {
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(String(q));
  return m ? Number(m[1]) * SUFFIX[m[2] ?? '']! : q;
}
const quantities = (o: Record<string, unknown> | undefined) =>
  o ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, quantity(v)])) : undefined;

function probeDefaults(p: V1Probe | undefined): void {
  if (!p) return;
  p.successThreshold ??= 1;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.failureThreshold ??= 3;
  if (p.httpGet) p.httpGet.scheme ??= 'HTTP';
}

/** A container as the API server stores it, in a form where equal meaning gives equal JSON. */
export function comparableContainer(c: V1Container): string {
  const x = structuredClone(c);
  x.imagePullPolicy ??= defaultPullPolicy(x.image);
  x.terminationMessagePath ??= '/dev/termination-log';
  x.terminationMessagePolicy ??= 'File';
  for (const p of [x.livenessProbe, x.readinessProbe, x.startupProbe]) probeDefaults(p);
  for (const p of x.ports ?? []) p.protocol ??= 'TCP';
  for (const e of x.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  if (x.resources) {
    const limits = x.resources.limits;
    const requests = { ...(limits ?? {}), ...(x.resources.requests ?? {}) };
    x.resources = {
      ...x.resources,
      ...(limits ? { limits: quantities(limits) as never } : {}),
      ...(Object.keys(requests).length ? { requests: quantities(requests) as never } : {}),
    };
  }
  return canonicalJson(x);
}

/** A volume as the API server stores it (defaultMode and fieldRef apiVersion filled in). */
export function comparableVolume(v: V1Volume): string {
  const x = structuredClone(v);
  if (x.secret) x.secret.defaultMode ??= 420;
  if (x.projected) {
    x.projected.defaultMode ??= 420;
    for (const s of x.projected.sources ?? []) {
      if (s.serviceAccountToken) s.serviceAccountToken.expirationSeconds ??= 3600;
      for (const i of s.downwardAPI?.items ?? []) if (i.fieldRef) i.fieldRef.apiVersion ??= 'v1';
    }
  }
  return canonicalJson(x);
}

/** Where the sidecar is in the pod, if a container of that name exists. */
export function findSidecar(pod: V1Pod): { list: 'initContainers' | 'containers'; index: number; container: V1Container } | undefined {
  for (const list of ['initContainers', 'containers'] as const) {
    const index = (pod.spec?.[list] ?? []).findIndex((c) => c.name === SIDECAR_NAME);
    if (index >= 0) return { list, index, container: pod.spec![list]![index]! };
  }
  return undefined;
}

/**
 * What differs between the pod and the injected shape, or undefined when the pod carries exactly
 * the sidecar (wherever it sits) and the volumes this config and plan inject.
 */
export function sidecarMismatch(pod: V1Pod, config: InjectionConfig, plan: PodPlan): string | undefined {
  const s = findSidecar(pod);
  if (!s) return `there is no container named ${SIDECAR_NAME}`;
  const want = sidecarContainer(config, plan, s.list === 'initContainers');
  if (comparableContainer(s.container) !== comparableContainer(want)) {
    const got = JSON.parse(comparableContainer(s.container)) as Record<string, unknown>;
    const exp = JSON.parse(comparableContainer(want)) as Record<string, unknown>;
    const fields = [...new Set([...Object.keys(got), ...Object.keys(exp)])]
      .filter((k) => canonicalJson(got[k]) !== canonicalJson(exp[k]))
      .sort();
    return `its container ${SIDECAR_NAME} differs from the injected one in ${fields.join(', ')}`;
  }
  for (const v of injectedVolumes(config, plan)) {
    const have = (pod.spec?.volumes ?? []).find((x) => x.name === v.name);
    if (!have) return `it lacks the volume ${v.name}`;
    if (comparableVolume(have) !== comparableVolume(v)) return `its volume ${v.name} differs from the injected one`;
  }
  return undefined;
}
