// Host hygiene for the one-node cluster (node.ts): what it changes on the machine is recorded in
// a state file before it is changed, and teardownNode() puts it back — from global teardown, from
// an exit handler, from the watchdog when jest is killed, or from the next run when it finds a
// stale state. One node per machine: the state file is also the lock.
//
// Recorded and restored: the kubelet's sysctls; the fixed paths the kubelet, containerd and the CNI
// plugins write (/run/containerd, /var/lib/cni, /var/log/containers, /var/log/pods, /run/netns);
// the pod network namespaces containerd pins; the cgroups under the node's cgroupRoot. Stopped by
// PID: every process the harness started, the containers' processes (the PIDs in the node's
// cgroups) and containerd's shims (the PIDs whose command line names this node's containerd
// socket). The network namespace is deleted last, taking the node IP, the bridge, the pod and
// service routes and every iptables chain of kube-proxy with it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NODE_LOCK = '/run/scopekeeper-e2e-node.json';

/** Sysctls the kubelet sets (protectKernelDefaults: false) and kube-proxy may touch. */
export const RECORDED_SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
] as const;

/** Fixed paths the node's components write despite every directory flag we give them. */
export const FIXED_PATHS = [
  '/run/containerd',
  '/var/lib/cni',
  '/var/log/containers',
  '/var/log/pods',
  '/var/lib/kubelet',
  '/run/netns',
] as const;

export interface NodeState {
  /** The process that owns the node (jest or start-node); a live owner makes a second node wait its turn. */
  owner: number;
  netns: string;
  runDir: string;
  cgroupRoot: string;
  containerdSocket: string;
  /** Started processes, in start order (stopped in reverse). */
  procs: { name: string; pid: number }[];
  sysctls: Record<string, string>;
  /** FIXED_PATHS that did not exist before: removed at teardown. */
  created: string[];
  /** Entries of /run/netns before the node started (the others are the node's and its pods'). */
  netnsBefore: string[];
}

const sysctlPath = (name: string): string => join('/proc/sys', ...name.split('.'));

export function recordHost(netns: string): Pick<NodeState, 'sysctls' | 'created' | 'netnsBefore'> {
  const sysctls: Record<string, string> = {};
  for (const s of RECORDED_SYSCTLS) {
    try {
      sysctls[s] = readFileSync(sysctlPath(s), 'utf8').trim();
    } catch {
      /* not on this kernel */
    }
  }
  const created = FIXED_PATHS.filter((p) => !existsSync(p));
  const netnsBefore = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n !== netns) : [];
  return { sysctls, created, netnsBefore };
}

export const writeState = (s: NodeState): void => writeFileSync(NODE_LOCK, JSON.stringify(s, null, 2), { mode: 0o600 });

