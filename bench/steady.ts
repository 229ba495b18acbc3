// `node bench/steady.ts`: the sidecar (dist/, started as the injected container starts it) and the
// bare node:http forwarder at one fixed rate, each in a fresh process, one after the other:
// CPU per 1k requests, RSS peak and V8 heap peak (from /metrics). What `npm run bench` cannot
// show: there every target serves its maximum-throughput run first, so its RSS "at 1,000 req/s"
// is the high-water mark that run left. Same pinning as the bench (core 0: load + upstream,
// core 1: the proxy).
//
//   node bench/steady.ts [--rate 1000|max] [--seconds 8] [--modes json,sse] [--targets sk-audit,sk-mask,fwd-node]
//                        [--node-options '<NODE_OPTIONS for the sidecar>']   (default: the injected ones)
//                        [--node-flags '<flags NODE_OPTIONS refuses, e.g. --trace-gc, --trace-gc-nvp>'] (the sidecar's and fwd-node's)
//                        [--fwd-node-options '<NODE_OPTIONS for fwd-node>'] (default: none)
//                        [--fwd-mode node|express] (fwd-node's --mode in bench/variants/forwarder.ts) [--keep] (keep the logs' folder)
//                        [--timeline] (how many slow requests, > 5 ms, fall into a mark-compact cycle: bench/lib/timeline.ts)
//                        [--stalls] (the event loop's stalls > 4 ms, what the main and the other threads ran in them, and the slow requests
//                                    they hold: bench/lib/loop-stalls.mjs; its sampling costs the process some CPU)
//                        [--alloc] (bytes allocated per request while measured, and by whom: bench/lib/alloc-sampler.mjs;
//                                   the sampling slows the process, so its CPU and latency are not the bench's)
//   --rate max: wrk, 64 connections, as the bench measures maximum throughput (CPU per 1k requests, RSS, GC at saturation)
//   SCOPEKEEPER_BENCH_ENTRY=<another build>/dist/bin/scopekeeper.js measures that build's sidecar (A/B against a commit)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeUpstreamConfig, startNginx } from './lib/nginx.ts';
import { startPinned, stop, stopAll, freePort, treeCpuSeconds, treeSystemSeconds, rssSampler, waitFor, sleep } from './lib/proc.ts';
import { setupScopekeeper, startSidecar, NODE, REPO, UPSTREAM_KEY } from './lib/scopekeeper.ts';
import { requestBody } from './lib/fixtures.ts';
import type { LoadResult, LoadSpec } from './lib/loadgen.ts';
import { formatAllocations, summariseAllocations } from './lib/heapprofile.ts';
import { slowInCycles, slowInStalls, type GcRows, type RequestTimes, type StallRows } from './lib/timeline.ts';
import { writeWrkScript, runWrk } from './lib/wrk.ts';
import { ensureTools } from './lib/tools.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '8' },
    modes: { type: 'string', default: 'json,sse' },
    targets: { type: 'string', default: 'sk-audit,sk-mask,fwd-node' },
    'node-options': { type: 'string' },
    'node-flags': { type: 'string' },
    'fwd-node-options': { type: 'string' },
    'fwd-mode': { type: 'string', default: 'node' },
    keep: { type: 'boolean', default: false },
    timeline: { type: 'boolean', default: false },
    stalls: { type: 'boolean', default: false },
    alloc: { type: 'boolean', default: false },
  },
});
const MAX = args.rate === 'max';
const RATE = MAX ? 0 : Number(args.rate);
if (MAX && (args.timeline || args.stalls)) {
  process.stderr.write('--timeline and --stalls need the open-loop generator (its request times): give --rate a number, not max\n');
  process.exit(2);
}
const SECONDS = Number(args.seconds);
const dir = mkdtempSync(join(tmpdir(), 'scopekeeper-steady-'));
process.env.SCOPEKEEPER_BENCH_ENTRY ??= join(REPO, 'dist/bin/scopekeeper.js');
if (!existsSync(process.env.SCOPEKEEPER_BENCH_ENTRY)) {
  process.stderr.write(`${process.env.SCOPEKEEPER_BENCH_ENTRY} is missing: run "npm run build" first\n`);
  process.exit(2);
}
if (args['node-options'] !== undefined) process.env.SCOPEKEEPER_BENCH_NODE_OPTIONS = args['node-options'];

