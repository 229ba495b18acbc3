// A one-node Kubernetes cluster for the specs that need real pods (e2e/pods/), all of it inside a
// network namespace the harness creates and deletes: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd (+ runc, CNI bridge), kubelet and kube-proxy. The node IP, the pod
// range and the service range exist only in that namespace, whose only other interface is a bridge
// without ports (a packet routed out of it reaches no one): nothing leaves. The specs, outside, reach the API server
// through a bridge (bridge.ts: a loopback port -> a Unix socket -> the API server's port inside).
//
// Binaries: e2e/controlplane/build.sh node (Go modules, cached); containerd, runc, the CNI plugins
// and iptables from Debian's packages unpacked into the cache (scripts/debs.sh). Host hygiene:
// node-host.ts. Facts this depends on (DESIGN.md §10): cgroup v1 (failCgroupV1: false, cgroupfs
// driver, a cgroupRoot of our own), containerd restrict_oom_score_adj (root lacks
// CAP_SYS_RESOURCE), a pause image of our own, a non-loopback node IP.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateCA, issueServingCert } from '../../packages/operator/src/webhook/certs.ts';
import { REPO_ROOT } from './controlplane.ts';
import type { ClusterInfo, UserInfo } from './info.ts';
import { NODE_LOCK, alive, createCgroups, readState, recordHost, teardownNode, writeState, type NodeState } from './node-host.ts';
import { httpsRequest, log, run, sleep } from './proc.ts';
import { debs } from './tools.ts';
import { ADMIN, USERS } from './users.ts';

export const NODE = {
  netns: 'scopekeeper-e2e',
  name: 'sk-node',
  ip: '10.213.0.2',
  podCIDR: '10.214.0.0/24',
  serviceCIDR: '10.215.0.0/24',
  /** The `kubernetes` Service's ClusterIP: also the service-account issuer pods verify against. */
  apiServiceIP: '10.215.0.1',
  cgroupRoot: 'scopekeeper-e2e',
} as const;

/** Debian packages of the node (dependencies named: debs.sh follows none). */
export const NODE_DEBS = [
  'containerd',
  'runc',
  'containernetworking-plugins',
  'iptables',
  'libip4tc2',
  'libip6tc2',
  'libxtables12',
  'libnftnl11',
  'libmnl0',
  'libnfnetlink0',
  'libnetfilter-conntrack3',
];

export interface NodeClusterInfo extends ClusterInfo {
  node: {
    netns: string;
    name: string;
    ip: string;
    /** Where the harness keeps the node's files (containerd socket, bridges' sockets). */
    runDir: string;
    containerdSocket: string;
    /** ctr and friends; nsenter prefix for running a command inside the namespace. */
    debsRoot: string;
    /** Environment for commands inside the namespace (PATH with iptables, containerd, CNI). */
    env: Record<string, string>;
    issuer: string;
  };
}

export interface NodeCluster {
  info: NodeClusterInfo;
  /** Stops everything, restores the host. Idempotent. */
  stop(): void;
}

/** The node's binaries: build.sh node prints a directory with the control plane's and the node's. */
async function nodeBinaries(): Promise<string> {
  const out = await run('bash', [join(REPO_ROOT, 'e2e/controlplane/build.sh'), 'node'], { timeoutMs: 60 * 60_000 }).catch((e: Error) => {
    throw new Error(`e2e/controlplane/build.sh node failed: ${e.message}`);
  });
  process.stderr.write(
    out.stderr
      .split('\n')
      .filter((l) => !/up to date/.test(l))
      .join('\n'),
  );
  return out.stdout.trim().split('\n').pop() ?? '';
}

/** `nsenter --net=<ns>`: the command runs in the node's network namespace, nothing else changes. */
export const inNetns = (netns: string, cmd: string, args: readonly string[]): [string, string[]] => [
  'nsenter',
  [`--net=/run/netns/${netns}`, cmd, ...args],
];

