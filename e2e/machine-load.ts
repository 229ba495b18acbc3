// How busy the machine was with OTHER work while a test ran: all CPU time the kernel counted
// (/proc/stat) minus the CPU time of this process and its descendants (the control plane the
// harness started, the operator under test, …). The load average cannot tell the two apart,
// and a timing test must not excuse itself with the load it makes on its own.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

interface Sample {
  at: number;
  busyTicks: number;
  ownTicks: number;
}

function machineBusyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return total - (f[3] ?? 0) - (f[4] ?? 0); // minus idle and iowait
}

/** utime + stime of `root` and every descendant (processes that exited are not counted). */
function treeTicks(root: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let ticks = 0;
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    ticks += stats.get(p)?.ticks ?? 0;
    todo.push(...(children.get(p) ?? []));
  }
  return ticks;
}

export function sampleLoad(): Sample {
  return { at: Date.now(), busyTicks: machineBusyTicks(), ownTicks: treeTicks(process.pid) };
}

/** CPUs' worth of other work between two samples (0 … number of CPUs), and ours. */
export function otherWork(a: Sample, b: Sample): { otherCpus: number; ownCpus: number; cpus: number } {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const seconds = Math.max(0.001, (b.at - a.at) / 1000);
  const own = (b.ownTicks - a.ownTicks) / ticksPerSecond / seconds;
  const all = (b.busyTicks - a.busyTicks) / ticksPerSecond / seconds;
  return { otherCpus: Math.max(0, all - own), ownCpus: own, cpus: availableParallelism() };
}
