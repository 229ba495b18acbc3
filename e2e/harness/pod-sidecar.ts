// Runs a container of a STORED pod spec as a local process, doing by hand the part of a kubelet's
// work that matters to the process: the downward-API environment, `$(VAR)` expansion in the
// arguments (Kubernetes' rules), the mounted volumes written as files (secret, configMap,
// projected service-account token, downward API; their contents read from the real cluster by the
// caller), and the container's paths remapped under a local root. There is no kubelet on the e2e
// control plane, so this is how the injected sidecar is started "from that spec".
//
// What a node would add and a local process cannot (image, user, read-only root filesystem,
// capabilities, seccomp) is checked on the stored spec, not enforced here.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Container, V1EnvVar, V1Pod, V1Volume } from '@kubernetes/client-node';
import { sleep } from './proc.ts';

/** The container by name, from the init containers or the containers. */
export function containerOf(pod: V1Pod, name: string): { container: V1Container; list: 'initContainers' | 'containers' } {
  for (const list of ['initContainers', 'containers'] as const) {
    const c = pod.spec?.[list]?.find((x) => x.name === name);
    if (c) return { container: c, list };
  }
  throw new Error(`pod ${pod.metadata?.namespace}/${pod.metadata?.name} has no container ${name}`);
}

/** A downward-API field of the pod (`metadata.name`, `metadata.namespace`, `metadata.uid`, `spec.serviceAccountName`, labels/annotations). */
export function podField(pod: V1Pod, fieldPath: string): string {
  const ann = /^metadata\.(annotations|labels)\['(.+)'\]$/.exec(fieldPath);
  if (ann) return (ann[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[ann[2]!] ?? '';
  const v: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'spec.nodeName': pod.spec?.nodeName,
  };
  if (!(fieldPath in v)) throw new Error(`downward API field ${fieldPath} is not supported by this harness`);
  return v[fieldPath] ?? '';
}

/**
 * Expands `$(VAR)` the way the kubelet does for command, args and env values: a defined variable is
 * replaced, `$$` is a literal `$`, an undefined reference stays as written.
 */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (name === undefined) return '$';
    return Object.hasOwn(env, name) ? env[name]! : m;
  });
}

/** The container's environment, in order, each value expanded against the ones before it. */
export function containerEnv(pod: V1Pod, c: V1Container): Record<string, string> {
  const env: Record<string, string> = {};
  if (c.envFrom?.length) throw new Error(`container ${c.name}: envFrom is not supported by this harness`);
  for (const e of c.env ?? ([] as V1EnvVar[])) {
    if (e.valueFrom) {
      if (!e.valueFrom.fieldRef)
        throw new Error(`container ${c.name}: env ${e.name} uses ${Object.keys(e.valueFrom).join(', ')}; only fieldRef is supported here`);
      env[e.name] = podField(pod, e.valueFrom.fieldRef.fieldPath);
    } else {
      env[e.name] = expand(e.value ?? '', env);
    }
  }
  return env;
}

/** Where the contents of a volume come from: the caller reads them from the cluster. */
export interface VolumeSources {
  secret(namespace: string, name: string, key: string): Promise<string>;
  configMap(namespace: string, name: string, key: string): Promise<string>;
  /** A TokenRequest for the pod's service account. */
  serviceAccountToken(namespace: string, serviceAccount: string, audience: string | undefined, expirationSeconds: number): Promise<string>;
}

/** Files of one volume: path inside the volume → content. */
async function volumeFiles(pod: V1Pod, v: V1Volume, src: VolumeSources): Promise<Record<string, string>> {
  const ns = pod.metadata!.namespace!;
  const files: Record<string, string> = {};
  const items = async (get: (key: string) => Promise<string>, list: { key: string; path: string }[] | undefined, what: string) => {
    if (!list?.length) throw new Error(`volume ${v.name}: ${what} without items is not supported by this harness`);
    for (const i of list) files[i.path] = await get(i.key);
  };
  if (v.secret) {
    await items((k) => src.secret(ns, v.secret!.secretName!, k), v.secret.items, `secret ${v.secret.secretName}`);
  } else if (v.configMap) {
    await items((k) => src.configMap(ns, v.configMap!.name ?? '', k), v.configMap.items, `configMap ${v.configMap.name}`);
  } else if (v.projected) {
    for (const s of v.projected.sources ?? []) {
      if (s.serviceAccountToken) {
        const t = s.serviceAccountToken;
        files[t.path] = await src.serviceAccountToken(
          ns,
          pod.spec!.serviceAccountName ?? 'default',
          t.audience,
          t.expirationSeconds ?? 3600,
        );
      } else if (s.configMap) {
        await items((k) => src.configMap(ns, s.configMap!.name ?? '', k), s.configMap.items, `configMap ${s.configMap.name}`);
      } else if (s.secret) {
        await items((k) => src.secret(ns, s.secret!.name ?? '', k), s.secret.items, `secret ${s.secret.name}`);
      } else if (s.downwardAPI) {
        for (const i of s.downwardAPI.items ?? []) {
          if (!i.fieldRef) throw new Error(`volume ${v.name}: downwardAPI item ${i.path} without fieldRef`);
          files[i.path] = podField(pod, i.fieldRef.fieldPath);
        }
      } else {
        throw new Error(`volume ${v.name}: projected source ${Object.keys(s).join(', ')} is not supported by this harness`);
      }
    }
  } else {
    throw new Error(
      `volume ${v.name}: ${Object.keys(v)
        .filter((k) => k !== 'name')
        .join(', ')} is not supported by this harness`,
    );
  }
  return files;
}

