// Builds (or finds) and runs a real control plane on loopback: etcd + kube-apiserver with the
// flags envtest uses, RBAC, a token file for the users of users.ts, service-account issuer
// discovery readable without credentials. Used by global-setup.ts and start-cluster.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { httpsRequest, freePorts, log, run, sleep } from './proc.ts';
import { ADMIN, USERS } from './users.ts';
import type { UserInfo } from './info.ts';
import { LocalIssuer } from '../../packages/sidecar/src/identity/local-issuer.ts';
import { generateCA, issueServingCert } from '../../packages/operator/src/webhook/certs.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const cacheRoot = (): string => process.env.SCOPEKEEPER_CACHE || join(homedir(), '.cache', 'scopekeeper');

/**
 * The directory with kube-apiserver, etcd, kubectl and helm: e2e/controlplane/build.sh builds them
 * once into the cache (or takes them from KUBEBUILDER_ASSETS). Its log goes to our stderr.
 */
export async function controlPlaneBinaries(): Promise<string> {
  const t0 = performance.now();
  const out = await new Promise<string>((resolvePath, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'e2e/controlplane/build.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePath(stdout) : reject(new Error(`e2e/controlplane/build.sh exited ${code}; see its log above`)),
    );
  });
  const dir = out.trim().split('\n').pop() ?? '';
  for (const b of ['kube-apiserver', 'etcd', 'kubectl', 'helm']) {
    if (!existsSync(join(dir, b))) throw new Error(`build.sh printed ${JSON.stringify(dir)}, which lacks ${b}`);
  }
  const s = (performance.now() - t0) / 1000;
  if (s > 1) log(`control plane binaries ready in ${s.toFixed(1)} s`);
  return dir;
}