function loadgen(url: string, headers: Record<string, string>, sse: boolean, timelineFile?: string): Promise<LoadResult> {
  const spec: LoadSpec = {
    url,
    path: '/v1/messages',
    headers: { ...headers, ...(sse ? { 'x-bench-stream': '1' } : {}) },
    body: requestBody(sse),
    rate: RATE,
    warmupS: 1,
    durationS: SECONDS,
    connections: 64,
    maxInFlight: Math.max(200, RATE * 2),
    timeoutMs: 10_000,
    timelineFile,
  };
  return new Promise((resolve, reject) => {
    const c = spawn('taskset', ['-c', '0', NODE, join(REPO, 'bench/lib/loadgen.ts'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`loadgen exited ${code}`))));
  });
}

/** --rate max: wrk for `seconds`, in the shape of loadgen's result. */
async function wrk(name: string, mode: string, url: string, headers: Record<string, string>, seconds: number): Promise<LoadResult> {
  const hs = { ...headers, ...(mode === 'sse' ? { 'x-bench-stream': '1' } : {}) };
  const script = writeWrkScript(dir, `${name}-${mode}`, hs, requestBody(mode === 'sse'));
  const w = await runWrk(0, `${url}/v1/messages`, script, { connections: 64, durationS: seconds });
  return { completedTotal: w.requests, non2xx: w.non2xx, errors: w.errors, latencyMs: w.latencyMs } as LoadResult;
}

async function measure(name: string, pid: number, url: string, headers: Record<string, string>, adminPort?: number): Promise<void> {
  for (const mode of args.modes!.split(',')) {
    const timelineFile = args.timeline || args.stalls ? join(dir, `${name}-${mode}-requests.json`) : undefined;
    if (MAX) await wrk(name, mode, url, headers, 1); // warm-up, as loadgen's first second
    if (args.alloc) process.kill(pid, 'SIGUSR2'); // alloc-sampler.mjs: start
    const cpu0 = treeCpuSeconds(pid);
    const sys0 = treeSystemSeconds(pid);
    const rss = rssSampler(pid, 100);
    let heapPeak = 0;
    const sample = adminPort
      ? setInterval(() => {
          fetch(`http://127.0.0.1:${adminPort}/metrics`)
            .then((r) => r.text())
            .then((m) => (heapPeak = Math.max(heapPeak, Number(/^nodejs_heap_size_total_bytes (\d+)/m.exec(m)?.[1] ?? 0))))
            .catch(() => undefined);
        }, 250)
      : undefined;
    const r = MAX ? await wrk(name, mode, url, headers, SECONDS) : await loadgen(url, headers, mode === 'sse', timelineFile);
    if (sample) clearInterval(sample);
    const cpu = treeCpuSeconds(pid) - cpu0;
    const cpuPer1k = (cpu / r.completedTotal) * 1000;
    const kernelPct = cpu > 0 ? ((treeSystemSeconds(pid) - sys0) / cpu) * 100 : 0;
    if (args.alloc) process.kill(pid, 'SIGUSR2'); // alloc-sampler.mjs: stop and write
    const heap = adminPort ? ` heap peak ${(heapPeak / 1048576).toFixed(1)} MB` : '';
    const l = r.latencyMs;
    const rate = MAX ? `max ${Math.round(r.completedTotal / SECONDS)}` : String(RATE);
    process.stdout.write(
      `${name.padEnd(9)} ${mode.padEnd(4)} ${rate}/s: CPU ${cpuPer1k.toFixed(3)} s/1k req (kernel ${kernelPct.toFixed(0)}%), RSS peak ${rss.stop().toFixed(1)} MB${heap}, ` +
        `latency p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} max ${l.max.toFixed(1)} ms, errors ${r.non2xx + r.errors}\n`,
    );
    if (args.alloc) await allocReport(name, mode, r.completedTotal);
  }
}