export async function startNodeCluster(opts: { logDir: string }): Promise<NodeCluster> {
  const t0 = performance.now();
  const stale = readState();
  if (stale) {
    if (alive(stale.owner) && stale.owner !== process.pid) {
      throw new Error(
        `a one-node e2e cluster is already running on this machine (owner pid ${stale.owner}, ${NODE_LOCK}); only one node fits (fixed paths, cgroups, sysctls): wait for it or stop that process`,
      );
    }
    log(`cleaning up a node left by pid ${stale.owner}: ${teardownNode(stale).join('; ') || 'nothing was running'}`);
  }
  const binDir = await nodeBinaries();
  const debsRoot = debs('node', NODE_DEBS);
  const tBins = performance.now();

  const runDir = mkdtempSync('/tmp/scopekeeper-node-');
  const containerdSocket = join(runDir, 'containerd/containerd.sock');
  const state: NodeState = {
    owner: process.pid,
    netns: NODE.netns,
    runDir,
    cgroupRoot: NODE.cgroupRoot,
    containerdSocket,
    procs: [],
    ...recordHost(NODE.netns),
  };
  writeState(state);
  // Everything of the node (images, snapshots, volumes, etcd) lives in memory: the teardown is an
  // unmount, not the deletion of ~1 GB of small files on a busy disk.
  await run('mount', ['-t', 'tmpfs', '-o', 'size=4g,mode=0755', 'scopekeeper-node', runDir]);
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    const notes = teardownNode(state);
    log(`node stopped${notes.length ? `: ${notes.join('; ')}` : ''}`);
  };
  try {
    const info = await boot(state, { binDir, debsRoot, logDir: opts.logDir });
    log(`one-node cluster ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (binaries ${((tBins - t0) / 1000).toFixed(1)} s)`);
    return { info, stop };
  } catch (e) {
    log(`the node did not start: ${(e as Error).message}\nlogs in ${opts.logDir}`);
    stop();
    throw e;
  }
}

