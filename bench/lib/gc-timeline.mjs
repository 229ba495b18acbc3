// Preloaded into a process under test (`node --import bench/lib/gc-timeline.mjs …`, through
// `bench/steady.ts --timeline`): records every garbage collection with its wall-clock start, so
// `bench/lib/timeline.ts` can line it up with the load generator's slow requests. Written when
// the process exits, to the file named by SCOPEKEEPER_BENCH_GC_TIMELINE; nothing else changes.
// Plain JavaScript: a .ts preload would load Node's type stripper into the process (~10 MB RSS).
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

const file = process.env.SCOPEKEEPER_BENCH_GC_TIMELINE;
if (file) {
  /** [wall-clock start ms, duration ms, kind] */
  const rows = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) rows.push([performance.timeOrigin + e.startTime, e.duration, e.detail.kind]);
  }).observe({ entryTypes: ['gc'] });
  process.once('exit', () => writeFileSync(file, JSON.stringify(rows)));
}