/** With --alloc: the measured periods of each process so far (alloc-sampler.mjs numbers its profiles). */
const allocPeriods = new Map<string, number>();

/** With --alloc: the flags and environment that make the process sample its allocations between two SIGUSR2. */
function allocFlags(name: string): string[] {
  if (!args.alloc) return [];
  process.env.SCOPEKEEPER_BENCH_ALLOC_PROFILE = join(dir, `${name}-alloc`);
  allocPeriods.set(name, 0);
  return [`--import=${join(REPO, 'bench/lib/alloc-sampler.mjs')}`];
}

/** With --alloc, after a mode was measured: what the process allocated while it was, per request. */
async function allocReport(name: string, mode: string, requests: number): Promise<void> {
  const n = (allocPeriods.get(name) ?? 0) + 1;
  allocPeriods.set(name, n);
  const file = join(dir, `${name}-alloc-${n}.json`);
  await waitFor(`${file} (written on SIGUSR2)`, () => Promise.resolve(existsSync(file)), 10_000, 50);
  const text = formatAllocations(summariseAllocations(file, 12), requests);
  const indented = text
    .split('\n')
    .map((l, i) => (i === 0 || l === '' ? l : `${' '.repeat(15)}${l}`))
    .join('\n');
  process.stdout.write(`${name.padEnd(9)} ${mode.padEnd(4)} ${indented}\n`);
}

/** With --timeline: the flags and environment that make the process record its collections. */
function timelineFlags(name: string): string[] {
  if (!args.timeline) return [];
  process.env.SCOPEKEEPER_BENCH_GC_TIMELINE = join(dir, `${name}-gc.json`);
  return [`--import=${join(REPO, 'bench/lib/gc-timeline.mjs')}`];
}

/** With --stalls: the flag and environment that make the process record its event loop's stalls. */
function stallFlags(name: string): string[] {
  if (!args.stalls) return [];
  process.env.SCOPEKEEPER_BENCH_STALLS = join(dir, `${name}-stalls.json`);
  return [`--import=${join(REPO, 'bench/lib/loop-stalls.mjs')}`];
}

/** With --stalls, once the process has exited: the stalls of each mode's measured period and the slow requests in them. */
function stallReport(name: string): void {
  if (!args.stalls) return;
  const stalls = JSON.parse(readFileSync(join(dir, `${name}-stalls.json`), 'utf8')) as StallRows;
  for (const mode of args.modes!.split(',')) {
    const req = JSON.parse(readFileSync(join(dir, `${name}-${mode}-requests.json`), 'utf8')) as RequestTimes;
    const s = slowInStalls(req, stalls);
    process.stdout.write(
      `${name.padEnd(9)} ${mode.padEnd(4)} event loop stalls (> 4 ms): ${s.stalls}, ${s.stallMs.toFixed(0)} ms in all (longest ` +
        `${s.longestMs.toFixed(1)}); in them the main thread ran ${s.mainMs.toFixed(0)} ms, the other ` +
        `threads (V8's helpers) ${s.otherMs.toFixed(0)}; slow requests (> 5 ms) in or just after one: ${s.inStalls} of ${s.slow}\n`,
    );
  }
}

/** With --timeline, once the process has exited: its slow requests of each mode against its mark-compact cycles. */
function timelineReport(name: string): void {
  if (!args.timeline) return;
  const gc = JSON.parse(readFileSync(join(dir, `${name}-gc.json`), 'utf8')) as GcRows;
  for (const mode of args.modes!.split(',')) {
    const req = JSON.parse(readFileSync(join(dir, `${name}-${mode}-requests.json`), 'utf8')) as RequestTimes;
    const t = slowInCycles(req, gc);
    process.stdout.write(
      `${name.padEnd(9)} ${mode.padEnd(4)} slow (> 5 ms): ${t.slow} of ${req.start.length}, ${t.inCycles} of them in the ` +
        `${t.cycles} mark-compact cycles (median ${t.cycleMs.toFixed(0)} ms from marking start to the end of the final pause)\n`,
    );
  }
}