async function boot(state: NodeState, o: { binDir: string; debsRoot: string; logDir: string }): Promise<NodeClusterInfo> {
  const { runDir, containerdSocket } = state;
  const { binDir, debsRoot, logDir } = o;
  const ns = NODE.netns;
  const sh = (cmd: string, args: string[]) => run(cmd, args, { timeoutMs: 30_000 });

  // ---- the network namespace: lo, and the node IP on a bridge without ports (this kernel has no
  // dummy device): what is routed out of it reaches no one. The default route points there too.
  await sh('ip', ['netns', 'add', ns]);
  await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await sh('ip', ['-n', ns, 'link', 'add', 'sk0', 'type', 'bridge']);
  await sh('ip', ['-n', ns, 'addr', 'add', `${NODE.ip}/24`, 'dev', 'sk0']);
  await sh('ip', ['-n', ns, 'link', 'set', 'sk0', 'up']);
  await sh('ip', ['-n', ns, 'route', 'add', 'default', 'dev', 'sk0']);
  await sh(...inNetns(ns, 'sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']));

  // ---- tools inside: iptables (nft backend) by the names kube-proxy and the CNI plugins call ----
  const toolBin = join(runDir, 'bin');
  mkdirSync(toolBin);
  for (const n of ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore']) {
    symlinkSync(join(debsRoot, 'usr/sbin/xtables-nft-multi'), join(toolBin, n));
  }
  const libDir = join(debsRoot, 'usr/lib/x86_64-linux-gnu');
  const env: Record<string, string> = {
    PATH: [toolBin, join(debsRoot, 'usr/bin'), join(debsRoot, 'usr/sbin'), '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':'),
    LD_LIBRARY_PATH: libDir,
    XTABLES_LIBDIR: join(libDir, 'xtables'),
    HOME: runDir,
  };

  // ---- PKI, users, kubeconfigs -------------------------------------------------------------------
  const pki = join(runDir, 'pki');
  mkdirSync(pki);
  const ca = await generateCA({ commonName: 'scopekeeper-e2e-node-ca' });
  const serving = await issueServingCert(ca, {
    dnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'],
    ipAddresses: ['127.0.0.1', NODE.ip, NODE.apiServiceIP],
  });
  const caFile = join(pki, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  writeFileSync(join(pki, 'apiserver.crt'), `${serving.certPem.trim()}\n${ca.certPem.trim()}\n`);
  writeFileSync(join(pki, 'apiserver.key'), serving.keyPem, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(pki, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(pki, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

  const users: Record<string, UserInfo> = {};
  const csv: string[] = [];
  const token = () => randomBytes(24).toString('hex');
  for (const u of USERS.filter((x) => !x.oidc)) {
    const t = token();
    users[u.name] = { name: u.name, groups: [...u.groups], token: t, context: u.name };
    csv.push(`${t},${u.name},uid-${u.name.replace(/@.*/, '')}${u.groups.length ? `,"${u.groups.join(',')}"` : ''}`);
  }
  const components: Record<string, string> = {};
  for (const [c, user, groups] of [
    ['kubelet', `system:node:${NODE.name}`, 'system:nodes'],
    ['kube-controller-manager', 'system:kube-controller-manager', ''],
    ['kube-scheduler', 'system:kube-scheduler', ''],
    ['kube-proxy', 'system:kube-proxy', ''],
  ] as const) {
    const t = token();
    csv.push(`${t},${user},uid-${c}${groups ? `,"${groups}"` : ''}`);
    components[c] = kubeconfig(join(runDir, `${c}.kubeconfig`), 'https://127.0.0.1:6443', caFile, { [c]: t }, c);
  }
  writeFileSync(join(pki, 'tokens.csv'), `${csv.join('\n')}\n`, { mode: 0o600 });

  const procs = new Procs(state, logDir, env);
  const nsStart = (name: string, bin: string, args: string[]) => procs.start(name, ...inNetns(ns, bin, args));

  // ---- etcd, kube-apiserver ------------------------------------------------------------------
  nsStart('etcd', join(binDir, 'etcd'), [
    '--name=default',
    `--data-dir=${join(runDir, 'etcd')}`,
    '--listen-client-urls=http://127.0.0.1:2379',
    '--advertise-client-urls=http://127.0.0.1:2379',
    '--listen-peer-urls=http://127.0.0.1:2380',
    '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    '--initial-cluster=default=http://127.0.0.1:2380',
    '--unsafe-no-fsync',
  ]);
  const issuer = `https://${NODE.apiServiceIP}`;
  nsStart('kube-apiserver', join(binDir, 'kube-apiserver'), [
    '--etcd-servers=http://127.0.0.1:2379',
    '--secure-port=6443',
    '--bind-address=0.0.0.0',
    `--advertise-address=${NODE.ip}`,
    `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
    `--service-cluster-ip-range=${NODE.serviceCIDR}`,
    '--allow-privileged=true',
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--anonymous-auth=true',
    `--token-auth-file=${join(pki, 'tokens.csv')}`,
    // Pods verify their projected tokens against the issuer's discovery, reached at the Service IP.
    `--service-account-issuer=${issuer}`,
    `--service-account-jwks-uri=${issuer}/openid/v1/jwks`,
    `--service-account-key-file=${join(pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
    '--kubelet-preferred-address-types=InternalIP',
    `--cert-dir=${join(runDir, 'apiserver-certs')}`,
  ]);

  // The API server for the specs outside: loopback port -> socket -> 127.0.0.1:6443 inside.
  const apiSock = join(runDir, 'api.sock');
  await procs.bridge('bridge-api-in', [`unix:${apiSock}`, 'tcp:127.0.0.1:6443'], ns);
  const outside = await procs.bridge('bridge-api-out', ['tcp:127.0.0.1:0', `unix:${apiSock}`]);
  const server = `https://127.0.0.1:${outside.split(':').pop()}`;
  const admin = users[ADMIN]!.token!;
  await waitFor(
    'kube-apiserver /readyz',
    async () =>
      (await httpsRequest(`${server}/readyz`, { ca: ca.certPem, token: admin, timeoutMs: 2000 }).catch(() => undefined))?.status === 200,
    90_000,
    procs,
  );

  const kubeconfigPath = kubeconfig(
    join(runDir, 'kubeconfig'),
    server,
    caFile,
    Object.fromEntries(Object.values(users).map((u) => [u.name, u.token!])),
    ADMIN,
  );
  const kubectl = (args: string[], input?: string) =>
    run(
      join(binDir, 'kubectl'),
      ['--kubeconfig', kubeconfigPath, '--cache-dir', join(runDir, 'kube-cache'), ...args],
      input ? { input } : {},
    );
  // Service-account issuer discovery readable without credentials (what a sidecar fetches).
  await kubectl([
    'create',
    'clusterrolebinding',
    'e2e-issuer-discovery',
    '--clusterrole=system:service-account-issuer-discovery',
    '--group=system:unauthenticated',
  ]);

  // ---- controller-manager, scheduler ----------------------------------------------------------
  nsStart('kube-controller-manager', join(binDir, 'kube-controller-manager'), [
    `--kubeconfig=${components['kube-controller-manager']}`,
    `--authentication-kubeconfig=${components['kube-controller-manager']}`,
    `--authorization-kubeconfig=${components['kube-controller-manager']}`,
    `--service-account-private-key-file=${join(pki, 'sa.key')}`,
    `--root-ca-file=${caFile}`,
    '--use-service-account-credentials=true',
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--service-cluster-ip-range=${NODE.serviceCIDR}`,
    `--cluster-cidr=${NODE.podCIDR}`,
    '--allocate-node-cidrs=false',
  ]);
  nsStart('kube-scheduler', join(binDir, 'kube-scheduler'), [
    `--kubeconfig=${components['kube-scheduler']}`,
    `--authentication-kubeconfig=${components['kube-scheduler']}`,
    `--authorization-kubeconfig=${components['kube-scheduler']}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
  ]);

  // ---- containerd (CNI bridge), images ---------------------------------------------------------
  const cniConf = join(runDir, 'cni/net.d');
  mkdirSync(cniConf, { recursive: true });
  writeFileSync(
    join(cniConf, '10-scopekeeper-e2e.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'scopekeeper-e2e',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: NODE.podCIDR }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(runDir, 'cni/ipam'),
          },
        },
      ],
    }),
  );
  const pauseRef = 'scopekeeper.local/pause:e2e';
  const containerdConf = join(runDir, 'containerd.toml');
  writeFileSync(
    containerdConf,
    `version = 2
root = "${join(runDir, 'containerd/root')}"
state = "${join(runDir, 'containerd/state')}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${containerdSocket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(runDir, 'containerd/opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseRef}"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "${join(debsRoot, 'usr/sbin/runc')}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${join(debsRoot, 'usr/lib/cni')}"
    conf_dir = "${cniConf}"
`,
  );
  nsStart('containerd', join(debsRoot, 'usr/bin/containerd'), ['--config', containerdConf]);
  await waitFor('containerd socket', () => existsSync(containerdSocket), 30_000, procs);
  const ctr = (args: string[]) =>
    run(join(debsRoot, 'usr/bin/ctr'), ['--address', containerdSocket, '-n', 'k8s.io', ...args], {
      env: { ...process.env, ...env },
      timeoutMs: 300_000,
    });
  await waitFor('containerd answering', async () => (await ctr(['version']).catch(() => undefined)) !== undefined, 30_000, procs);
  const pauseArchive = await pauseImage(binDir, join(runDir, 'pause.oci.tar'));
  await ctr(['images', 'import', '--base-name', 'scopekeeper.local/pause', pauseArchive]);

  // ---- kubelet, kube-proxy ---------------------------------------------------------------------
  const resolvConf = join(runDir, 'resolv.conf');
  // Nothing resolves an outside name: no nameserver (the pods get this file too).
  writeFileSync(resolvConf, 'options ndots:1\n');
  const kubeletConf = join(runDir, 'kubelet.yaml');
  writeFileSync(
    kubeletConf,
    stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${NODE.cgroupRoot}`,
      containerRuntimeEndpoint: `unix://${containerdSocket}`,
      address: NODE.ip,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10248,
      // Only the API server (inside the namespace) reaches the kubelet.
      authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
      authorization: { mode: 'AlwaysAllow' },
      resolvConf,
      podLogsDirectory: join(runDir, 'pod-logs'),
      failSwapOn: false,
      protectKernelDefaults: false,
      // The machine is shared: no eviction or image GC because of others' disk or memory use.
      evictionHard: { 'memory.available': '0%', 'nodefs.available': '0%', 'imagefs.available': '0%', 'nodefs.inodesFree': '0%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      localStorageCapacityIsolation: false,
      clusterDomain: 'cluster.local',
      nodeStatusUpdateFrequency: '2s',
      syncFrequency: '5s',
    }),
  );
  createCgroups(NODE.cgroupRoot);
  nsStart('kubelet', join(binDir, 'kubelet'), [
    `--config=${kubeletConf}`,
    `--kubeconfig=${components.kubelet}`,
    `--root-dir=${join(runDir, 'kubelet')}`,
    `--cert-dir=${join(runDir, 'kubelet-pki')}`,
    `--node-ip=${NODE.ip}`,
    `--hostname-override=${NODE.name}`,
  ]);
  const proxyConf = join(runDir, 'kube-proxy.yaml');
  writeFileSync(
    proxyConf,
    stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig: components['kube-proxy'] },
      mode: 'iptables',
      clusterCIDR: NODE.podCIDR,
      hostnameOverride: NODE.name,
      metricsBindAddress: '127.0.0.1:10249',
      healthzBindAddress: '127.0.0.1:10256',
      // No global conntrack sysctls; no route_localnet (no NodePorts on loopback).
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      iptables: { masqueradeAll: true, localhostNodePorts: false },
    }),
  );
  nsStart('kube-proxy', join(binDir, 'kube-proxy'), [`--config=${proxyConf}`]);

  await waitFor(
    `node ${NODE.name} Ready`,
    async () => {
      const r = await kubectl(['get', 'node', NODE.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).catch(
        () => undefined,
      );
      return r?.stdout.trim() === 'True';
    },
    120_000,
    procs,
  );
  await waitFor(
    'the default service account',
    async () => (await kubectl(['get', 'serviceaccount', 'default', '-n', 'default']).catch(() => undefined)) !== undefined,
    60_000,
    procs,
  );

  const version = JSON.parse((await kubectl(['get', '--raw', '/version'])).stdout) as { gitVersion: string };
  return {
    mode: 'local',
    server,
    kubeconfigPath,
    adminContext: ADMIN,
    caFile,
    caData: ca.certPem,
    binDir,
    runDir,
    users,
    serviceAccountIssuer: issuer,
    anonymousDiscovery: true,
    logDir,
    serverVersion: version.gitVersion,
    node: { netns: ns, name: NODE.name, ip: NODE.ip, runDir, containerdSocket, debsRoot, env, issuer },
  };
}

