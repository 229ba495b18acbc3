// What an e2e spec uses to reach the cluster that global setup provided:
//
//   const c = cluster();
//   await c.kubectl(['get', 'ms', '-n', 'team-a']);                 // as admin
//   await c.kubectl(['auth', 'whoami'], { as: 'carol@example.com' }); // as a user of users.ts
//   await c.kubectl(['apply', '-f', '-'], { input: json, allowFailure: true });
//   await c.helm(['list', '-A']);
//   await c.request('/version', { as: null });                       // raw HTTPS, anonymous
//
// A user is reached through its own kubeconfig context (bearer token) when there is one, which is
// always the case on the control plane the harness starts; otherwise by impersonation
// (--as/--as-group) from the admin context.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInfo, type ClusterInfo, type UserInfo } from './info.ts';
import { httpsRequest, run, type HttpResponse, type RunOptions, type RunResult } from './proc.ts';
import { ADMIN } from './users.ts';

export { ADMIN, USERS } from './users.ts';
export type { ClusterInfo, UserInfo } from './info.ts';
export type { HttpResponse, RunResult } from './proc.ts';
export { CommandError } from './proc.ts';

export interface AsOptions {
  /** A user of users.ts; default admin. */
  as?: string;
}

export interface Cluster extends ClusterInfo {
  /** Bearer tokens by user name, for the users that have one. */
  tokens: Record<string, string>;
  kubectl(args: readonly string[], opts?: AsOptions & RunOptions): Promise<RunResult>;
  helm(args: readonly string[], opts?: AsOptions & RunOptions): Promise<RunResult>;
  /** HTTPS to the API server trusting its CA; `as: null` sends no credentials. */
  request(
    pathOrUrl: string,
    opts?: { as?: string | null; method?: string; body?: string; headers?: Record<string, string> },
  ): Promise<HttpResponse>;
  /** The repository root, for paths like crds/ and examples/. */
  repoRoot: string;
}

let cached: Cluster | undefined;

export function cluster(): Cluster {
  cached ??= clusterOf(readInfo());
  return cached;
}

/** The same helpers for any cluster the harness describes (e.g. the one-node cluster of pods.ts). */
export function clusterOf(info: ClusterInfo): Cluster {
  const user = (name: string): UserInfo => {
    const u = info.users[name];
    if (!u) throw new Error(`unknown e2e user ${JSON.stringify(name)}; known: ${Object.keys(info.users).join(', ')}`);
    return u;
  };
  const tokens: Record<string, string> = {};
  for (const u of Object.values(info.users)) if (u.token) tokens[u.name] = u.token;
  const kubeCache = join(info.runDir, 'kube-cache');
  const helmHome = join(info.runDir, 'helm');
  mkdirSync(helmHome, { recursive: true });

  const identity = (name: string | undefined) => {
    const u = user(name ?? ADMIN);
    if (u.context) return { context: u.context, as: undefined };
    return { context: info.adminContext, as: u };
  };

  return {
    ...info,
    tokens,
    repoRoot: fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, ''),
    kubectl(args, opts = {}) {
      const id = identity(opts.as);
      const flags = ['--kubeconfig', info.kubeconfigPath, '--cache-dir', kubeCache, '--context', id.context];
      if (id.as) flags.push(`--as=${id.as.name}`, ...id.as.groups.map((g) => `--as-group=${g}`));
      return run(join(info.binDir, 'kubectl'), [...flags, ...args], opts);
    },
    helm(args, opts = {}) {
      const id = identity(opts.as);
      const flags = ['--kubeconfig', info.kubeconfigPath, '--kube-context', id.context];
      if (id.as) flags.push(`--kube-as-user=${id.as.name}`, ...id.as.groups.map((g) => `--kube-as-group=${g}`));
      const env = {
        ...process.env,
        HELM_CACHE_HOME: join(helmHome, 'cache'),
        HELM_CONFIG_HOME: join(helmHome, 'config'),
        HELM_DATA_HOME: join(helmHome, 'data'),
        ...opts.env,
      };
      return run(join(info.binDir, 'helm'), [...flags, ...args], { ...opts, env });
    },
    request(pathOrUrl, opts = {}) {
      const url = /^https?:/.test(pathOrUrl) ? pathOrUrl : `${info.server}${pathOrUrl}`;
      let token: string | undefined;
      if (opts.as !== null) {
        const u = user(opts.as ?? ADMIN);
        token = u.token;
        if (!token) throw new Error(`no bearer token for ${u.name} on this cluster; use kubectl (impersonation) instead`);
      }
      return httpsRequest(url, {
        ...(info.caData ? { ca: info.caData } : {}),
        ...(token ? { token } : {}),
        ...(opts.method ? { method: opts.method } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        ...(opts.headers ? { headers: opts.headers } : {}),
      });
    },
  };
}

/** `kubectl apply -f crds/` and wait until both CRDs are Established. Idempotent. */
export async function applyCrds(c: Cluster = cluster()): Promise<RunResult> {
  const applied = await c.kubectl(['apply', '-f', join(c.repoRoot, 'crds')]);
  // Right after a CRD is created its status may have no conditions yet, and `kubectl wait` then fails
  // at once ("status.conditions accessor error") instead of waiting: ask again until Established.
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await c.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CRDS.map((n) => `crd/${n}`)], {
      allowFailure: true,
    });
    if (r.code === 0) break;
    if (Date.now() > end || !/accessor error|not found/.test(r.stderr))
      throw new Error(`the CRDs did not become Established: ${r.stderr || r.stdout}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  return applied;
}

export const CRDS = ['modelscopes.scopekeeper.dev', 'accessreviews.scopekeeper.dev'] as const;

/**
 * Creates the namespace unless it exists. (There is no kube-controller-manager on the local control
 * plane: a deleted namespace stays Terminating, so specs reuse namespaces rather than delete them.)
 */
export async function ensureNamespace(name: string, c: Cluster = cluster()): Promise<void> {
  const got = await c.kubectl(['get', 'namespace', name, '-o', 'name'], { allowFailure: true });
  if (got.code === 0) return;
  await c.kubectl(['create', 'namespace', name]);
}
