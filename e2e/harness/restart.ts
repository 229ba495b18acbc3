// Restarting kube-apiserver in the middle of a spec (local control plane only): find its process
// by the port of the cluster's server URL, stop it, start the same command line again, wait for
// /readyz. etcd keeps running, so every object survives; watches break and resume (or get 410).
// The default signal is SIGKILL (a crash: connections drop at once); with SIGTERM the apiserver
// first drains for several seconds while still serving.
//
//   const r = await restartApiServer(cluster(), { downMs: 2000 });   // r.stoppedAt, r.readyAt
//
// The new process is not the one global setup started, so global teardown cannot stop it: a small
// watchdog stops it when this (jest) process exits.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from './cluster.ts';
import { httpsRequest, log, sleep } from './proc.ts';

export interface RestartResult {
  pid: number;
  /** When the old process was gone (ms since epoch). */
  stoppedAt: number;
  /** When /readyz answered 200 again. */
  readyAt: number;
}

/** The pid and argv of the kube-apiserver serving `server` (https://127.0.0.1:PORT), from /proc. */
export function findApiServer(server: string): { pid: number; argv: string[] } | undefined {
  const port = new URL(server).port;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    if (argv[0]?.endsWith('kube-apiserver') && argv.includes(`--secure-port=${port}`)) return { pid: Number(entry), argv };
  }
  return undefined;
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

export async function restartApiServer(
  c: Cluster,
  opts: { signal?: NodeJS.Signals; downMs?: number; readyTimeoutMs?: number } = {},
): Promise<RestartResult> {
  if (c.mode !== 'local') throw new Error('restartApiServer needs the local control plane the harness starts (unset KUBECONFIG)');
  const found = findApiServer(c.server);
  if (!found) throw new Error(`no kube-apiserver process serving ${c.server} found in /proc`);
  process.kill(found.pid, opts.signal ?? 'SIGKILL');
  const killBy = Date.now() + 15_000;
  while (alive(found.pid)) {
    if (Date.now() > killBy) process.kill(found.pid, 'SIGKILL');
    await sleep(20);
  }
  const stoppedAt = Date.now();
  log(`kube-apiserver ${found.pid} stopped (${opts.signal ?? 'SIGKILL'})`);
  if (opts.downMs) await sleep(opts.downMs);

  const logFile = join(c.logDir ?? c.runDir, `kube-apiserver-restart-${stoppedAt}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(found.argv[0]!, found.argv.slice(1), { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  child.unref();
  const pid = child.pid ?? 0;
  // Outlive us only to clean up: stop the new apiserver when this process is gone.
  const watchdog = spawn(
    'sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -TERM "$2" 2>/dev/null; sleep 5; kill -KILL "$2" 2>/dev/null',
      'scopekeeper-e2e-restart-watchdog',
      String(process.pid),
      String(pid),
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!alive(pid)) throw new Error(`the restarted kube-apiserver exited; see ${logFile}`);
    try {
      const r = await httpsRequest(`${c.server}/readyz`, {
        ...(c.caData ? { ca: c.caData } : {}),
        ...(c.tokens.admin ? { token: c.tokens.admin } : {}),
        timeoutMs: 1000,
      });
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline)
      throw new Error(`the restarted kube-apiserver is not ready after ${opts.readyTimeoutMs ?? 60_000} ms; see ${logFile}`);
    await sleep(100);
  }
  const readyAt = Date.now();
  log(`kube-apiserver restarted as ${pid}: down ${((readyAt - stoppedAt) / 1000).toFixed(1)} s`);
  return { pid, stoppedAt, readyAt };
}