function kubeconfig(file: string, server: string, caFile: string, tokens: Record<string, string>, current: string): string {
  const names = Object.keys(tokens);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e-node', cluster: { server, 'certificate-authority': caFile } }],
      users: names.map((n) => ({ name: n, user: { token: tokens[n] } })),
      contexts: names.map((n) => ({ name: n, context: { cluster: 'e2e-node', user: n } })),
      'current-context': current,
    }),
    { mode: 0o600 },
  );
  return file;
}

/** The sandbox image: the static pause program alone, packed with umoci. */
async function pauseImage(binDir: string, out: string): Promise<string> {
  const umoci = join(debs('umoci', ['umoci']), 'usr/bin/umoci');
  const work = mkdtempSync(join(out, '..', 'pause-'));
  const layout = join(work, 'oci');
  await run(umoci, ['init', '--layout', layout]);
  await run(umoci, ['new', '--image', `${layout}:e2e`]);
  await run(umoci, ['unpack', '--image', `${layout}:e2e`, join(work, 'bundle')]);
  await run('install', ['-m', '0755', join(binDir, 'pause'), join(work, 'bundle/rootfs/pause')]);
  await run(umoci, ['repack', '--image', `${layout}:e2e`, join(work, 'bundle')]);
  await run(umoci, ['config', '--image', `${layout}:e2e`, '--config.entrypoint', '/pause', '--config.user', '65535:65535']);
  await run('tar', ['-C', layout, '-cf', out, '.']);
  await run('rm', ['-rf', work]);
  return out;
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number, procs: Procs): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.dead();
    if (dead) throw new Error(`${dead} exited while waiting for ${what}:\n${procs.tail(dead)}`);
    if (await ok()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

/** The node's processes: each logs to <logDir>/<name>.log and is recorded in the state file at once. */
class Procs {
  private readonly exited = new Map<string, number | null>();
  private readonly state: NodeState;
  private readonly logDir: string;
  private readonly env: Record<string, string>;
  constructor(state: NodeState, logDir: string, env: Record<string, string>) {
    this.state = state;
    this.logDir = logDir;
    this.env = env;
  }

  start(name: string, cmd: string, args: string[]): number {
    const logFile = join(this.logDir, `${name}.log`);
    writeFileSync(join(this.logDir, 'commands.txt'), `${name}: ${cmd} ${args.join(' ')}\n`, { flag: 'a' });
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: { ...this.env } });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`${name} did not start (${cmd})`);
    child.on('exit', (code) => this.exited.set(name, code));
    child.unref();
    this.state.procs.push({ name, pid: child.pid });
    writeState(this.state);
    return child.pid;
  }

  /** A bridge.ts process (inside the namespace when `netns`); resolves to the address it listens on. */
  async bridge(name: string, args: [string, string], netns?: string): Promise<string> {
    const node = process.execPath;
    const script = join(REPO_ROOT, 'e2e/harness/bridge.ts');
    const [cmd, argv] = netns ? inNetns(netns, node, [script, ...args]) : [node, [script, ...args]];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.pid === undefined) throw new Error(`${name} did not start`);
    this.state.procs.push({ name, pid: child.pid });
    writeState(this.state);
    child.on('exit', (code) => this.exited.set(name, code));
    const addr = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`${name} exited ${code} before listening`)));
    });
    child.stdout.destroy();
    child.unref();
    return addr;
  }

  dead(): string | undefined {
    for (const [name] of this.exited) return name;
    return undefined;
  }

  tail(name: string): string {
    try {
      return readFileSync(join(this.logDir, `${name}.log`), 'utf8')
        .trimEnd()
        .split('\n')
        .slice(-30)
        .join('\n');
    } catch {
      return '(no log)';
    }
  }
}
