// Preloaded into a process under test (`node --import bench/lib/loop-stalls.mjs …`, through
// `bench/steady.ts --stalls`): records every stall of the event loop longer than 4 ms (a 2 ms
// interval that fired late) with the CPU the main thread and the process's other threads used
// meanwhile (getrusage of the thread and of the process: two system calls per tick, no file
// reads). A stall in which the main thread ran is work: a backlog of requests, or a long task;
// one in which the other threads ran is a core they took from it (the bench pins the process to
// one core). Of the sidecar's other threads only V8's helpers (marking, sweeping, scavenging,
// compiling) do much; libuv's write the audit file. Written when the process exits, to the file
// named by SCOPEKEEPER_BENCH_STALLS. Plain JavaScript: a .ts preload would load Node's type stripper.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const file = process.env.SCOPEKEEPER_BENCH_STALLS;

if (file) {
  /** [wall-clock start ms, stall ms, main thread CPU ms, other threads' CPU ms] */
  const rows = [];
  const cpu = (u) => (u.user + u.system) / 1000;
  let last = performance.now();
  let thread = cpu(process.threadCpuUsage());
  let all = cpu(process.cpuUsage());
  setInterval(() => {
    const now = performance.now();
    const t = cpu(process.threadCpuUsage());
    const a = cpu(process.cpuUsage());
    if (now - last > 4) rows.push([performance.timeOrigin + last, now - last, t - thread, a - all - (t - thread)]);
    last = now;
    thread = t;
    all = a;
  }, 2).unref();
  process.once('exit', () => writeFileSync(file, JSON.stringify(rows)));
}
