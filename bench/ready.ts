// Start-up before/after: the real CLI of one or more entry points (e.g. a dist/ of HEAD and one of
// a change), started alternately as `npm run bench` starts it (pinned to core 1, NODE_OPTIONS as
// injected), spawn to the first 200 of /readyz, then the idle RSS 2 s later. Alternating in the
// same minute keeps the comparison fair on a shared machine.
//
//   node bench/ready.ts [--samples 7] [--idle-ms 2000] ENTRY [ENTRY…]      (default: dist/bin/scopekeeper.js)
//   ENTRY may carry extra env as NAME=VALUE,…@path, e.g. NODE_COMPILE_CACHE=/tmp/cc@dist/bin/scopekeeper.js
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, freePort, rssMb, sleep, stop } from './lib/proc.ts';
import { REPO, setupScopekeeper, startSidecar } from './lib/scopekeeper.ts';
import { spread } from './lib/stats.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { samples: { type: 'string', default: '7' }, 'idle-ms': { type: 'string', default: '2000' } },
});
const entries = (positionals.length ? positionals : [join(REPO, 'dist/bin/scopekeeper.js')]).map((e) => {
  const at = e.lastIndexOf('@');
  const env =
    at > 0
      ? Object.fromEntries(
          e
            .slice(0, at)
            .split(',')
            .map((kv) => kv.split('=', 2) as [string, string]),
        )
      : {};
  return { label: e, path: resolve(at > 0 ? e.slice(at + 1) : e), env };
});

const dir = mkdtempSync(join(tmpdir(), 'scopekeeper-ready-'));
const sk = await setupScopekeeper(dir);
const res = entries.map(() => ({ ready: [] as number[], cpu: [] as number[], rss: [] as number[] }));
try {
  for (let i = 0; i < Number(values.samples); i++) {
    for (const [k, e] of entries.entries()) {
      const saved = { ...process.env };
      Object.assign(process.env, e.env);
      const s = await startSidecar(`ready-${k}-${i}`, 1, sk, {
        dir,
        port: await freePort(),
        adminPort: await freePort(),
        upstream: 'http://127.0.0.1:9',
        entry: e.path,
        pollMs: 2,
      });
      process.env = saved;
      res[k]!.ready.push(s.readyMs);
      res[k]!.cpu.push(cpuSeconds(s.pid) * 1000);
      await sleep(Number(values['idle-ms']));
      res[k]!.rss.push(rssMb(s.pid));
      await stop(s);
    }
  }
} finally {
  await sk.issuer.close();
  rmSync(dir, { recursive: true, force: true });
}
for (const [k, e] of entries.entries()) {
  const r = spread(res[k]!.ready)!;
  const m = spread(res[k]!.rss)!;
  const c = spread(res[k]!.cpu)!;
  console.log(
    `${e.label}\n  ready ms: median ${r.median.toFixed(0)} (${r.min.toFixed(0)}–${r.max.toFixed(0)}) [${res[k]!.ready.map((x) => x.toFixed(0)).join(' ')}]` +
      `\n  CPU ms at ready: median ${c.median.toFixed(0)} (${c.min.toFixed(0)}–${c.max.toFixed(0)})` +
      `\n  idle RSS MB: median ${m.median.toFixed(1)} (${m.min.toFixed(1)}–${m.max.toFixed(1)})`,
  );
}
process.exit(0);
