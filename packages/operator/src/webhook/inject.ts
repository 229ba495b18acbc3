// Sidecar injection (DESIGN.md §3 "Pod opt-in", §6): a pure function from a pod being created to
// the JSON Patch that injects the scopekeeper sidecar, or a refusal that says what to change.
//
// The patch is computed the way controller-runtime's defaulting webhook and Pepr compute theirs:
// the injection changes a deep copy of the pod, and the patch is the difference between the two.
// So it converges: a second pass over its own output (or over a stored, API-defaulted copy of an
// injected pod) changes nothing and yields no operation. The `scopekeeper.dev/status: injected`
// annotation is written back, but it is not trusted on its own: a container named like ours that
// is not exactly ours (an extra probe, hook, command, mount, …) is replaced.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ModelScope } from '@scopekeeper/core';
import type { InjectionConfig } from './config.ts';
import {
  ADMIN_PORT,
  ADMIN_PORT_NAME,
  ANNOTATION_INJECT,
  ANNOTATION_SCOPE,
  ANNOTATION_STATUS,
  BASE_URL,
  DATA_PORT,
  DATA_PORT_NAME,
  ENDPOINT_TOKEN_VOLUME,
  LABEL_INJECTED,
  SIDECAR_NAME,
  STATUS_INJECTED,
  TOKEN_DIR,
  TOKEN_FILE,
  TOKEN_FILE_ENV,
  TOKEN_VOLUME,
} from './constants.ts';
import { diffPatch, type JsonPatchOp } from './jsonpatch.ts';
import { describeExposures, podExposures } from './pod-guard.ts';
import {
  comparableContainer,
  comparableVolume,
  findSidecar,
  injectedVolumes,
  podScope,
  sidecarContainer,
  type PodPlan,
} from './sidecar.ts';

/** `/version`'s gitVersion (`v1.37.2`), or its major/minor (`"1"`, `"29+"`), or numbers. */
export type ServerVersion = string | { major: string | number; minor: string | number; gitVersion?: string };

export interface InjectionContext {
  /** The admission request's namespace (the pod's own may still be empty at admission). */
  namespace: string;
  serverVersion: ServerVersion;
  config: InjectionConfig;
  /** The ModelScopes of the namespace (for endpoint tokens); none when omitted. */
  scopes?: readonly ModelScope[];
}

export type InjectionResult = 'injected' | 'skipped' | 'refused';

export type MutationResult =
  | { allowed: true; result: 'injected' | 'skipped'; patch: JsonPatchOp[]; reason: string; warnings: string[] }
  | { allowed: false; result: 'refused'; message: string };

const NEVER_INJECT = new Set(['kube-system']);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

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

/** Every audience of endpoints[].auth.serviceAccountToken in these scopes, sorted and unique. */
export function endpointAudiences(scopes: readonly ModelScope[]): string[] {
  const out = new Set<string>();
  for (const s of scopes)
    for (const e of s.spec?.endpoints ?? []) if (e.auth?.serviceAccountToken?.audience) out.add(e.auth.serviceAccountToken.audience);
  return [...out].sort();
}

/** The pinned scope's endpoint audiences, or those of every scope of the namespace when none is pinned. */
export function podPlan(pod: V1Pod, scopes: readonly ModelScope[] = []): PodPlan {
  const scope = podScope(pod);
  return { scope, audiences: endpointAudiences(scope === undefined ? scopes : scopes.filter((s) => s.metadata?.name === scope)) };
}

const APP_ENV: readonly { name: string; value: string }[] = [
  { name: 'ANTHROPIC_BASE_URL', value: BASE_URL },
  { name: TOKEN_FILE_ENV, value: TOKEN_FILE },
];
const APP_MOUNT = { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true };

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

export function describePod(pod: V1Pod, namespace: string): string {
  const name = pod.metadata?.name || (pod.metadata?.generateName ? `${pod.metadata.generateName}*` : '(unnamed)');
  return `pod ${namespace}/${name}`;
}

// ---- the mutation ---------------------------------------------------------------------------

const skip = (reason: string, warnings: string[] = []): MutationResult => ({
  allowed: true,
  result: 'skipped',
  patch: [],
  reason,
  warnings,
});
const refuse = (message: string): MutationResult => ({ allowed: false, result: 'refused', message });

