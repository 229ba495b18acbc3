// An existing cluster from $KUBECONFIG: used instead of starting one when it answers.
import { writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { ClusterInfo, UserInfo } from './info.ts';
import { httpsRequest, log, run } from './proc.ts';
import { ADMIN, USERS } from './users.ts';

interface KubeconfigView {
  'current-context'?: string;
  clusters?: { name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean } }[];
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  users?: { name: string; user: { token?: string } }[];
}

/** The cluster of $KUBECONFIG, or undefined (with the reason on stderr) when it does not answer. */
export async function existingCluster(binDir: string, runDir: string): Promise<ClusterInfo | undefined> {
  const env = process.env.KUBECONFIG ?? '';
  const kubectl = join(binDir, 'kubectl');
  const cacheDir = join(runDir, 'kube-cache');
  let kubeconfigPath = env;
  if (env.includes(delimiter)) {
    // --kubeconfig takes one file: merge the list the way kubectl does.
    const merged = await run(kubectl, ['config', 'view', '--raw', '--flatten'], { allowFailure: true });
    if (merged.code !== 0) {
      log(`KUBECONFIG=${env} cannot be read (${merged.stderr.trim()}); starting a local control plane`);
      return undefined;
    }
    kubeconfigPath = join(runDir, 'kubeconfig');
    writeFileSync(kubeconfigPath, merged.stdout, { mode: 0o600 });
  }
  const k = (args: string[]) =>
    run(kubectl, ['--kubeconfig', kubeconfigPath, '--cache-dir', cacheDir, ...args], { allowFailure: true, timeoutMs: 20_000 });

  const ready = await k(['--request-timeout=5s', 'get', '--raw', '/readyz']);
  if (ready.code !== 0) {
    log(
      `KUBECONFIG=${env} is set but its cluster does not answer (${ready.stderr.trim().split('\n').pop()}); starting a local control plane instead`,
    );
    return undefined;
  }
  const view = JSON.parse((await k(['config', 'view', '--raw', '--flatten', '-o', 'json'])).stdout) as KubeconfigView;
  const current = view['current-context'] ?? '';
  const ctx = (name: string) => view.contexts?.find((c) => c.name === name)?.context;
  const cur = ctx(current);
  const cluster = view.clusters?.find((c) => c.name === cur?.cluster)?.cluster;
  if (!cur || !cluster) throw new Error(`KUBECONFIG=${env}: current context ${JSON.stringify(current)} names no cluster`);
  const tokenOf = (user: string | undefined) => view.users?.find((u) => u.name === user)?.user.token;

  // A user with a context of its own name (as start-cluster.ts writes them) authenticates through it;
  // any other user is impersonated by the admin context.
  const users: Record<string, UserInfo> = {};
  for (const u of USERS) {
    const c = u.name === ADMIN ? cur : ctx(u.name);
    const context = u.name === ADMIN ? current : c && c.cluster === cur.cluster ? u.name : undefined;
    const token = context ? tokenOf(c?.user) : undefined;
    users[u.name] = { name: u.name, groups: [...u.groups], ...(context ? { context } : {}), ...(token ? { token } : {}) };
  }

  let caData: string | undefined;
  let caFile: string | undefined;
  if (cluster['certificate-authority-data']) {
    caData = Buffer.from(cluster['certificate-authority-data'], 'base64').toString();
    caFile = join(runDir, 'ca.crt');
    writeFileSync(caFile, caData);
  }
  const version = JSON.parse((await k(['get', '--raw', '/version'])).stdout) as { gitVersion: string };
  const discovery = await k(['get', '--raw', '/.well-known/openid-configuration']);
  const serviceAccountIssuer = discovery.code === 0 ? (JSON.parse(discovery.stdout) as { issuer: string }).issuer : undefined;
  let anonymousDiscovery = false;
  try {
    const r = await httpsRequest(`${cluster.server}/.well-known/openid-configuration`, caData ? { ca: caData } : {});
    anonymousDiscovery = r.status === 200;
  } catch {
    /* not reachable without credentials */
  }
  log(
    `using the existing cluster of KUBECONFIG=${env}: ${cluster.server} (${version.gitVersion}, context ${current}); unset KUBECONFIG to start a local control plane`,
  );
  return {
    mode: 'existing',
    server: cluster.server,
    kubeconfigPath,
    adminContext: current,
    ...(caFile ? { caFile, caData } : {}),
    binDir,
    runDir,
    users,
    ...(serviceAccountIssuer ? { serviceAccountIssuer } : {}),
    anonymousDiscovery,
    serverVersion: version.gitVersion,
  };
}
