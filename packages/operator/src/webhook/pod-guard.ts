// Every way something in a pod other than the injected sidecar could read the sidecar's
// credentials (the upstream key, and the service-account tokens projected for endpoints[].auth).
// One list, used by the validating webhook (which refuses) and the injection (which warns).
//
// Containers of a pod have their own mount and PID namespaces, so the key file is out of the app's
// reach unless the pod spec opens a way: a mount of the key Secret (or env from it), a shared PID
// namespace or the node's (then /proc/<pid>/root/… of the sidecar is one open() away for a process
// with its uid), an ephemeral container aimed at the sidecar, a privileged container, one that adds
// a capability reaching the node's files, a hostPath (the Secret's files lie on the node, and the
// node follows symlinks in a hostPath), or the node's network or a resolver the pod chooses (the
// sidecar's port and its upstream's name would be the app's to take).
import { posix } from 'node:path';
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { DEFAULT_PROTECTED_HOST_PATHS, type InjectionConfig } from './config.ts';
import { ENDPOINT_TOKEN_VOLUME, KEY_VOLUME, SIDECAR_NAME, SIDECAR_UID } from './constants.ts';

export type ContainerKind = 'container' | 'initContainer' | 'ephemeralContainer';

export interface Exposure {
  /** `container "app"`, `volume "host"`, `spec.shareProcessNamespace`: what the fix applies to. */
  subject: string;
  /** What it does, and why that reaches the credentials. */
  what: string;
  fix: string;
}

const LISTS = [
  ['containers', 'container'],
  ['initContainers', 'initContainer'],
  ['ephemeralContainers', 'ephemeralContainer'],
] as const;

/**
 * Capabilities that give a container a way past its own mount and PID namespaces: DAC_READ_SEARCH
 * (open_by_handle_at reads any file of the node's filesystem by handle, the "shocker" escape),
 * SYS_ADMIN (mounts, bpf), SYS_MODULE, SYS_RAWIO, BPF, PERFMON (kernel memory), SYS_PTRACE (with
 * the sidecar's PID namespace), and ALL.
 */
const NODE_READING_CAPABILITIES: ReadonlySet<string> = new Set([
  'ALL',
  'DAC_READ_SEARCH',
  'SYS_ADMIN',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_PTRACE',
  'BPF',
  'PERFMON',
]);

/** A capability as the runtime reads it: case and a CAP_ prefix do not matter (containerd adds the prefix itself). */
function capabilityName(cap: string): string {
  const up = cap.trim().toUpperCase();
  return up.startsWith('CAP_') ? up.slice(4) : up;
}

/** Every container of the pod but the sidecar, with its kind. */
function others(spec: V1PodSpec): { c: V1Container; kind: ContainerKind }[] {
  const out: { c: V1Container; kind: ContainerKind }[] = [];
  for (const [list, kind] of LISTS) for (const c of (spec[list] ?? []) as V1Container[]) if (c.name !== SIDECAR_NAME) out.push({ c, kind });
  return out;
}

/** A node path as the kubelet reads it: absolute, `.`, `..` and repeated or trailing `/` resolved. */
const norm = (x: string): string => posix.normalize(`/${x}`).replace(/\/+$/, '') || '/';

/** Whether hostPath `p` is, contains or lies inside one of the protected node paths. */
export function coversProtectedPath(p: string, protectedPaths: readonly string[]): string | undefined {
  const host = norm(p);
  return protectedPaths.map(norm).find((q) => host === q || q.startsWith(host === '/' ? '/' : `${host}/`) || host.startsWith(`${q}/`));
}

/** Whether hostPath `p` is or lies inside one of the allowed node directories. */
export function withinAllowed(p: string, allowed: readonly string[]): boolean {
  const host = norm(p);
  return allowed.map(norm).some((a) => host === a || host.startsWith(a === '/' ? '/' : `${a}/`));
}

