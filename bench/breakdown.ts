// Where the sidecar's CPU per request goes, end to end: the sidecar with one part swapped
// (bench/variants/sidecar-variant.ts), against the same upstream stand-in, support-agent scope
// (masking on), JSON: maximum throughput (wrk) and 1,000 req/s (open-loop generator).
//
//   node_modules/.bin/node bench/breakdown.ts [--rounds 2]
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { requestBody } from './lib/fixtures.ts';
import { runLoadgen } from './lib/run-loadgen.ts';
import { writeUpstreamConfig, startNginx } from './lib/nginx.ts';
import { startPinned, stop, freePort, cpuSeconds, waitFor } from './lib/proc.ts';
import { setupScopekeeper, NODE, REPO } from './lib/scopekeeper.ts';
import { writeWrkScript, runWrk } from './lib/wrk.ts';
import { spread, fmt, fmtInt } from './lib/stats.ts';
import { inOwnSession, raisePriority } from './lib/session.ts';
import { execFileSync } from 'node:child_process';

const VARIANTS: [string, string[]][] = [
  ['as the CLI runs it (audit to stdout + file, fdatasync)', ['--audit', 'cli']],
  ['audit to the file only (fdatasync)', ['--audit', 'file']],
  ['audit to the file, no fdatasync', ['--audit', 'file-nosync']],
  ['no audit sink', ['--audit', 'none']],
  ['no audit sink + verified-token cache', ['--audit', 'none', '--tokens', 'cache']],
];

async function run(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' } } });
  execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  console.error(`priority: ${raisePriority()}`);
  const dir = mkdtempSync(join(tmpdir(), 'scopekeeper-breakdown-'));
  const upPort = await freePort();
  const up = await startNginx('upstream', 0, join(dir, 'up'), writeUpstreamConfig(join(dir, 'up'), upPort), upPort, '/healthz');
  const sk = await setupScopekeeper(dir);
  const headers = { authorization: `Bearer ${sk.maskToken}`, 'anthropic-version': '2023-06-01' };
  const script = writeWrkScript(dir, 'json', headers, requestBody(false));
  const rows: { variant: string; rps: number; cpuMax: number; p50: number; p99: number; cpuRate: number }[] = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [name, argv] of VARIANTS) {
      const port = await freePort();
      const flags = {
        listen: `127.0.0.1:${port}`,
        admin: `127.0.0.1:${await freePort()}`,
        upstream: `http://127.0.0.1:${upPort}`,
        keyFile: sk.keyFile,
        policy: sk.policyDir,
        issuer: sk.issuer.issuer,
        auditFile: join(dir, `audit-${round}-${argv.join('')}.jsonl`),
      };
      const s = startPinned(name, 1, [NODE, join(REPO, 'bench/variants/sidecar-variant.ts'), JSON.stringify(flags), ...argv], {
        cwd: REPO,
        log: join(dir, 'variant.log'),
      });
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        name,
        async () => (await fetch(`${url}/v1/messages`, { method: 'POST', headers, body: requestBody(false) })).status === 200,
        20_000,
      );
      await runWrk(0, `${url}/v1/messages`, script, { connections: 64, durationS: 1 });
      let c0 = cpuSeconds(s.pid);
      const w = await runWrk(0, `${url}/v1/messages`, script, { connections: 64, durationS: 5 });
      const cpuMax = ((cpuSeconds(s.pid) - c0) / w.requests) * 1000;
      c0 = cpuSeconds(s.pid);
      const l = await runLoadgen({
        url,
        path: '/v1/messages',
        headers,
        body: requestBody(false),
        rate: 1000,
        warmupS: 1,
        durationS: 6,
        connections: 64,
        maxInFlight: 2000,
        timeoutMs: 10_000,
      });
      rows.push({
        variant: name,
        rps: w.rps,
        cpuMax,
        p50: l.latencyMs.p50,
        p99: l.latencyMs.p99,
        cpuRate: ((cpuSeconds(s.pid) - c0) / l.completedTotal) * 1000,
      });
      console.error(
        `round ${round} ${name}: ${w.rps.toFixed(0)} req/s, ${cpuMax.toFixed(3)} CPU s/1k; 1000/s p50 ${l.latencyMs.p50.toFixed(2)} p99 ${l.latencyMs.p99.toFixed(2)} ms, ${rows.at(-1)!.cpuRate.toFixed(3)} CPU s/1k`,
      );
      await stop(s);
    }
  }
  await stop(up);
  await sk.issuer.close();
  rmSync(dir, { recursive: true, force: true });
  const lines = [
    '| sidecar variant (support-agent scope, JSON) | max req/s | CPU s / 1k req at max | p50 ms at 1,000 req/s | p99 ms at 1,000 req/s | CPU s / 1k req at 1,000 req/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [name] of VARIANTS) {
    const r = rows.filter((x) => x.variant === name);
    const s = (f: (x: (typeof rows)[number]) => number) => spread(r.map(f));
    lines.push(
      `| ${name} | ${fmtInt(s((x) => x.rps))} | ${fmt(
        s((x) => x.cpuMax),
        3,
      )} | ${fmt(s((x) => x.p50))} | ${fmt(s((x) => x.p99))} | ${fmt(
        s((x) => x.cpuRate),
        3,
      )} |`,
    );
  }
  console.log(lines.join('\n'));
  mkdirSync(join(REPO, 'bench/results'), { recursive: true });
  writeFileSync(join(REPO, 'bench/results/breakdown.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');
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
