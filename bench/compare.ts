// Before/after for a change to the data path: the sidecar of two source trees (e.g. a git
// worktree of HEAD and one with the change), started alternately with the real CLI against the
// same upstream stand-in, measured the same way as `npm run bench` (wrk at maximum throughput,
// the open-loop generator at a fixed rate), interleaved over rounds.
//
//   node bench/compare.ts --a /path/to/tree-before --b /path/to/tree-after [--rounds 3] [--rate 1000] [--token mask|audit]
//
// Each tree needs a node_modules in which @scopekeeper/* point at that tree's packages/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { requestBody } from './lib/fixtures.ts';
import { runLoadgen } from './lib/run-loadgen.ts';
import { writeUpstreamConfig, startNginx } from './lib/nginx.ts';
import { stop, freePort, cpuSeconds, rssSampler } from './lib/proc.ts';
import { setupScopekeeper, startSidecar } from './lib/scopekeeper.ts';
import { writeWrkScript, runWrk } from './lib/wrk.ts';
import { spread, fmt, fmtInt } from './lib/stats.ts';
import { inOwnSession, raisePriority } from './lib/session.ts';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    token: { type: 'string', default: 'mask' },
  },
});
if (!values.a || !values.b) {
  console.error('usage: node bench/compare.ts --a TREE --b TREE [--rounds N] [--rate R] [--token mask|audit]');
  process.exit(2);
}
async function run(): Promise<void> {
  execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  console.error(`priority: ${raisePriority()}`);
  const rate = Number(values.rate);
  const dir = mkdtempSync(join(tmpdir(), 'scopekeeper-compare-'));
  const upPort = await freePort();
  const up = await startNginx('upstream', 0, join(dir, 'up'), writeUpstreamConfig(join(dir, 'up'), upPort), upPort, '/healthz');
  const sk = await setupScopekeeper(dir);
  const token = values.token === 'audit' ? sk.auditToken : sk.maskToken;
  type Row = { tree: string; mode: string; rps: number; cpuMax: number; p50: number; p99: number; cpuRate: number; rss: number };
  const rows: Row[] = [];

  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [name, tree] of [
      ['a', values.a!],
      ['b', values.b!],
    ] as const) {
      const sc = await startSidecar(`sk-${name}`, 1, sk, {
        dir,
        port: await freePort(),
        adminPort: await freePort(),
        upstream: `http://127.0.0.1:${upPort}`,
        entry: join(tree, 'bin/scopekeeper.js'),
      });
      const url = `http://127.0.0.1:${sc.port}`;
      for (const mode of ['json', 'sse']) {
        const headers = {
          authorization: `Bearer ${token}`,
          'anthropic-version': '2023-06-01',
          ...(mode === 'sse' ? { 'x-bench-stream': '1' } : {}),
        };
        const script = writeWrkScript(dir, `${name}-${mode}`, headers, requestBody(mode === 'sse'));
        await runWrk(0, `${url}/v1/messages`, script, { connections: 64, durationS: 1 });
        let c0 = cpuSeconds(sc.pid);
        const w = await runWrk(0, `${url}/v1/messages`, script, { connections: 64, durationS: 5 });
        const cpuMax = ((cpuSeconds(sc.pid) - c0) / w.requests) * 1000;
        c0 = cpuSeconds(sc.pid);
        const rss = rssSampler(sc.pid);
        const l = await runLoadgen({
          url,
          path: '/v1/messages',
          headers,
          body: requestBody(mode === 'sse'),
          rate,
          warmupS: 1,
          durationS: 6,
          connections: 64,
          maxInFlight: 2 * rate,
          timeoutMs: 10_000,
        });
        rows.push({
          tree: name,
          mode,
          rps: w.rps,
          cpuMax,
          p50: l.latencyMs.p50,
          p99: l.latencyMs.p99,
          cpuRate: ((cpuSeconds(sc.pid) - c0) / l.completedTotal) * 1000,
          rss: rss.stop(),
        });
        console.error(
          `round ${round} ${name} ${mode}: ${w.rps.toFixed(0)} req/s, ${cpuMax.toFixed(3)} CPU s/1k; at ${rate}/s p50 ${l.latencyMs.p50.toFixed(2)} p99 ${l.latencyMs.p99.toFixed(2)} ms${l.errors || l.non2xx ? ` (${l.errors} errors, ${l.non2xx} non-2xx)` : ''}`,
        );
      }
      await stop(sc);
    }
  }
  await stop(up);
  await sk.issuer.close();
  rmSync(dir, { recursive: true, force: true });

  console.log(
    `| tree | mode | max req/s | CPU s / 1k req at max | p50 ms at ${rate} req/s | p99 ms at ${rate} req/s | CPU s / 1k req at ${rate} req/s | RSS peak MB at ${rate} req/s |`,
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const tree of ['a', 'b']) {
    for (const mode of ['json', 'sse']) {
      const r = rows.filter((x) => x.tree === tree && x.mode === mode);
      const s = (f: (x: Row) => number) => spread(r.map(f));
      console.log(
        `| ${tree === 'a' ? values.a : values.b} | ${mode.toUpperCase()} | ${fmtInt(s((x) => x.rps))} | ${fmt(
          s((x) => x.cpuMax),
          3,
        )} | ${fmt(s((x) => x.p50))} | ${fmt(s((x) => x.p99))} | ${fmt(
          s((x) => x.cpuRate),
          3,
        )} | ${fmt(
          s((x) => x.rss),
          0,
        )} |`,
      );
    }
  }
}

inOwnSession(() => {
  run().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e.stack ?? e.message);
      process.exit(1);
    },
  );
});