/** Every exposure of the sidecar's credentials in this pod spec. */
export function podExposures(pod: V1Pod, config: InjectionConfig, audiences: readonly string[]): Exposure[] {
  const spec = pod.spec;
  if (!spec) return [];
  const secret = config.upstreamKeySecret;
  const out: Exposure[] = [];
  const keyVolumes = new Set(
    (spec.volumes ?? [])
      .filter(
        (v) =>
          v.name === KEY_VOLUME || v.secret?.secretName === secret || (v.projected?.sources ?? []).some((s) => s.secret?.name === secret),
      )
      .map((v) => v.name),
  );
  const reserved = new Set(audiences);

  if (spec.shareProcessNamespace) {
    out.push({
      subject: 'spec.shareProcessNamespace',
      what: "is true, so every container sees the sidecar's processes and its files through /proc/<pid>/root",
      fix: 'remove shareProcessNamespace',
    });
  }
  if (spec.hostPID)
    out.push({
      subject: 'spec.hostPID',
      what: "is true, so the pod sees every process of the node, the sidecar's included",
      fix: 'remove hostPID',
    });
  if (spec.hostNetwork)
    out.push({
      subject: 'spec.hostNetwork',
      what: "is true, so the sidecar's 127.0.0.1 ports and its traffic are the node's, shared with every host-network pod and process",
      fix: 'remove hostNetwork',
    });
  // The sidecar resolves its upstream and endpoints with the pod's resolver: an entry of the pod's
  // own sends the key or an endpoint token to whatever the app listens on.
  if (spec.hostAliases?.length)
    out.push({
      subject: 'spec.hostAliases',
      what: "maps host names for every container, the sidecar's included, so the app could answer for the upstream or an endpoint the sidecar sends credentials to",
      fix: 'remove hostAliases (use a Service or DNS instead)',
    });
  if (spec.dnsPolicy === 'None' || spec.dnsConfig)
    out.push({
      subject: spec.dnsConfig ? 'spec.dnsConfig' : 'spec.dnsPolicy',
      what: "sets the resolver of every container, the sidecar's included, so the app could answer for the upstream or an endpoint the sidecar sends credentials to",
      fix: "remove dnsConfig and dnsPolicy: None (use the cluster's DNS)",
    });
  const protectedPaths = [...DEFAULT_PROTECTED_HOST_PATHS, ...(config.protectedHostPaths ?? [])];
  for (const v of spec.volumes ?? []) {
    const hit = v.hostPath ? coversProtectedPath(v.hostPath.path, protectedPaths) : undefined;
    if (hit) {
      out.push({
        subject: `volume "${v.name}"`,
        what: `is hostPath ${v.hostPath!.path}, which reaches ${hit} on the node (where the kubelet and the runtime keep every container's files and mounted Secrets)`,
        fix: `remove the volume or use a host directory outside ${hit}`,
      });
    } else if (v.hostPath && !withinAllowed(v.hostPath.path, config.allowedHostPaths ?? [])) {
      out.push({
        subject: `volume "${v.name}"`,
        what: `is hostPath ${v.hostPath.path}: the node follows symlinks in it, so what it reaches is whatever a pod that can write there points it at (the kubelet's copy of the key Secret included)`,
        fix: "remove the volume, or ask the operator's administrators to list a directory no pod can write in sidecar.allowedHostPaths",
      });
    }
    if (v.name === ENDPOINT_TOKEN_VOLUME) continue;
    for (const s of v.projected?.sources ?? []) {
      const aud = s.serviceAccountToken?.audience;
      if (aud && reserved.has(aud)) {
        out.push({
          subject: `volume "${v.name}"`,
          what: `projects a service-account token for audience "${aud}", which endpoints[].auth of a ModelScope reserves for the sidecar`,
          fix: 'remove that token source; the sidecar sends it on every request it forwards to that endpoint',
        });
      }
    }
  }
  const podUid = spec.securityContext?.runAsUser;
  for (const { c, kind } of others(spec)) {
    const who = `${kind} "${c.name}"`;
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.name === secret)
        out.push({ subject: who, what: `reads the upstream key Secret "${secret}" through env ${e.name}`, fix: `remove env ${e.name}` });
    }
    for (const f of c.envFrom ?? []) {
      if (f.secretRef?.name === secret)
        out.push({
          subject: who,
          what: `reads the upstream key Secret "${secret}" through envFrom`,
          fix: `remove the envFrom secretRef ${secret}`,
        });
    }
    for (const m of c.volumeMounts ?? []) {
      if (keyVolumes.has(m.name))
        out.push({
          subject: who,
          what: `reads the upstream key Secret "${secret}" through volumeMount ${m.name} at ${m.mountPath}`,
          fix: `remove the volumeMount ${m.name}`,
        });
      if (m.name === ENDPOINT_TOKEN_VOLUME)
        out.push({
          subject: who,
          what: `mounts ${ENDPOINT_TOKEN_VOLUME}, the sidecar's service tokens`,
          fix: `remove the volumeMount ${m.name}`,
        });
    }
    const uid = c.securityContext?.runAsUser ?? podUid;
    if (uid === SIDECAR_UID) {
      out.push({
        subject: who,
        what: `runs as uid ${SIDECAR_UID}, the sidecar's (${c.securityContext?.runAsUser !== undefined ? 'securityContext.runAsUser' : 'inherited from spec.securityContext.runAsUser'})`,
        fix: 'run it as another uid',
      });
    }
    if (c.securityContext?.privileged)
      out.push({
        subject: who,
        what: "is privileged, so it can read any file of the node, the key's included",
        fix: 'remove securityContext.privileged',
      });
    const reaching = (c.securityContext?.capabilities?.add ?? []).filter((cap) => NODE_READING_CAPABILITIES.has(capabilityName(cap)));
    if (reaching.length)
      out.push({
        subject: who,
        what: `adds the capabilit${reaching.length === 1 ? 'y' : 'ies'} ${reaching.join(', ')}, which reach${reaching.length === 1 ? 'es' : ''} past the container (open_by_handle_at, mounts, kernel modules, raw devices, eBPF, another process's memory) to the node's files, the key's included`,
        fix: `remove ${reaching.join(', ')} from securityContext.capabilities.add`,
      });
    const target = (c as { targetContainerName?: string }).targetContainerName;
    if (target === SIDECAR_NAME)
      out.push({
        subject: who,
        what: `targets the sidecar (targetContainerName: ${SIDECAR_NAME}), whose processes and files it would share`,
        fix: 'target the app container instead',
      });
  }
  return out;
}

export const exposureKey = (e: Exposure): string => `${e.subject} ${e.what}`;

export function describeExposures(list: readonly Exposure[]): string {
  return list.map((e) => `${e.subject} ${e.what}: ${e.fix}`).join('; ');
}
