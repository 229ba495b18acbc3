// Processes the bench starts (each pinned to a core with taskset, stopped by its PID), and what
// /proc says about them: CPU seconds (utime + stime of the process and its descendants) and RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';

const TICKS = 100; // USER_HZ on Linux

export interface Started {
  name: string;
  pid: number;
  child: ChildProcess;
  log: string;
}

const started = new Set<Started>();

/** Starts `argv` pinned to `core` (taskset execs it, so the PID is the program's own). */
export function startPinned(
  name: string,
  core: number | undefined,
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: string },
): Started {
  const fd = openSync(opts.log, 'a');
  const cmd = core === undefined ? argv : ['taskset', '-c', String(core), ...argv];
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd], detached: false });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${argv.join(' ')}`);
  const s: Started = { name, pid: child.pid, child, log: opts.log };
  started.add(s);
  child.once('exit', () => started.delete(s));
  return s;
}

/** SIGTERM by PID, SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stop(s: Started, graceMs = 5000): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
  try {
    process.kill(s.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(t);
}

/** Stops every process this bench started (on exit and on Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((s) => stop(s, 3000)));
}

export function stopAllSync(): void {
  for (const s of started) {
    // The whole tree: nginx workers (and LiteLLM's children) outlive a SIGKILLed parent.
    for (const pid of processTree(s.pid).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

/** The process and all its descendants (nginx workers, LiteLLM's children). */
export function processTree(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parent.get(ppid) ?? [];
      list.push(Number(d));
      parent.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of parent.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** utime + stime in seconds of one process (its exited children are not counted). */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** utime and stime of one process, in seconds (0 once it is gone). */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    // fields after ")" start at field 3 (state): utime is field 14, stime 15 → indexes 11, 12
    return { user: Number(f[11]) / TICKS, system: Number(f[12]) / TICKS };
  } catch {
    return { user: 0, system: 0 };
  }
}

export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((a, p) => a + cpuSeconds(p), 0);
}

/** The tree's kernel (system) CPU seconds: with treeCpuSeconds, the kernel's share of a process's cost. */
export function treeSystemSeconds(pid: number): number {
  return processTree(pid).reduce((a, p) => a + cpuTimes(p).system, 0);
}

/** VmRSS (or another field, e.g. VmHWM) in MB. */
export function rssMb(pid: number, field = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export function treeRssMb(pid: number): number {
  return processTree(pid).reduce((a, p) => a + rssMb(p), 0);
}

/** Samples the tree's RSS every `everyMs` until stopped; returns the peak. */
export function rssSampler(pid: number, everyMs = 200): { stop(): number } {
  let peak = treeRssMb(pid);
  const t = setInterval(() => (peak = Math.max(peak, treeRssMb(pid))), everyMs);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, treeRssMb(pid));
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      if (await check()) return performance.now() - t0;
    } catch {
      /* not yet */
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