/** A fresh folder for the logs of one run: $SCOPEKEEPER_CACHE/e2e-logs/<UTC timestamp>-<pid>. */
export function newLogDir(): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(cacheRoot(), 'e2e-logs', `${stamp}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface LocalControlPlane {
  server: string;
  kubeconfigPath: string;
  caFile: string;
  caData: string;
  users: Record<string, UserInfo>;
  serviceAccountIssuer: string;
  /** The IdP the API server trusts for OIDC users (also usable by a sidecar: tokens carry aud scopekeeper too). */
  oidc: { issuer: string; caFile: string };
  serverVersion: string;
  logDir: string;
  pids: { etcd: number; apiserver: number; watchdog: number };
  /** SIGTERM both, wait (SIGKILL after 10 s), stop the watchdog. Idempotent. */
  stop(): Promise<void>;
  /** Synchronous best effort for exit handlers: SIGTERM both; the watchdog finishes the job. */
  killNow(): void;
}

export interface StartOptions {
  binDir: string;
  /** Holds etcd's data, certs, keys, the token file and the kubeconfig; removed by the watchdog if we die. */
  runDir: string;
  logDir: string;
  readyTimeoutMs?: number;
}

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  code: number | null | undefined;
}

function startProc(name: string, bin: string, args: string[], logFile: string): Proc {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const p: Proc = { name, child, exited: Promise.resolve(), code: undefined };
  p.exited = new Promise((r) => {
    child.on('exit', (code, signal) => {
      p.code = code ?? (signal ? 128 : null);
      r();
    });
    child.on('error', (e) => {
      writeFileSync(logFile, `spawn failed: ${e.message}\n`, { flag: 'a' });
      p.code = 127;
      r();
    });
  });
  child.unref();
  return p;
}

async function terminate(p: Proc): Promise<void> {
  if (p.code !== undefined || p.child.pid === undefined) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(timer);
}

const tail = (file: string, lines = 25): string => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
};

/**
 * A process that outlives us only to clean up: when `parent` is gone it stops the control plane
 * (TERM, then KILL after 5 s) and removes runDir. Covers a jest killed with SIGKILL.
 */
function startWatchdog(runDir: string, pids: number[]): number {
  const script = `p=$1; d=$2; shift 2
while kill -0 "$p" 2>/dev/null; do sleep 1; done
kill -TERM "$@" 2>/dev/null; sleep 5; kill -KILL "$@" 2>/dev/null; rm -rf "$d"`;
  const w = spawn('sh', ['-c', script, 'scopekeeper-e2e-watchdog', String(process.pid), runDir, ...pids.map(String)], {
    detached: true,
    stdio: 'ignore',
  });
  w.unref();
  return w.pid ?? 0;
}

export async function startControlPlane(opts: StartOptions): Promise<LocalControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, attempt);
    } catch (e) {
      // Ports are picked free and then released: another process may take one in between.
      const clash = /address already in use/.test(
        tail(join(opts.logDir, `etcd-${attempt}.log`), 200) + tail(join(opts.logDir, `kube-apiserver-${attempt}.log`), 200),
      );
      if (!clash || attempt >= 3) throw e;
      log(`port clash on attempt ${attempt}; retrying with new ports`);
    }
  }
}

async function startOnce(opts: StartOptions, attempt: number): Promise<LocalControlPlane> {
  const { binDir, runDir, logDir } = opts;
  const t0 = performance.now();
  const [etcdClient, etcdPeer, apiPort] = (await freePorts(3)) as [number, number, number];
  const server = `https://127.0.0.1:${apiPort}`;
  const issuer = server;

  const etcdDir = join(runDir, `etcd-${attempt}`);
  const certDir = join(runDir, 'certs');
  mkdirSync(etcdDir, { recursive: true, mode: 0o700 });
  mkdirSync(certDir, { recursive: true });

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(runDir, 'sa.key');
  const saPub = join(runDir, 'sa.pub');
  writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));

  // An OIDC issuer on loopback (https, as the API server requires) for the IdP users.
  const ca = await generateCA({ commonName: 'scopekeeper-e2e-oidc' });
  const serving = await issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const oidcCa = join(runDir, 'oidc-ca.crt');
  writeFileSync(oidcCa, ca.certPem);
  const oidc = await LocalIssuer.start({ tls: { key: serving.keyPem, cert: serving.certPem }, audience: 'kubernetes' });

  const users: Record<string, UserInfo> = {};
  const csv: string[] = [];
  for (const u of USERS) {
    if (u.oidc) {
      // aud carries the API server's client id and scopekeeper: the same sign-in reaches kubectl and a sidecar.
      const token = await oidc.mint({
        sub: `idp-${u.name.replace(/@.*/, '')}`,
        email: u.name,
        email_verified: true,
        groups: [...u.groups],
        aud: ['kubernetes', 'scopekeeper'],
        ttlSeconds: 3600,
      });
      users[u.name] = { name: u.name, groups: [...u.groups], token, context: u.name, oidc: true };
      continue;
    }
    const token = randomBytes(24).toString('hex');
    users[u.name] = { name: u.name, groups: [...u.groups], token, context: u.name };
    const uid = `uid-${u.name.replace(/@.*/, '')}`;
    csv.push(u.groups.length ? `${token},${u.name},${uid},"${u.groups.join(',')}"` : `${token},${u.name},${uid}`);
  }
  const tokenFile = join(runDir, 'tokens.csv');
  writeFileSync(tokenFile, csv.join('\n') + '\n', { mode: 0o600 });

  const etcdArgs = [
    '--name=default',
    `--data-dir=${etcdDir}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
    '--unsafe-no-fsync',
  ];
  const apiArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    `--cert-dir=${certDir}`,
    `--secure-port=${apiPort}`,
    '--bind-address=127.0.0.1',
    // v1.37 refuses a loopback advertise address with the default endpoint reconciler.
    '--advertise-address=127.0.0.1',
    '--endpoint-reconciler-type=none',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    // No kube-controller-manager: no default service accounts to admit pods against.
    '--disable-admission-plugins=ServiceAccount',
    '--authorization-mode=RBAC',
    '--anonymous-auth=true',
    `--token-auth-file=${tokenFile}`,
    // Issuer = the server's own URL, so `${iss}/.well-known/openid-configuration` is real OIDC discovery.
    `--service-account-issuer=${issuer}`,
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    `--oidc-issuer-url=${oidc.issuer}`,
    '--oidc-client-id=kubernetes',
    `--oidc-ca-file=${oidcCa}`,
    '--oidc-username-claim=email',
    '--oidc-groups-claim=groups',
  ];
  const etcdLog = join(logDir, `etcd-${attempt}.log`);
  const apiLog = join(logDir, `kube-apiserver-${attempt}.log`);
  writeFileSync(
    join(logDir, 'commands.txt'),
    `# attempt ${attempt}\n${join(binDir, 'etcd')} ${etcdArgs.join(' ')}\n${join(binDir, 'kube-apiserver')} ${apiArgs.join(' ')}\n`,
    { flag: 'a' },
  );

  const etcd = startProc('etcd', join(binDir, 'etcd'), etcdArgs, etcdLog);
  const apiserver = startProc('kube-apiserver', join(binDir, 'kube-apiserver'), apiArgs, apiLog);
  const watchdog = startWatchdog(
    runDir,
    [apiserver.child.pid ?? 0, etcd.child.pid ?? 0].filter((p) => p > 0),
  );

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await terminate(apiserver);
    await terminate(etcd);
    await oidc.close();
    try {
      process.kill(watchdog, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  const killNow = (): void => {
    if (stopped) return;
    for (const p of [apiserver, etcd]) if (p.code === undefined) p.child.kill('SIGTERM');
  };

  try {
    const caFile = join(certDir, 'apiserver.crt');
    const admin = users[ADMIN]!.token;
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
    let last = '';
    for (;;) {
      for (const p of [etcd, apiserver]) {
        if (p.code !== undefined) {
          throw new Error(
            `${p.name} exited (${p.code}) during start; last lines of ${p.name === 'etcd' ? etcdLog : apiLog}:\n${tail(p.name === 'etcd' ? etcdLog : apiLog)}`,
          );
        }
      }
      if (Date.now() > deadline) {
        throw new Error(
          `kube-apiserver not ready after ${opts.readyTimeoutMs ?? 90_000} ms (${last}); last lines of ${apiLog}:\n${tail(apiLog)}`,
        );
      }
      if (existsSync(caFile)) {
        try {
          const r = await httpsRequest(`${server}/readyz`, { ca: readFileSync(caFile, 'utf8'), token: admin, timeoutMs: 2000 });
          if (r.status === 200) break;
          last = `readyz ${r.status}: ${
            r.body
              .trim()
              .split('\n')
              .filter((l) => l.includes('[-]'))
              .join(', ') || r.body.slice(0, 200)
          }`;
        } catch (e) {
          last = (e as Error).message;
        }
      } else {
        last = 'no serving certificate yet';
      }
      await sleep(250);
    }
    const caData = readFileSync(caFile, 'utf8');

    const kubeconfigPath = join(runDir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(server, caData, users), { mode: 0o600 });

    // Issuer discovery without credentials, as a cluster that serves OIDC discovery to relying parties does.
    await run(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfigPath, '--cache-dir', join(runDir, 'kube-cache'), 'apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'scopekeeper-e2e:service-account-issuer-discovery' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:service-account-issuer-discovery' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:unauthenticated' }],
      }),
    });
    const version = JSON.parse((await httpsRequest(`${server}/version`, { ca: caData, token: admin })).body) as { gitVersion: string };
    log(`control plane ${version.gitVersion} ready at ${server} in ${((performance.now() - t0) / 1000).toFixed(1)} s (logs: ${logDir})`);

    return {
      server,
      kubeconfigPath,
      caFile,
      caData,
      users,
      serviceAccountIssuer: issuer,
      oidc: { issuer: oidc.issuer, caFile: oidcCa },
      serverVersion: version.gitVersion,
      logDir,
      pids: { etcd: etcd.child.pid ?? 0, apiserver: apiserver.child.pid ?? 0, watchdog },
      stop,
      killNow,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function kubeconfig(server: string, caData: string, users: Record<string, UserInfo>): string {
  const cluster = 'scopekeeper-e2e';
  const names = Object.keys(users);
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': Buffer.from(caData).toString('base64') } }],
    users: names.map((n) => ({ name: n, user: { token: users[n]!.token } })),
    contexts: names.map((n) => ({ name: n, context: { cluster, user: n } })),
    'current-context': ADMIN,
  });
}