export interface Mount {
  volume: string;
  /** The path inside the container. */
  mountPath: string;
  /** Where its files are on this machine. */
  localDir: string;
  files: Record<string, string>;
}

/**
 * Writes every volume the container mounts under `root` (the container path `/a/b` becomes
 * `<root>/a/b`), files mode 0600. Returns the mounts.
 */
export async function materializeMounts(pod: V1Pod, c: V1Container, root: string, src: VolumeSources): Promise<Mount[]> {
  const mounts: Mount[] = [];
  for (const m of c.volumeMounts ?? []) {
    if (m.subPath || m.subPathExpr)
      throw new Error(`container ${c.name}: volumeMount ${m.name} uses subPath; not supported by this harness`);
    const v = pod.spec?.volumes?.find((x) => x.name === m.name);
    if (!v) throw new Error(`container ${c.name} mounts volume ${m.name}, which the pod does not define`);
    const files = await volumeFiles(pod, v, src);
    const localDir = join(root, m.mountPath);
    for (const [p, content] of Object.entries(files)) {
      const f = join(localDir, p);
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, content, { mode: 0o600 });
    }
    mounts.push({ volume: m.name, mountPath: m.mountPath, localDir, files });
  }
  return mounts;
}

/** A container path to the local file behind it (the longest mount that contains it). */
export function localPath(path: string, mounts: readonly Mount[]): string | undefined {
  const m = [...mounts]
    .sort((a, b) => b.mountPath.length - a.mountPath.length)
    .find((x) => path === x.mountPath || path.startsWith(`${x.mountPath.replace(/\/$/, '')}/`));
  return m ? join(m.localDir, path.slice(m.mountPath.length)) : undefined;
}

/**
 * The arguments with what differs on this machine changed: every value naming a path inside a
 * mount points at the local file, and each flag of `overrides` gets the value given (a function
 * receives the value in the spec); a flag the spec does not carry is appended. `--flag value` and
 * `--flag=value` are both understood.
 */
export function remapArgs(
  args: readonly string[],
  mounts: readonly Mount[],
  overrides: Record<string, string | ((inSpec: string) => string)> = {},
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const value = (flag: string, v: string): string => {
    const o = overrides[flag];
    if (o !== undefined) {
      seen.add(flag);
      return typeof o === 'function' ? o(v) : o;
    }
    return localPath(v, mounts) ?? v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = /^(--[\w-]+)=(.*)$/s.exec(a);
    if (eq) {
      out.push(`${eq[1]}=${value(eq[1]!, eq[2]!)}`);
    } else if (a.startsWith('--') && i + 1 < args.length && !args[i + 1]!.startsWith('--')) {
      out.push(a, value(a, args[++i]!));
    } else {
      out.push(localPath(a, mounts) ?? a);
    }
  }
  for (const [flag, o] of Object.entries(overrides)) if (!seen.has(flag)) out.push(flag, typeof o === 'function' ? o('') : o);
  return out;
}

/**
 * A kubeconfig equivalent to client-node's in-cluster configuration, built from the mounted
 * service-account files (ca.crt, token, namespace) of `dir`; `server` replaces
 * https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. The token is referenced by file, as
 * in a pod (a rotated token is picked up).
 */
export function inClusterKubeconfig(file: string, server: string, dir: string, namespace: string): string {
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'in-cluster', cluster: { server, 'certificate-authority': join(dir, 'ca.crt') } }],
    users: [{ name: 'service-account', user: { 'token-file': join(dir, 'token') } }],
    contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user: 'service-account', namespace } }],
    'current-context': 'in-cluster',
  };
  writeFileSync(file, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });
  return file;
}

export interface LocalProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Complete stdout lines so far. */
  stdoutLines(): string[];
  /** The tail of stderr. */
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether it has exited. */
  done(): boolean;
  /** SIGTERM by PID, SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `cmd args` with exactly `env` (no inheritance), stdout and stderr captured. */
export function startProcess(cmd: string, args: readonly string[], opts: { env: Record<string, string>; cwd: string }): LocalProcess {
  const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${cmd} did not start`);
  const pid = child.pid;
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-50_000);
  });
  let finished = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      finished = true;
      resolve({ code, signal });
    }),
  );
  const killNow = () => {
    if (!finished) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  process.once('exit', killNow);
  let stopping: Promise<void> | undefined;
  return {
    pid,
    child,
    exited,
    done: () => finished,
    stdoutLines: () => out.split('\n').slice(0, -1),
    stderr: () => err,
    stop: (graceMs = 5_000) =>
      (stopping ??= (async () => {
        process.removeListener('exit', killNow);
        if (finished) return;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          return;
        }
        const t = setTimeout(killNow, graceMs);
        await exited;
        clearTimeout(t);
      })()),
  };
}

/** Polls `url` until it answers 200; fails early when the process exits. */
export async function waitHttpOk(url: string, proc: LocalProcess, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (proc.done())
      throw new Error(`the process exited before ${url} answered 200 (${JSON.stringify(await proc.exited)}):\n${proc.stderr()}`);
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
      last = `${r.status} ${await r.text()}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > end) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last}):\n${proc.stderr()}`);
    await sleep(100);
  }
}
