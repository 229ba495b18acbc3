// Sidecar injection (DESIGN.md §3 "Pod opt-in", §6): a pure function from a pod being created to
// the JSON Patch that injects the scopekeeper sidecar, or a refusal that says what to change.
//
// The patch is convergent: it brings the pod to the injected shape and emits nothing for a part
// that is already there, so a second pass over its own output (or over a stored, API-defaulted
// copy of an injected pod) yields no operations. The `scopekeeper.dev/status: injected`
// annotation is written back, but it is not trusted on its own: a pod that claims to be injected
// without carrying our sidecar (or carries a container of that name that is not ours) is injected.
import type { V1Container, V1EnvVar, V1Pod, V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import {
  ADMIN_PORT,
  ADMIN_PORT_NAME,
  ANNOTATION_INJECT,
  ANNOTATION_SCOPE,
  ANNOTATION_STATUS,
  BASE_URL,
  DATA_PORT,
  DATA_PORT_NAME,
  KEY_DIR,
  KEY_FILE,
  KEY_SECRET_KEY,
  KEY_VOLUME,
  KUBE_API_DIR,
  KUBE_API_VOLUME,
  LABEL_INJECTED,
  SIDECAR_NAME,
  SIDECAR_UID,
  STATUS_INJECTED,
  TOKEN_AUDIENCE,
  TOKEN_DIR,
  TOKEN_EXPIRATION_SECONDS,
  TOKEN_FILE,
  TOKEN_FILE_ENV,
  TOKEN_PATH,
  TOKEN_VOLUME,
} from './constants.ts';
import { canonicalJson, escapePointer, type JsonPatchOp } from './jsonpatch.ts';

/** What the operator is configured with (chart values → operator flags) for every injected pod. */
export interface InjectionConfig {
  /** The one scopekeeper image (the sidecar runs `scopekeeper sidecar …` from it). */
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** `--issuer` values: the cluster's service-account issuer, and any OIDC issuer callers use. At least one. */
  issuers: string[];
  /** `--issuer-ca`: a PEM bundle file inside the sidecar to trust for issuer discovery (e.g. the kube API CA). */
  issuerCAFile?: string;
  /** Name of the Secret (in the pod's namespace) whose key `api-key` holds the upstream API key. */
  upstreamKeySecret: string;
  /** `--upstream`, when not the sidecar's default (https://api.anthropic.com). */
  upstream?: string;
  /** `--audit` sinks; default `stdout`. */
  audit?: string[];
  resources?: V1ResourceRequirements;
  /** `auto` (default): a native sidecar from Kubernetes 1.29 on; `always` / `never` override it. */
  nativeSidecar?: 'auto' | 'always' | 'never';
}

const NATIVE_MODES = ['auto', 'always', 'never'] as const;
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

/**
 * Reads an InjectionConfig from JSON (the chart's ConfigMap `<release>-injection`, key
 * injection.json, mounted into the operator) and says exactly which field is wrong.
 */
export function parseInjectionConfig(raw: unknown, source = 'the injection config'): InjectionConfig {
  const problems: string[] = [];
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source} must be a JSON object`);
  const str = (k: string, required: boolean) => {
    const v = o[k];
    if (v === undefined && !required) return;
    if (typeof v !== 'string' || v === '') problems.push(`${k} must be a non-empty string`);
  };
  const strings = (k: string, required: boolean) => {
    const v = o[k];
    if (v === undefined && !required) return;
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === '')) problems.push(`${k} must be a non-empty list of strings`);
  };
  str('image', true);
  strings('issuers', true);
  str('upstreamKeySecret', true);
  if (typeof o.upstreamKeySecret === 'string' && !(o.upstreamKeySecret.length <= 253 && DNS_SUBDOMAIN.test(o.upstreamKeySecret))) {
    problems.push(`upstreamKeySecret ${JSON.stringify(o.upstreamKeySecret)} is not a valid Secret name`);
  }
  str('issuerCAFile', false);
  str('upstream', false);
  strings('audit', false);
  if (o.imagePullPolicy !== undefined && !PULL_POLICIES.includes(o.imagePullPolicy as never)) problems.push(`imagePullPolicy must be one of ${PULL_POLICIES.join(', ')}`);
  if (o.nativeSidecar !== undefined && !NATIVE_MODES.includes(o.nativeSidecar as never)) problems.push(`nativeSidecar must be one of ${NATIVE_MODES.join(', ')}`);
  if (o.resources !== undefined && (typeof o.resources !== 'object' || o.resources === null || Array.isArray(o.resources))) problems.push('resources must be an object with requests / limits');
  const known = new Set(['image', 'imagePullPolicy', 'issuers', 'issuerCAFile', 'upstreamKeySecret', 'upstream', 'audit', 'resources', 'nativeSidecar']);
  for (const k of Object.keys(o)) if (!known.has(k)) problems.push(`unknown field ${k}`);
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
  return o as unknown as InjectionConfig;
}

/** `/version`'s gitVersion (`v1.37.2`), or its major/minor (`"1"`, `"29+"`), or numbers. */
export type ServerVersion = string | { major: string | number; minor: string | number; gitVersion?: string };

export interface InjectionContext {
  /** The admission request's namespace (the pod's own may still be empty at admission). */
  namespace: string;
  serverVersion: ServerVersion;
  config: InjectionConfig;
}

export type InjectionResult = 'injected' | 'skipped' | 'refused';

export type MutationResult =
  | { allowed: true; result: 'injected' | 'skipped'; patch: JsonPatchOp[]; reason: string; warnings: string[] }
  | { allowed: false; result: 'refused'; message: string };

export const DEFAULT_SIDECAR_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { memory: '192Mi' },
};

const NEVER_INJECT = new Set(['kube-system']);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Expiry of the sidecar's own API token: the value kube-api-access volumes use. */
const KUBE_API_TOKEN_SECONDS = 3607;

export function parseServerVersion(v: ServerVersion): { major: number; minor: number } | undefined {
  if (typeof v === 'string') {
    const m = /^v?(\d+)\.(\d+)/.exec(v.trim());
    return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
  }
  const major = parseInt(String(v.major), 10);
  const minor = parseInt(String(v.minor), 10);
  if (Number.isInteger(major) && Number.isInteger(minor)) return { major, minor };
  return v.gitVersion ? parseServerVersion(v.gitVersion) : undefined;
}

/** Native sidecars (init containers with `restartPolicy: Always`) are on by default from 1.29. */
export function useNativeSidecar(version: ServerVersion, override: InjectionConfig['nativeSidecar'] = 'auto'): boolean {
  if (override === 'always') return true;
  if (override === 'never') return false;
  const v = parseServerVersion(version);
  return v !== undefined && (v.major > 1 || (v.major === 1 && v.minor >= 29));
}

/** The sidecar's arguments for a pod (the scope annotation becomes `--scope`). */
export function sidecarArgs(config: InjectionConfig, scope: string | undefined): string[] {
  const args = ['sidecar', '--policy', 'kubernetes', '--namespace', '$(POD_NAMESPACE)', '--pod', '$(POD_NAME)'];
  for (const i of config.issuers) args.push('--issuer', i);
  if (config.issuerCAFile) args.push('--issuer-ca', config.issuerCAFile);
  args.push('--upstream-key-file', KEY_FILE);
  if (config.upstream) args.push('--upstream', config.upstream);
  for (const a of config.audit?.length ? config.audit : ['stdout']) args.push('--audit', a);
  // The kubelet probes the pod IP, so the admin port (/healthz, /readyz, /metrics) listens on all
  // addresses; the data path stays on 127.0.0.1 (the sidecar's default), reachable from the pod only.
  args.push('--admin', `0.0.0.0:${ADMIN_PORT}`);
  if (scope) args.push('--scope', scope);
  return args;
}

/** The container the webhook injects. */
export function sidecarContainer(config: InjectionConfig, scope: string | undefined, native: boolean): V1Container {
  const c: V1Container = {
    name: SIDECAR_NAME,
    image: config.image,
    ...(config.imagePullPolicy ? { imagePullPolicy: config.imagePullPolicy } : {}),
    args: sidecarArgs(config, scope),
    env: [
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
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (native) c.restartPolicy = 'Always';
  return c;
}

/** The pod volumes the injection adds. */
export function injectedVolumes(config: InjectionConfig): V1Volume[] {
  return [
    {
      name: TOKEN_VOLUME,
      projected: { sources: [{ serviceAccountToken: { audience: TOKEN_AUDIENCE, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: TOKEN_PATH } }] },
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
}

const APP_ENV: readonly { name: string; value: string }[] = [
  { name: 'ANTHROPIC_BASE_URL', value: BASE_URL },
  { name: TOKEN_FILE_ENV, value: TOKEN_FILE },
];
const APP_MOUNT: V1VolumeMount = { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true };

// ---- reading the pod ------------------------------------------------------------------------

export type OptIn = { value: 'true' | 'false' | undefined; source?: 'annotation' | 'label'; bad?: string };

/** The opt-in: the annotation, else a label of the same name (for objectSelector-only setups). */
export function optIn(pod: V1Pod): OptIn {
  const a = pod.metadata?.annotations?.[ANNOTATION_INJECT];
  const l = pod.metadata?.labels?.[ANNOTATION_INJECT];
  const [raw, source] = a !== undefined ? [a, 'annotation' as const] : l !== undefined ? [l, 'label' as const] : [undefined, undefined];
  if (raw === undefined) return { value: undefined };
  if (raw === 'true' || raw === 'false') return { value: raw, source };
  return { value: undefined, source, bad: raw };
}

export function podScope(pod: V1Pod): string | undefined {
  const s = pod.metadata?.annotations?.[ANNOTATION_SCOPE];
  return s === undefined || s === '' ? undefined : s;
}

export function describePod(pod: V1Pod, namespace: string): string {
  const name = pod.metadata?.name || (pod.metadata?.generateName ? `${pod.metadata.generateName}*` : '(unnamed)');
  return `pod ${namespace}/${name}`;
}

const pick = (o: object | undefined, keys: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown> | undefined)?.[k]]).filter(([, v]) => v !== undefined));
const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

function envKey(e: V1EnvVar): unknown {
  return [e.name, e.value ?? '', e.valueFrom?.fieldRef?.fieldPath ?? '', e.valueFrom ? Object.keys(e.valueFrom).sort() : []];
}
function mountKey(m: V1VolumeMount): string {
  return JSON.stringify([m.name, m.mountPath, m.readOnly === true, m.subPath ?? '', m.subPathExpr ?? '']);
}
const SECURITY_FIELDS = ['runAsNonRoot', 'runAsUser', 'runAsGroup', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'capabilities', 'seccompProfile'] as const;

/**
 * Whether `c` is the sidecar this configuration injects into this pod: same image, no command
 * override, the same arguments, environment, mounts and security settings. (API defaults such as
 * probe thresholds, terminationMessagePath or fieldRef apiVersion do not matter.) A container that
 * only borrows our name does not pass, so it cannot mount the upstream key under our cover.
 */
export function isOurSidecar(c: V1Container, pod: V1Pod, config: InjectionConfig, native: boolean): boolean {
  const want = sidecarContainer(config, podScope(pod), native);
  if (c.name !== SIDECAR_NAME || c.image !== want.image) return false;
  if (c.command && c.command.length > 0) return false;
  if (!same(c.args ?? [], want.args)) return false;
  if (!same((c.env ?? []).map(envKey), (want.env ?? []).map(envKey))) return false;
  if (c.envFrom && c.envFrom.length > 0) return false;
  if (!same((c.volumeMounts ?? []).map(mountKey).sort(), (want.volumeMounts ?? []).map(mountKey).sort())) return false;
  if (c.volumeDevices && c.volumeDevices.length > 0) return false;
  const sc = c.securityContext ?? {};
  if (sc.privileged || sc.capabilities?.add?.length) return false;
  if (!same(pick(sc, SECURITY_FIELDS), pick(want.securityContext, SECURITY_FIELDS))) return false;
  if (native !== (c.restartPolicy === 'Always')) return false;
  return true;
}

/** Where the sidecar is in the pod, if a container of that name exists. */
export function findSidecar(pod: V1Pod): { list: 'initContainers' | 'containers'; index: number; container: V1Container } | undefined {
  for (const list of ['initContainers', 'containers'] as const) {
    const index = (pod.spec?.[list] ?? []).findIndex((c) => c.name === SIDECAR_NAME);
    if (index >= 0) return { list, index, container: pod.spec![list]![index]! };
  }
  return undefined;
}

/** Whether the pod carries our sidecar, as this configuration makes it (wherever it sits). */
export function hasOurSidecar(pod: V1Pod, config: InjectionConfig): boolean {
  const s = findSidecar(pod);
  return s !== undefined && isOurSidecar(s.container, pod, config, s.list === 'initContainers');
}

export interface KeyRead {
  container: string;
  kind: 'container' | 'initContainer' | 'ephemeralContainer';
  how: string;
  fix: string;
}

/**
 * Every way a container other than our verified sidecar reads the upstream key Secret: env
 * `valueFrom.secretKeyRef`, `envFrom.secretRef`, or a mount of a volume built from that Secret
 * (a `secret` volume or a `projected` source).
 */
export function upstreamKeyReads(pod: V1Pod, config: InjectionConfig): KeyRead[] {
  const secret = config.upstreamKeySecret;
  const keyVolumes = new Set(
    (pod.spec?.volumes ?? [])
      .filter((v) => v.secret?.secretName === secret || (v.projected?.sources ?? []).some((s) => s.secret?.name === secret))
      .map((v) => v.name),
  );
  const sidecar = findSidecar(pod);
  const sidecarOk = sidecar !== undefined && isOurSidecar(sidecar.container, pod, config, sidecar.list === 'initContainers');
  const reads: KeyRead[] = [];
  const lists = [
    ['containers', 'container'],
    ['initContainers', 'initContainer'],
    ['ephemeralContainers', 'ephemeralContainer'],
  ] as const;
  for (const [list, kind] of lists) {
    (pod.spec?.[list] ?? []).forEach((c: V1Container, i: number) => {
      if (sidecarOk && sidecar.list === list && sidecar.index === i) return;
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef?.name === secret) {
          reads.push({ container: c.name, kind, how: `env ${e.name} (valueFrom.secretKeyRef of Secret ${secret})`, fix: `remove env ${e.name}` });
        }
      }
      for (const f of c.envFrom ?? []) {
        if (f.secretRef?.name === secret) reads.push({ container: c.name, kind, how: `envFrom secretRef ${secret}`, fix: `remove the envFrom secretRef ${secret}` });
      }
      for (const m of c.volumeMounts ?? []) {
        if (keyVolumes.has(m.name)) {
          reads.push({ container: c.name, kind, how: `volumeMount ${m.name} at ${m.mountPath} (a volume of Secret ${secret})`, fix: `remove the volumeMount ${m.name}` });
        }
      }
    });
  }
  return reads;
}

export function describeKeyReads(reads: readonly KeyRead[]): string {
  return reads.map((r) => `${r.kind} "${r.container}" reads it through ${r.how}: ${r.fix}`).join('; ');
}

// ---- the mutation ---------------------------------------------------------------------------

const skip = (reason: string, warnings: string[] = []): MutationResult => ({ allowed: true, result: 'skipped', patch: [], reason, warnings });
const refuse = (message: string): MutationResult => ({ allowed: false, result: 'refused', message });

function strip(v: V1Volume): unknown {
  const copy = JSON.parse(JSON.stringify(v)) as { secret?: { defaultMode?: number }; projected?: { defaultMode?: number } };
  delete copy.secret?.defaultMode;
  delete copy.projected?.defaultMode;
  return copy;
}

export function mutatePod(pod: V1Pod, ctx: InjectionContext): MutationResult {
  const namespace = ctx.namespace || pod.metadata?.namespace || '';
  const who = describePod(pod, namespace);
  if (NEVER_INJECT.has(namespace)) return skip(`namespace ${namespace} is never injected`);
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) return skip('mirror pods cannot be changed');

  const opt = optIn(pod);
  if (opt.bad !== undefined) {
    return refuse(
      `${who}: the ${opt.source} ${ANNOTATION_INJECT} must be "true" or "false" (got ${JSON.stringify(opt.bad)}). ` +
        `Set it to "true" to inject the scopekeeper sidecar, "false" to opt out, or remove it.`,
    );
  }
  if (opt.value !== 'true') return skip(opt.value === 'false' ? `opted out (${ANNOTATION_INJECT}: "false")` : 'not opted in');

  const scope = podScope(pod);
  if (scope !== undefined && (scope.length > 253 || !DNS_SUBDOMAIN.test(scope))) {
    return refuse(
      `${who}: the annotation ${ANNOTATION_SCOPE} must name a ModelScope (lower-case letters, digits, '-' and '.', ` +
        `starting and ending with a letter or digit, at most 253 characters; got ${JSON.stringify(scope)}). ` +
        `Set it to the name of a ModelScope in namespace ${namespace}, or remove it to let every matching scope apply.`,
    );
  }
  const spec = pod.spec;
  if (!spec || !Array.isArray(spec.containers)) return refuse(`${who} has no spec.containers; nothing to inject into.`);
  if (spec.hostNetwork) {
    return refuse(
      `${who} uses hostNetwork: the sidecar's 127.0.0.1:${DATA_PORT} would be the node's, shared with every other host-network pod. ` +
        `Run the pod without hostNetwork, or set ${ANNOTATION_INJECT}: "false".`,
    );
  }
  for (const list of ['initContainers', 'containers'] as const) {
    for (const c of spec[list] ?? []) {
      if (c.name === SIDECAR_NAME) continue;
      const clash = (c.ports ?? []).find((p) => p.containerPort === DATA_PORT || p.containerPort === ADMIN_PORT || p.name === DATA_PORT_NAME || p.name === ADMIN_PORT_NAME);
      if (clash) {
        return refuse(
          `${who}: container "${c.name}" declares port ${clash.name ?? clash.containerPort}, which the scopekeeper sidecar uses ` +
            `(${DATA_PORT} ${DATA_PORT_NAME}, ${ADMIN_PORT} ${ADMIN_PORT_NAME}). Move the container to another port.`,
        );
      }
    }
  }

  const cfg = ctx.config;
  const native = useNativeSidecar(ctx.serverVersion, cfg.nativeSidecar);
  const ops: JsonPatchOp[] = [];

  // App containers: point the SDK at the sidecar and give it a short-lived token to present.
  spec.containers.forEach((c, i) => {
    if (c.name === SIDECAR_NAME) return;
    const base = `/spec/containers/${i}`;
    if (!c.env) {
      ops.push({ op: 'add', path: `${base}/env`, value: APP_ENV.map((e) => ({ ...e })) });
    } else {
      for (const want of APP_ENV) {
        const at = c.env.flatMap((e, j) => (e.name === want.name ? [j] : []));
        if (at.length === 0) ops.push({ op: 'add', path: `${base}/env/-`, value: { ...want } });
        for (const j of at) {
          const e = c.env[j]!;
          if (e.value !== want.value || e.valueFrom !== undefined) ops.push({ op: 'replace', path: `${base}/env/${j}`, value: { ...want } });
        }
      }
    }
    if (!c.volumeMounts) {
      ops.push({ op: 'add', path: `${base}/volumeMounts`, value: [{ ...APP_MOUNT }] });
    } else {
      const j = c.volumeMounts.findIndex((m) => m.name === APP_MOUNT.name || m.mountPath === APP_MOUNT.mountPath);
      if (j < 0) ops.push({ op: 'add', path: `${base}/volumeMounts/-`, value: { ...APP_MOUNT } });
      else if (mountKey(c.volumeMounts[j]!) !== mountKey(APP_MOUNT)) ops.push({ op: 'replace', path: `${base}/volumeMounts/${j}`, value: { ...APP_MOUNT } });
    }
  });

  // Volumes.
  const volumes = spec.volumes;
  const wantVolumes = injectedVolumes(cfg);
  if (!volumes) {
    ops.push({ op: 'add', path: '/spec/volumes', value: wantVolumes });
  } else {
    for (const v of wantVolumes) {
      const j = volumes.findIndex((x) => x.name === v.name);
      if (j < 0) ops.push({ op: 'add', path: '/spec/volumes/-', value: v });
      else if (!same(strip(volumes[j]!), strip(v))) ops.push({ op: 'replace', path: `/spec/volumes/${j}`, value: v });
    }
  }

  // The sidecar: kept where it is when it is ours, replaced in place when only the name is.
  const existing = findSidecar(pod);
  if (existing) {
    const nativeHere = existing.list === 'initContainers';
    if (!isOurSidecar(existing.container, pod, cfg, nativeHere)) {
      ops.push({ op: 'replace', path: `/spec/${existing.list}/${existing.index}`, value: sidecarContainer(cfg, scope, nativeHere) });
    }
  } else if (native) {
    const c = sidecarContainer(cfg, scope, true);
    if (!spec.initContainers) ops.push({ op: 'add', path: '/spec/initContainers', value: [c] });
    else ops.push({ op: 'add', path: '/spec/initContainers/0', value: c });
  } else {
    ops.push({ op: 'add', path: '/spec/containers/-', value: sidecarContainer(cfg, scope, false) });
  }

  // A projected service-account token needs a service account: the ServiceAccount admission
  // plugin names "default" before webhooks run, so this only matters where it is off.
  if (!spec.serviceAccountName) ops.push({ op: 'add', path: '/spec/serviceAccountName', value: 'default' });

  // Metadata: the status annotation and the label monitoring selects on.
  const annotations = pod.metadata?.annotations;
  if (!annotations) ops.push({ op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_STATUS]: STATUS_INJECTED } });
  else if (annotations[ANNOTATION_STATUS] !== STATUS_INJECTED) ops.push({ op: 'add', path: `/metadata/annotations/${escapePointer(ANNOTATION_STATUS)}`, value: STATUS_INJECTED });
  const labels = pod.metadata?.labels;
  if (!labels) ops.push({ op: 'add', path: '/metadata/labels', value: { [LABEL_INJECTED]: 'true' } });
  else if (labels[LABEL_INJECTED] !== 'true') ops.push({ op: 'add', path: `/metadata/labels/${escapePointer(LABEL_INJECTED)}`, value: 'true' });

  const reads = upstreamKeyReads(pod, cfg).filter((r) => r.container !== SIDECAR_NAME);
  const warnings = reads.length
    ? [`${who}: the scopekeeper sidecar holds the upstream key, but ${describeKeyReads(reads)} (a namespace labelled scopekeeper.dev/enforce=true refuses this pod)`]
    : [];
  if (ops.length === 0) return skip('already injected', warnings);
  return { allowed: true, result: 'injected', patch: ops, reason: existing ? 'completed an injection' : native ? 'native sidecar' : 'sidecar container', warnings };
}