/** Points an app container at the sidecar and gives it the token to present. */
function wireApp(c: V1Container): void {
  const env = (c.env ??= []);
  for (const want of APP_ENV) {
    let found = false;
    env.forEach((e, j) => {
      if (e.name !== want.name) return;
      found = true;
      if (e.value !== want.value || e.valueFrom !== undefined) env[j] = { ...want };
    });
    if (!found) env.push({ ...want });
  }
  const mounts = (c.volumeMounts ??= []);
  const j = mounts.findIndex((m) => m.name === APP_MOUNT.name || m.mountPath === APP_MOUNT.mountPath);
  if (j < 0) mounts.push({ ...APP_MOUNT });
  else if (comparableVolumeMount(mounts[j]!) !== comparableVolumeMount(APP_MOUNT)) mounts[j] = { ...APP_MOUNT };
}
const comparableVolumeMount = (m: {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
  subPathExpr?: string;
  mountPropagation?: string;
  recursiveReadOnly?: string;
}): string =>
  JSON.stringify([
    m.name,
    m.mountPath,
    m.readOnly === true,
    m.subPath ?? '',
    m.subPathExpr ?? '',
    m.mountPropagation ?? '',
    m.recursiveReadOnly ?? '',
  ]);

/** Changes `pod` (a deep copy) into the injected shape. */
function injectInto(pod: V1Pod, config: InjectionConfig, plan: PodPlan, native: boolean): void {
  const spec = pod.spec!;
  for (const c of spec.containers) if (c.name !== SIDECAR_NAME) wireApp(c);

  const volumes = (spec.volumes ??= []);
  const wanted = injectedVolumes(config, plan);
  for (const v of wanted) {
    const j = volumes.findIndex((x) => x.name === v.name);
    if (j < 0) volumes.push(v);
    else if (comparableVolume(volumes[j]!) !== comparableVolume(v)) volumes[j] = v;
  }
  // A volume under the endpoint-token name that this plan does not inject is not ours: drop it.
  if (!wanted.some((v) => v.name === ENDPOINT_TOKEN_VOLUME)) spec.volumes = volumes.filter((v) => v.name !== ENDPOINT_TOKEN_VOLUME);

  // The sidecar: kept where it is when it is exactly ours, replaced in place when only the name is.
  const existing = findSidecar(pod);
  if (existing) {
    const want = sidecarContainer(config, plan, existing.list === 'initContainers');
    if (comparableContainer(existing.container) !== comparableContainer(want)) spec[existing.list]![existing.index] = want;
  } else if (native) {
    (spec.initContainers ??= []).unshift(sidecarContainer(config, plan, true));
  } else {
    spec.containers.push(sidecarContainer(config, plan, false));
  }

  // A projected service-account token needs a service account: the ServiceAccount admission
  // plugin names "default" before webhooks run, so this only matters where it is off.
  spec.serviceAccountName ||= 'default';
  const meta = (pod.metadata ??= {});
  (meta.annotations ??= {})[ANNOTATION_STATUS] = STATUS_INJECTED;
  (meta.labels ??= {})[LABEL_INJECTED] = 'true';
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
      const clash = (c.ports ?? []).find(
        (p) => p.containerPort === DATA_PORT || p.containerPort === ADMIN_PORT || p.name === DATA_PORT_NAME || p.name === ADMIN_PORT_NAME,
      );
      if (clash) {
        return refuse(
          `${who}: container "${c.name}" declares port ${clash.name ?? clash.containerPort}, which the scopekeeper sidecar uses ` +
            `(${DATA_PORT} ${DATA_PORT_NAME}, ${ADMIN_PORT} ${ADMIN_PORT_NAME}). Move the container to another port.`,
        );
      }
    }
  }

  const native = useNativeSidecar(ctx.serverVersion, ctx.config.nativeSidecar);
  const plan = podPlan(pod, ctx.scopes);
  const desired = structuredClone(pod);
  injectInto(desired, ctx.config, plan, native);
  const patch = diffPatch(pod, desired);

  // The validating webhook refuses these; say so already here, where kubectl shows warnings.
  const exposures = podExposures(desired, ctx.config, endpointAudiences(ctx.scopes ?? []));
  const warnings = exposures.length ? [`${who}: ${describeExposures(exposures)} (the validating webhook refuses this pod)`] : [];
  if (patch.length === 0) return skip('already injected', warnings);
  const existing = findSidecar(pod);
  return {
    allowed: true,
    result: 'injected',
    patch,
    reason: existing ? 'completed an injection' : native ? 'native sidecar' : 'sidecar container',
    warnings,
  };
}