export function readState(): NodeState | undefined {
  try {
    return JSON.parse(readFileSync(NODE_LOCK, 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** SIGTERM each, wait up to graceMs for all, SIGKILL what is left. */
export function stopPids(pids: number[], graceMs = 10_000): void {
  const live = pids.filter(alive);
  for (const p of live) signal(p, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (live.some(alive) && Date.now() < end) sleepSync(50);
  for (const p of live.filter(alive)) signal(p, 'SIGKILL');
  const hard = Date.now() + 5_000;
  while (live.some(alive) && Date.now() < hard) sleepSync(20);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/** Every PID in the node's cgroups (the containers' processes), across the v1 hierarchies. */
export function cgroupPids(cgroupRoot: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    try {
      for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.add(Number(l));
    } catch {
      /* no procs file */
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const h of cgroupHierarchies()) walk(join(h, cgroupRoot));
  return [...pids];
}

function cgroupHierarchies(): string[] {
  try {
    return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => join('/sys/fs/cgroup', e.name))
      .filter((d) => existsSync(join(d, 'cgroup.procs')));
  } catch {
    return [];
  }
}

/**
 * Creates the node's cgroupRoot in every v1 hierarchy (the kubelet requires it to exist); a v1
 * cpuset cgroup needs its cpus and mems copied from the parent before anything can join it.
 */
export function createCgroups(cgroupRoot: string): void {
  for (const h of cgroupHierarchies()) {
    const dir = join(h, cgroupRoot);
    mkdirSync(dir, { recursive: true });
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(h, f))) writeFileSync(join(dir, f), readFileSync(join(h, f), 'utf8').trim() || '\n');
    }
  }
}

/** Removes the node's cgroup directories, deepest first (a cgroup goes only when it is empty). */
function removeCgroups(cgroupRoot: string): void {
  const rm = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rm(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      /* busy or gone */
    }
  };
  for (const h of cgroupHierarchies()) rm(join(h, cgroupRoot));
}

/** PIDs of the containerd shims serving this node's containerd (found by its socket path). */
export function shimPids(containerdSocket: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.includes('containerd-shim') && argv.includes(containerdSocket)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const decode = (s: string) => s.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => decode(l.split(' ')[1] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

const umount = (m: string): void => {
  try {
    execFileSync('umount', ['-l', m], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
};

/**
 * Stops and removes everything of the node recorded in `s`, synchronously and idempotently; safe
 * to call on a half-started node. Returns what it found still running or left (for the log).
 */
export function teardownNode(s: NodeState): string[] {
  const notes: string[] = [];
  const pidsOf = (names: string[]) => s.procs.filter((p) => names.includes(p.name)).map((p) => p.pid);
  // The kubelet first (it would restart containers), then the containers, containerd and its shims.
  stopPids(pidsOf(['kubelet']), 10_000);
  const containers = cgroupPids(s.cgroupRoot);
  if (containers.length) notes.push(`${containers.length} container processes killed`);
  stopPids(containers, 0);
  stopPids(pidsOf(['containerd']), 10_000);
  const shims = shimPids(s.containerdSocket);
  if (shims.length) notes.push(`${shims.length} shims stopped`);
  stopPids(shims, 5_000);
  // Everything else the harness started, newest first.
  const rest = s.procs
    .filter((p) => !['kubelet', 'containerd'].includes(p.name))
    .map((p) => p.pid)
    .reverse();
  stopPids(rest, 10_000);
  const left = s.procs.filter((p) => alive(p.pid));
  if (left.length) notes.push(`still alive: ${left.map((p) => `${p.name} ${p.pid}`).join(', ')}`);

  // Mounts: the containers' root file systems, the kubelet's volumes, the sandboxes' /dev/shm.
  for (const m of mountsUnder(s.runDir)) umount(m);
  for (const fixed of ['/run/containerd', '/var/lib/kubelet']) for (const m of mountsUnder(fixed)) umount(m);
  // Pod network namespaces containerd pinned under /run/netns, then the node's own.
  if (existsSync('/run/netns')) {
    for (const n of readdirSync('/run/netns')) {
      if (n === s.netns || s.netnsBefore.includes(n) || !n.startsWith('cni-')) continue;
      umount(join('/run/netns', n));
      rmSync(join('/run/netns', n), { force: true });
    }
  }
  try {
    execFileSync('ip', ['netns', 'del', s.netns], { stdio: 'ignore' });
  } catch {
    /* not there */
  }
  removeCgroups(s.cgroupRoot);

  for (const [k, v] of Object.entries(s.sysctls)) {
    try {
      if (readFileSync(sysctlPath(k), 'utf8').trim() !== v) writeFileSync(sysctlPath(k), v);
    } catch (e) {
      notes.push(`sysctl ${k} not restored: ${(e as Error).message}`);
    }
  }
  // /var/log/containers holds links into the node's logs: remove ours even if the directory was there.
  if (existsSync('/var/log/containers') && !s.created.includes('/var/log/containers')) {
    for (const l of readdirSync('/var/log/containers')) {
      const p = join('/var/log/containers', l);
      try {
        if (readlinkSync(p).startsWith(s.runDir)) rmSync(p, { force: true });
      } catch {
        /* not a link */
      }
    }
  }
  for (const p of s.created) {
    if (!existsSync(p)) continue;
    if (p === '/run/netns' && statSync(p).isDirectory() && readdirSync(p).length) continue; // others' namespaces
    for (const m of mountsUnder(p)) umount(m);
    rmSync(p, { recursive: true, force: true });
  }
  rmSync(s.runDir, { recursive: true, force: true });
  if (readState()?.owner === s.owner) rmSync(NODE_LOCK, { force: true });
  return notes;
}

// `node e2e/harness/node-host.ts --teardown`: what the watchdog runs once the owner is gone (and
// what a person runs after a crash): tears down the node of the state file if its owner is dead.
if (import.meta.url === `file://${process.argv[1]}`) {
  const s = readState();
  if (process.argv[2] !== '--teardown') {
    process.stderr.write('usage: node e2e/harness/node-host.ts --teardown\n');
    process.exit(2);
  }
  if (!s) process.exit(0);
  if (alive(s.owner)) {
    process.stderr.write(`the node's owner (pid ${s.owner}) is still running: stop it instead\n`);
    process.exit(1);
  }
  process.stderr.write(`node torn down: ${teardownNode(s).join('; ') || 'nothing was running'}\n`);
}
