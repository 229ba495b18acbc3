// Preloaded into a process under test (`node --import bench/lib/alloc-sampler.mjs …`, through
// `bench/steady.ts --alloc`): V8's sampling heap profiler between two SIGUSR2 signals, counting
// every sampled allocation, also of objects a collection has freed since. That is what the
// garbage collector has to deal with per request, where `--heap-prof` keeps only the objects still
// alive when the profile is written. The profile goes to SCOPEKEEPER_BENCH_ALLOC_PROFILE-<n>.json
// (n = 1, 2, … for each measured period). Nothing else changes, but the process is slower while
// it samples: its CPU figures are not the bench's.
// Plain JavaScript: a .ts preload would load Node's type stripper into the process (~10 MB RSS).
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.SCOPEKEEPER_BENCH_ALLOC_PROFILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  let sampling = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    if (!sampling) {
      sampling = true;
      session.post('HeapProfiler.startSampling', {
        samplingInterval: 32 * 1024,
        includeObjectsCollectedByMajorGC: true,
        // SCOPEKEEPER_BENCH_ALLOC_SURVIVORS=1: only what outlived a scavenge (what gets promoted)
        includeObjectsCollectedByMinorGC: process.env.SCOPEKEEPER_BENCH_ALLOC_SURVIVORS !== '1',
      });
      return;
    }
    sampling = false;
    n++;
    session.post('HeapProfiler.stopSampling', (err, r) => {
      // Renamed into place: the bench reads the file as soon as it exists.
      writeFileSync(`${file}-${n}.tmp`, err ? JSON.stringify({ error: err.message }) : JSON.stringify(r.profile));
      renameSync(`${file}-${n}.tmp`, `${file}-${n}.json`);
    });
  });
}
