// Which slow requests fall into a mark-compact cycle, or into a stall of the event loop: the load
// generator's requests (wall-clock start, latency) against the collections (gc-timeline.mjs) or
// the stalls (loop-stalls.mjs) the process under test recorded. A cycle runs from the start of V8's incremental marking (a `gc` entry of kind 8) to the end of
// its final pause (kind 4, major); a request is counted in it if it was in flight during the
// cycle or at most `settleMs` after it (the backlog the pause left behind); so for a stall.
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
  const w = slowInWindows(req, cycles, slowMs, settleMs);
  const lengths = w.seen.map((i) => cycles[i]![1] - cycles[i]![0]).sort((x, y) => x - y);
  return {
    slow: w.slow,
    inCycles: w.inWindows,
    cycles: w.seen.length,
    cycleMs: lengths.length ? lengths[Math.floor(lengths.length / 2)]! : NaN,
  };
}

/** [wall-clock start ms, stall ms, main thread CPU ms, other threads' CPU ms] (loop-stalls.mjs). */
export type StallRows = [number, number, number, number][];

export interface StallSummary {
  slow: number;
  /** Slow requests in flight during a stall or at most `settleMs` after it. */
  inStalls: number;
  stalls: number;
  stallMs: number;
  longestMs: number;
  /** CPU the main thread and the other threads (V8's helpers, mostly) used during the stalls (ms). */
  mainMs: number;
  otherMs: number;
}

/** The event loop's stalls while the requests were measured, and the slow requests they hold. */
export function slowInStalls(req: RequestTimes, stalls: StallRows, slowMs = 5, settleMs = 20): StallSummary {
  const w = slowInWindows(
    req,
    stalls.map(([t, d]) => [t, t + d]),
    slowMs,
    settleMs,
  );
  const seen = w.seen.map((i) => stalls[i]!);
  const sum = (i: 1 | 2 | 3) => seen.reduce((s, r) => s + r[i], 0);
  return {
    slow: w.slow,
    inStalls: w.inWindows,
    stalls: seen.length,
    stallMs: sum(1),
    longestMs: Math.max(0, ...seen.map((r) => r[1])),
    mainMs: sum(2),
    otherMs: sum(3),
  };
}

/** Which windows ([start, end], wall-clock ms; their indices) fall within the measured period, and the slow requests in flight during one or settling after it. */
function slowInWindows(
  req: RequestTimes,
  windows: [number, number][],
  slowMs: number,
  settleMs: number,
): { slow: number; inWindows: number; seen: number[] } {
  const first = req.start[0] ?? 0;
  const last = (req.start.at(-1) ?? 0) + Math.max(0, ...req.latencyMs.slice(-1000));
  const seen = windows.flatMap(([a, b], i) => (b >= first && a <= last ? [i] : []));
  let slow = 0;
  let inWindows = 0;
  for (let i = 0; i < req.start.length; i++) {
    const lat = req.latencyMs[i]!;
    if (!(lat > slowMs)) continue;
    slow++;
    const a = req.start[i]!;
    if (seen.some((j) => a <= windows[j]![1] + settleMs && a + lat >= windows[j]![0])) inWindows++;
  }
  return { slow, inWindows, seen };
}
