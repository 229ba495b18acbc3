// Which slow requests fall into a mark-compact cycle: the load generator's requests (wall-clock
// start, latency) against the collections the process under test recorded (gc-timeline.mjs).
// A cycle runs from the start of V8's incremental marking (a `gc` entry of kind 8) to the end of
// its final pause (kind 4, major); a request is counted in it if it was in flight during the
// cycle or at most `settleMs` after it (the backlog the pause left behind).
import { constants } from 'node:perf_hooks';

export interface RequestTimes {
  /** Wall-clock ms (performance.timeOrigin-based) at which each measured request was issued. */
  start: number[];
  latencyMs: number[];
}

/** [wall-clock start ms, duration ms, kind] per collection. */
export type GcRows = [number, number, number][];

export interface TimelineSummary {
  slow: number;
  inCycles: number;
  cycles: number;
  /** The cycles' wall time, from marking start to the end of the final pause (median ms). */
  cycleMs: number;
}

export function slowInCycles(req: RequestTimes, gc: GcRows, slowMs = 5, settleMs = 20): TimelineSummary {
  const cycles: [number, number][] = [];
  let markStart: number | undefined;
  for (const [t, d, kind] of gc) {
    if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) markStart ??= t;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      cycles.push([markStart ?? t, t + d]);
      markStart = undefined;
    }
  }
  const first = req.start[0] ?? 0;
  const last = (req.start.at(-1) ?? 0) + Math.max(0, ...req.latencyMs.slice(-1000));
  const seen = cycles.filter(([a, b]) => b >= first && a <= last);
  let slow = 0;
  let inCycles = 0;
  for (let i = 0; i < req.start.length; i++) {
    const lat = req.latencyMs[i]!;
    if (!(lat > slowMs)) continue;
    slow++;
    const a = req.start[i]!;
    if (seen.some(([s, e]) => a <= e + settleMs && a + lat >= s)) inCycles++;
  }
  const lengths = seen.map(([a, b]) => b - a).sort((x, y) => x - y);
  return { slow, inCycles, cycles: seen.length, cycleMs: lengths.length ? lengths[Math.floor(lengths.length / 2)]! : NaN };
}