/**
 * With --trace-gc: the collections of the process's whole life (start, every mode measured, stop).
 * With --trace-gc-nvp also what the scavenges promoted to the old generation, which is what makes
 * the mark-compacts (and V8's background marking on the same core).
 */
function gcCounts(name: string, log: string): void {
  if (!args['node-flags']?.includes('--trace-gc')) return;
  const text = readFileSync(log, 'utf8');
  if (args['node-flags'].includes('--trace-gc-nvp')) {
    const scavenges = text.split('\n').filter((l) => l.includes(' gc=s '));
    const promoted = scavenges.reduce((sum, l) => sum + Number(/ promoted=(\d+)/.exec(l)?.[1] ?? 0), 0);
    const markCompacts = text.split('\n').filter((l) => / gc=mc /.test(l)).length;
    process.stdout.write(
      `${name.padEnd(9)} GC over its life: ${scavenges.length} scavenges promoting ${(promoted / 1e6).toFixed(1)} MB, ${markCompacts} mark-compacts\n`,
    );
    return;
  }
  const count = (what: string) => text.split(what).length - 1;
  process.stdout.write(`${name.padEnd(9)} GC over its life: ${count(': Scavenge')} scavenges, ${count(': Mark-Compact')} mark-compacts\n`);
}

ensureTools((line) => process.stderr.write(`steady: ${line}\n`));
try {
  const upPort = await freePort();
  await startNginx('upstream', 0, join(dir, 'upstream'), writeUpstreamConfig(join(dir, 'upstream'), upPort), upPort, '/healthz');
  const upstream = `http://127.0.0.1:${upPort}`;
  const sk = await setupScopekeeper(dir);
  const plain = { 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
  for (const target of args.targets!.split(',')) {
    if (target === 'fwd-node') {
      const port = await freePort();
      const flags = [
        ...(args['node-flags']?.split(/\s+/).filter(Boolean) ?? []),
        ...timelineFlags('fwd-node'),
        ...stallFlags('fwd-node'),
        ...allocFlags('fwd-node'),
      ];
      const argv = [
        NODE,
        ...flags,
        join(REPO, 'bench/variants/forwarder.ts'),
        '--mode',
        args['fwd-mode']!,
        '--listen',
        `127.0.0.1:${port}`,
      ];
      // --fwd-node-options: the forwarder with the sidecar's heap bounds, to compare GC like for like
      const env = args['fwd-node-options'] !== undefined ? { ...process.env, NODE_OPTIONS: args['fwd-node-options'] } : process.env;
      const p = startPinned('fwd-node', 1, [...argv, '--upstream', upstream, '--key', UPSTREAM_KEY], {
        cwd: REPO,
        env,
        log: join(dir, 'fwd-node.log'),
      });
      await waitFor(
        'fwd-node',
        async () => (await fetch(`http://127.0.0.1:${port}/v1/messages`, { method: 'POST', body: '{}' })).ok || true,
        20_000,
      );
      await measure('fwd-node', p.pid, `http://127.0.0.1:${port}`, plain);
      await stop(p);
      gcCounts('fwd-node', join(dir, 'fwd-node.log'));
      timelineReport('fwd-node');
      stallReport('fwd-node');
      continue;
    }
    const nodeFlags = [
      ...(args['node-flags']?.split(/\s+/).filter(Boolean) ?? []),
      ...timelineFlags(target),
      ...stallFlags(target),
      ...allocFlags(target),
    ];
    const s = await startSidecar(target, 1, sk, { dir, port: await freePort(), adminPort: await freePort(), upstream, nodeFlags });
    await sleep(1500);
    const token = target === 'sk-mask' ? sk.maskToken : sk.auditToken;
    await measure(target, s.pid, `http://127.0.0.1:${s.port}`, { ...plain, authorization: `Bearer ${token}` }, s.adminPort);
    await stop(s);
    gcCounts(target, join(dir, `${target}.log`));
    timelineReport(target);
    stallReport(target);
  }
} catch (e) {
  // The finally below ends the process: say what failed, or a broken run would look like a quiet one.
  process.stderr.write(`steady: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
} finally {
  await stopAll();
  if (args.keep) process.stderr.write(`logs in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
  process.exit();
}
