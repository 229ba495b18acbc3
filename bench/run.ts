// `npm run bench` — scopekeeper against direct, nginx and LiteLLM, side by side, on loopback
// (DESIGN.md §9, issue #9). `npm run bench -- --quick` is a short smoke run (~2 min).
//
// Every target sits in front of the same upstream stand-in (nginx serving canned Anthropic JSON
// and SSE). Core 0: this orchestrator, the load generators and the upstream; core 1: the proxy
// under test. Per round, per target, per mode (JSON, SSE): maximum throughput with wrk, then
// fixed rates with the open-loop generator (bench/lib/loadgen.ts). Three rounds (median and
// min–max reported). Then: sidecar start-up to /readyz and idle RSS, a CPU profile of the sidecar
// under load, bench/decide.ts and bench/masking.ts. Results: bench/results/latest.json and
// docs/benchmarks.md.
//
// Options: --quick, --rounds N, --only direct,nginx,sk-audit,sk-mask,portkey,litellm,fwd-node,fwd-express,
//          --hpm <module> (adds fwd-hpm: express + that http-proxy-middleware release),
//          --no-litellm, --no-docs, --out FILE
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, copyFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, cpus, totalmem, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { requestBody, MODEL } from './lib/fixtures.ts';
import { writeUpstreamConfig, writeProxyConfig, startNginx, NGINX } from './lib/nginx.ts';
import {
  startPinned,
  stop,
  stopAll,
  stopAllSync,
  freePort,
  treeCpuSeconds,
  treeRssMb,
  rssSampler,
  waitFor,
  sleep,
  rssMb,
  type Started,
} from './lib/proc.ts';
import { setupScopekeeper, startSidecar, NODE, REPO, UPSTREAM_KEY, type SkSetup } from './lib/scopekeeper.ts';
import { ensureLitellm, startLitellm, MASTER_KEY, SSE_MODEL, CACHE } from './lib/litellm.ts';
import { portkeyHeaders, portkeyVersion, startPortkey } from './lib/portkey.ts';
import { writeWrkScript, runWrk, WRK, type WrkResult } from './lib/wrk.ts';
import { ensureTools } from './lib/tools.ts';
import type { LoadResult, LoadSpec } from './lib/loadgen.ts';
import { summarise, type ProfileSummary } from './lib/cpuprofile.ts';
import { spread, type Spread } from './lib/stats.ts';
import { writeReport } from './lib/report.ts';
import { inOwnSession, raisePriority } from './lib/session.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    'no-litellm': { type: 'boolean', default: false },
    hpm: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
  allowPositionals: true,
});
const QUICK = args.quick!;
const ROUNDS = Number(args.rounds ?? (QUICK ? 1 : 3));
const OUT = args.out ?? join(REPO, 'bench/results', QUICK ? 'quick.json' : 'latest.json');
const T = QUICK
  ? { wrkS: 2, wrkWarmS: 1, warmS: 0.5, rateS: { 100: 3, 1000: 2, 3000: 2 } as Record<number, number>, readySamples: 2, profileS: 3 }
  : { wrkS: 5, wrkWarmS: 1, warmS: 1, rateS: { 100: 10, 1000: 6, 3000: 5 } as Record<number, number>, readySamples: 5, profileS: 8 };
const RATES = [100, 1000, 3000];
const WRK_CONNECTIONS = 64;
const LOAD_CONNECTIONS = 64;
const NCORES = cpus().length;
const CORE = NCORES >= 2 ? { load: 0, upstream: 0, proxy: 1 } : { load: undefined, upstream: undefined, proxy: undefined };
const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}\n`);

export type Mode = 'json' | 'sse';
export type TargetId = 'direct' | 'nginx' | 'sk-audit' | 'sk-mask' | 'portkey' | 'litellm' | 'fwd-node' | 'fwd-express' | 'fwd-hpm';
export const TARGET_LABELS: Record<TargetId, string> = {
  direct: 'direct to the upstream',
  nginx: 'nginx (plain reverse proxy)',
  'sk-audit': 'scopekeeper: policy + audit',
  'sk-mask': 'scopekeeper: policy + audit + masking',
  portkey: 'Portkey AI gateway',
  litellm: 'LiteLLM proxy',
  'fwd-node': 'forwarding only, node:http',
  'fwd-express': "forwarding only, express + the sidecar's Forwarder (node:http), as the sidecar forwards",
  'fwd-hpm': 'forwarding only, express + http-proxy-middleware (--hpm)',
};

interface Target {
  id: TargetId;
  url: string;
  proc?: Started;
  headers: Record<string, string>;
  model: (mode: Mode) => string;
  rates: number[];
  idleRssMb?: number;
  error?: string;
  /** The modes it answers correctly (a target that fails the sanity check of a mode is not measured in it). */
  modes?: Mode[];
}

export interface RunRecord {
  round: number;
  target: TargetId;
  mode: Mode;
  kind: 'max' | 'rate';
  rate?: number;
  skipped?: string;
  error?: string;
  wrk?: WrkResult;
  load?: LoadResult;
  cpuPer1k?: number;
  /** Share of one core the proxy used during the run. */
  proxyCoreUse?: number;
  rssPeakMb?: number;
  upstreamCpuPer1k?: number;
}

// ------------------------------------------------------------------------------- preflight

function versionOf(cmd: string, argv: string[]): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

// ---------------------------------------------------------------------------- measurement

async function check(t: Target, mode: Mode): Promise<void> {
  const r = await fetch(`${t.url}/v1/messages`, {
    method: 'POST',
    headers: {
      ...t.headers,
      ...(mode === 'sse' && t.id !== 'litellm' ? { 'x-bench-stream': '1' } : {}),
      'content-type': 'application/json',
    },
    body: requestBody(mode === 'sse', t.model(mode)),
  });
  const text = await r.text();
  const problem = (what: string) => new Error(`${t.id} ${mode}: ${what} (HTTP ${r.status}: ${text.slice(0, 300)})`);
  if (r.status !== 200) throw problem('not 200');
  if (mode === 'sse' && (!String(r.headers.get('content-type')).startsWith('text/event-stream') || !text.includes('message_stop')))
    throw problem('not a complete event stream');
  if (mode === 'json' && !(JSON.parse(text) as { content?: unknown[] }).content?.length) throw problem('no content');
  if (t.id.startsWith('sk-') && r.headers.get('x-scopekeeper-decision') !== 'allow') throw problem('no x-scopekeeper-decision: allow');
  if (t.id === 'sk-mask' && !text.includes('[MASKED:email]')) throw problem('the e-mail address was not masked');
  if (t.id === 'sk-audit' && text.includes('[MASKED:')) throw problem('masked although the scope has no data section');
}

function headersFor(t: Target, mode: Mode): Record<string, string> {
  return { ...t.headers, ...(mode === 'sse' && t.id !== 'litellm' ? { 'x-bench-stream': '1' } : {}) };
}

function runLoadgen(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const argv = [NODE, join(REPO, 'bench/lib/loadgen.ts'), JSON.stringify(spec)];
    const cmd = CORE.load === undefined ? argv : ['taskset', '-c', String(CORE.load), ...argv];
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    const kill = setTimeout(() => child.kill('SIGKILL'), (spec.warmupS + spec.durationS) * 1000 + spec.timeoutMs + 15_000);
    child.once('exit', (code) => {
      clearTimeout(kill);
      if (code !== 0) return reject(new Error(`loadgen failed (exit ${code}): ${err.slice(-500)}`));
      resolve(JSON.parse(out) as LoadResult);
    });
  });
}

async function measureMax(
  t: Target,
  mode: Mode,
  script: string,
  upstream: Started,
  durationS: number,
): Promise<Omit<RunRecord, 'round' | 'target' | 'mode' | 'kind'>> {
  const pid = t.proc?.pid;
  const cpu0 = pid ? treeCpuSeconds(pid) : 0;
  const up0 = treeCpuSeconds(upstream.pid);
  const rss = pid ? rssSampler(pid) : undefined;
  const w0 = performance.now();
  const wrk = await runWrk(CORE.load ?? 0, `${t.url}/v1/messages`, script, { connections: WRK_CONNECTIONS, durationS });
  const wall = (performance.now() - w0) / 1000;
  const cpu = pid ? treeCpuSeconds(pid) - cpu0 : undefined;
  const rec: Omit<RunRecord, 'round' | 'target' | 'mode' | 'kind'> = {
    wrk,
    upstreamCpuPer1k: ((treeCpuSeconds(upstream.pid) - up0) / Math.max(1, wrk.requests)) * 1000,
  };
  if (cpu !== undefined) {
    rec.cpuPer1k = (cpu / Math.max(1, wrk.requests)) * 1000;
    rec.proxyCoreUse = cpu / wall;
    rec.rssPeakMb = rss!.stop();
  }
  if (wrk.non2xx || wrk.errors) rec.error = `${wrk.non2xx} non-2xx, ${wrk.errors} socket errors/timeouts`;
  return rec;
}

async function measureRate(
  t: Target,
  mode: Mode,
  rate: number,
  upstream: Started,
  durationS: number,
): Promise<Omit<RunRecord, 'round' | 'target' | 'mode' | 'kind'>> {
  const pid = t.proc?.pid;
  const cpu0 = pid ? treeCpuSeconds(pid) : 0;
  const up0 = treeCpuSeconds(upstream.pid);
  const rss = pid ? rssSampler(pid) : undefined;
  const w0 = performance.now();
  const load = await runLoadgen({
    url: t.url,
    path: '/v1/messages',
    headers: headersFor(t, mode),
    body: requestBody(mode === 'sse', t.model(mode)),
    rate,
    warmupS: T.warmS,
    durationS,
    connections: LOAD_CONNECTIONS,
    maxInFlight: Math.max(200, rate * 2),
    timeoutMs: 10_000,
  });
  const wall = (performance.now() - w0) / 1000;
  const rec: Omit<RunRecord, 'round' | 'target' | 'mode' | 'kind'> = {
    load,
    upstreamCpuPer1k: ((treeCpuSeconds(upstream.pid) - up0) / Math.max(1, load.completedTotal)) * 1000,
  };
  if (pid) {
    const cpu = treeCpuSeconds(pid) - cpu0;
    rec.cpuPer1k = (cpu / Math.max(1, load.completedTotal)) * 1000;
    rec.proxyCoreUse = cpu / wall;
    rec.rssPeakMb = rss!.stop();
  }
  if (load.non2xx || load.errors || load.dropped)
    rec.error = `${load.non2xx} non-2xx, ${load.errors} errors, ${load.dropped} not sent (over ${Math.max(200, rate * 2)} in flight)${load.firstError ? `; first: ${load.firstError}` : ''}`;
  return rec;
}

// ---------------------------------------------------------------------------- side studies

async function readiness(sk: SkSetup, dir: string, upstream: string): Promise<{ readyMs: number[]; idleRssMb: number[] }> {
  const readyMs: number[] = [];
  const idleRssMb: number[] = [];
  for (let i = 0; i < T.readySamples; i++) {
    const s = await startSidecar(`ready-${i}`, CORE.proxy, sk, {
      dir,
      port: await freePort(),
      adminPort: await freePort(),
      upstream,
      pollMs: 2,
    });
    readyMs.push(s.readyMs);
    await sleep(2000);
    idleRssMb.push(rssMb(s.pid));
    await stop(s);
  }
  return { readyMs, idleRssMb };
}

async function profileSidecar(
  sk: SkSetup,
  dir: string,
  upstream: string,
): Promise<{ summary: ProfileSummary; file: string } | { error: string }> {
  const profDir = join(dir, 'prof');
  mkdirSync(profDir, { recursive: true });
  const s = await startSidecar('profiled', CORE.proxy, sk, {
    dir,
    port: await freePort(),
    adminPort: await freePort(),
    upstream,
    nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profDir],
  });
  const url = `http://127.0.0.1:${s.port}`;
  for (const mode of ['json', 'sse'] as Mode[]) {
    const headers = {
      authorization: `Bearer ${sk.maskToken}`,
      'anthropic-version': '2023-06-01',
      ...(mode === 'sse' ? { 'x-bench-stream': '1' } : {}),
    };
    const script = writeWrkScript(dir, `profile-${mode}`, headers, requestBody(mode === 'sse'));
    await runWrk(CORE.load ?? 0, `${url}/v1/messages`, script, { connections: 32, durationS: T.profileS });
  }
  await stop(s, 30_000);
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) return { error: 'no .cpuprofile written' };
  const keep = join(CACHE, 'bench', 'profiles');
  mkdirSync(keep, { recursive: true });
  const file = join(keep, `sidecar-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  copyFileSync(join(profDir, files[0]!), file);
  return { summary: summarise(file, 25), file };
}

function runScript(file: string, argv: string[], timeoutMs: number): { out: string; ok: boolean } {
  const cmd = CORE.proxy === undefined ? [NODE, file, ...argv] : ['taskset', '-c', String(CORE.proxy), NODE, file, ...argv];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: REPO, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return { out: `${r.stdout ?? ''}${r.status !== 0 ? `\n${r.stderr ?? ''}` : ''}`, ok: r.status === 0 };
}

export interface DecideRow {
  scopes: number;
  case: string;
  p50: number;
  p99: number;
  p999: number;
}

function parseDecide(out: string): DecideRow[] {
  const rows: DecideRow[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+) scopes\s+(.+?)\s+p50 ([\d.]+) µs\s+p99 ([\d.]+) µs\s+p99\.9 ([\d.]+) µs/.exec(line);
    if (m) rows.push({ scopes: Number(m[1]), case: m[2]!.trim(), p50: Number(m[3]), p99: Number(m[4]), p999: Number(m[5]) });
  }
  return rows;
}

export interface MaskingRow {
  text: string;
  policy: string;
  fastest: number;
  median: number;
}

function parseMasking(out: string): MaskingRow[] {
  const rows: MaskingRow[] = [];
  const section = out.split('## maskText throughput')[1]?.split('\n## ')[0] ?? '';
  for (const line of section.split('\n')) {
    const c = line.split('|').map((x) => x.trim());
    if (c.length >= 6 && /^\d+$/.test(c[3]!)) rows.push({ text: c[1]!, policy: c[2]!, fastest: Number(c[3]), median: Number(c[4]) });
  }
  return rows;
}

// ------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  if (CORE.proxy !== undefined) execFileSync('taskset', ['-p', '-c', String(CORE.load), String(process.pid)], { stdio: 'ignore' });
  else log(`only ${NCORES} core: running without pinning; the figures are not comparable with a 2-core run`);
  const priority = raisePriority();
  if (priority.startsWith('normal')) log(`${priority}: other work on the machine will show in the figures`);
  ensureTools(log);
  const only = args.only ? new Set(args.only.split(',')) : undefined;
  const want = (id: TargetId) => !only || only.has(id);
  const dir = mkdtempSync(join(tmpdir(), 'scopekeeper-bench-'));
  log(`${QUICK ? 'quick' : 'full'} run, ${ROUNDS} round(s); work folder ${dir}`);
  const meta = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: QUICK,
    rounds: ROUNDS,
    machine: {
      nproc: NCORES,
      cpuModel: /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
    },
    node: process.version,
    nginx: versionOf(NGINX, ['-v']),
    wrk: versionOf(WRK, ['-v']).split(' [')[0],
    portkey: undefined as string | undefined,
    sidecarEntry: '',
    litellm: undefined as string | undefined,
    litellmError: undefined as string | undefined,
    pinning: `${CORE.proxy === undefined ? 'none (1 core)' : 'core 0: orchestrator, load generators (wrk, loadgen), upstream nginx; core 1: the proxy under test'}; ${priority}`,
    loadAverageStart: loadavg(),
    loadAverageEnd: [] as number[],
    settings: {
      wrkConnections: WRK_CONNECTIONS,
      loadConnections: LOAD_CONNECTIONS,
      wrkSeconds: T.wrkS,
      rateSeconds: T.rateS,
      warmupSeconds: T.warmS,
      rates: RATES,
    },
    otherProcesses: [] as string[],
  };
  // Who else uses the CPU (other work on the machine shows in the spread).
  meta.otherProcesses = execFileSync('ps', ['-eo', 'pcpu,comm', '--sort=-pcpu'], { encoding: 'utf8' })
    .split('\n')
    .slice(1, 6)
    .map((s) => s.trim())
    .filter(Boolean);

  // The sidecar as the image and the injected container run it: compiled JavaScript (dist/).
  const build = spawnSync(NODE, [join(REPO, 'scripts/build.ts')], { cwd: REPO, encoding: 'utf8' });
  if (build.status === 0) process.env.SCOPEKEEPER_BENCH_ENTRY = join(REPO, 'dist/bin/scopekeeper.js');
  else log(`npm run build failed, measuring the sources instead: ${(build.stderr || build.stdout).slice(-300)}`);
  meta.sidecarEntry = process.env.SCOPEKEEPER_BENCH_ENTRY ?? join(REPO, 'bin/scopekeeper.js');

  // Upstream stand-in.
  const upPort = await freePort();
  const upstream = await startNginx(
    'upstream',
    CORE.upstream ?? 0,
    join(dir, 'upstream'),
    writeUpstreamConfig(join(dir, 'upstream'), upPort),
    upPort,
    '/healthz',
  );
  const upstreamUrl = `http://127.0.0.1:${upPort}`;
  const sk = await setupScopekeeper(dir);

  // Targets.
  const targets: Target[] = [];
  const same = () => MODEL;
  const v = { 'anthropic-version': '2023-06-01' };
  if (want('direct'))
    targets.push({ id: 'direct', url: upstreamUrl, headers: { ...v, 'x-api-key': UPSTREAM_KEY }, model: same, rates: RATES });
  if (want('nginx')) {
    const port = await freePort();
    const d = join(dir, 'nginx-proxy');
    const proc = await startNginx('nginx-proxy', CORE.proxy ?? 0, d, writeProxyConfig(d, port, upPort, UPSTREAM_KEY), port, '/v1/messages');
    targets.push({
      id: 'nginx',
      url: `http://127.0.0.1:${port}`,
      proc,
      headers: { ...v, authorization: `Bearer ${sk.auditToken}` },
      model: same,
      rates: RATES,
    });
  }
  for (const id of ['sk-audit', 'sk-mask'] as const) {
    if (!want(id)) continue;
    const proc = await startSidecar(id, CORE.proxy, sk, {
      dir,
      port: await freePort(),
      adminPort: await freePort(),
      upstream: upstreamUrl,
    });
    targets.push({
      id,
      url: `http://127.0.0.1:${proc.port}`,
      proc,
      headers: { ...v, authorization: `Bearer ${id === 'sk-mask' ? sk.maskToken : sk.auditToken}` },
      model: same,
      rates: RATES,
    });
  }
  if (want('portkey')) {
    const port = await freePort();
    meta.portkey = portkeyVersion();
    const proc = await startPortkey(CORE.proxy, dir, port);
    targets.push({
      id: 'portkey',
      url: `http://127.0.0.1:${port}`,
      proc,
      headers: { ...v, ...portkeyHeaders(upstreamUrl, UPSTREAM_KEY) },
      model: same,
      rates: RATES,
    });
  }
  if (want('litellm') && !args['no-litellm']) {
    try {
      meta.litellm = ensureLitellm(log);
      const port = await freePort();
      log(`starting LiteLLM ${meta.litellm}…`);
      const proc = await startLitellm(CORE.proxy ?? 0, dir, port, upstreamUrl, UPSTREAM_KEY);
      targets.push({
        id: 'litellm',
        url: `http://127.0.0.1:${port}`,
        proc,
        headers: { ...v, authorization: `Bearer ${MASTER_KEY}` },
        model: (m) => (m === 'sse' ? SSE_MODEL : MODEL),
        rates: RATES,
      });
    } catch (e) {
      meta.litellmError = (e as Error).message;
      log(`LiteLLM left out: ${meta.litellmError}`);
    }
  } else if (want('litellm')) meta.litellmError = 'left out with --no-litellm';
  for (const mode of ['node', 'express', 'hpm'] as const) {
    const id = `fwd-${mode}` as TargetId;
    if (!want(id) || (mode === 'hpm' && !args.hpm)) continue;
    const port = await freePort();
    const extra = mode === 'hpm' ? ['--hpm', args.hpm!] : [];
    const proc = startPinned(
      id,
      CORE.proxy,
      [
        NODE,
        join(REPO, 'bench/variants/forwarder.ts'),
        '--mode',
        mode,
        ...extra,
        '--listen',
        `127.0.0.1:${port}`,
        '--upstream',
        upstreamUrl,
        '--key',
        UPSTREAM_KEY,
      ],
      { cwd: REPO, log: join(dir, `${id}.log`) },
    );
    await waitFor(
      id,
      async () =>
        (await fetch(`http://127.0.0.1:${port}/v1/messages`, { method: 'POST', body: '{}' }).then((r) => r.arrayBuffer())) !== undefined,
      20_000,
    );
    targets.push({ id, url: `http://127.0.0.1:${port}`, proc, headers: { ...v }, model: same, rates: [1000] });
  }

  // Sanity: every target answers both modes as expected before anything is measured.
  const targetErrors: Partial<Record<TargetId, string>> = {};
  for (const t of [...targets]) {
    t.modes = [];
    for (const mode of ['json', 'sse'] as Mode[]) {
      try {
        await check(t, mode);
        t.modes.push(mode);
      } catch (e) {
        t.error = (e as Error).message;
        targetErrors[t.id] = t.error;
        log(`left out ${t.id} ${mode}: ${t.error}`);
      }
    }
    if (t.modes.length === 0) {
      if (t.id === 'litellm') meta.litellmError = t.error;
      if (t.proc) await stop(t.proc);
      targets.splice(targets.indexOf(t), 1);
    }
  }
  await sleep(1500);
  for (const t of targets) if (t.proc) t.idleRssMb = treeRssMb(t.proc.pid);

  // Warm-up: JIT and connection pools, not recorded.
  const scripts = new Map<string, string>();
  for (const t of targets) {
    for (const mode of t.modes!) {
      const s = writeWrkScript(dir, `${t.id}-${mode}`, headersFor(t, mode), requestBody(mode === 'sse', t.model(mode)));
      scripts.set(`${t.id}/${mode}`, s);
      await runWrk(CORE.load ?? 0, `${t.url}/v1/messages`, s, { connections: WRK_CONNECTIONS, durationS: T.wrkWarmS });
    }
  }
  log(`targets: ${targets.map((t) => t.id).join(', ')}; warm`);

  const runs: RunRecord[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      for (const mode of t.modes!) {
        const base = { round, target: t.id, mode };
        let max: number | undefined;
        try {
          const r = await measureMax(t, mode, scripts.get(`${t.id}/${mode}`)!, upstream, T.wrkS);
          runs.push({ ...base, kind: 'max', ...r });
          max = r.wrk!.rps;
        } catch (e) {
          runs.push({ ...base, kind: 'max', error: (e as Error).message });
        }
        for (const rate of t.rates) {
          if (max !== undefined && rate > max * 1.2) {
            runs.push({ ...base, kind: 'rate', rate, skipped: `above this target's capacity (max ${Math.round(max)} req/s this round)` });
            continue;
          }
          try {
            runs.push({ ...base, kind: 'rate', rate, ...(await measureRate(t, mode, rate, upstream, T.rateS[rate]!)) });
          } catch (e) {
            runs.push({ ...base, kind: 'rate', rate, error: (e as Error).message });
          }
        }
        const last = runs.filter((r) => r.target === t.id && r.mode === mode && r.round === round);
        log(
          `round ${round} ${t.id} ${mode}: max ${max?.toFixed(0) ?? '—'} req/s; ${last
            .filter((r) => r.load)
            .map((r) => `${r.rate}/s p50 ${r.load!.latencyMs.p50.toFixed(2)} p99 ${r.load!.latencyMs.p99.toFixed(2)} ms`)
            .join('; ')}`,
        );
      }
    }
  }
  const idle = Object.fromEntries(targets.map((t) => [t.id, t.idleRssMb]));
  for (const t of targets) if (t.proc) await stop(t.proc);

  log('sidecar start-up to /readyz…');
  const ready = await readiness(sk, dir, upstreamUrl);
  log(`ready: ${ready.readyMs.map((x) => x.toFixed(0)).join(', ')} ms; idle RSS ${ready.idleRssMb.map((x) => x.toFixed(1)).join(', ')} MB`);
  log('profiling the sidecar under load (--cpu-prof)…');
  const profile = await profileSidecar(sk, dir, upstreamUrl).catch((e: Error) => ({ error: e.message }));
  await stop(upstream);
  await sk.issuer.close();

  log('bench/decide.ts…');
  const decideRun = runScript(join(REPO, 'bench/decide.ts'), [], 300_000);
  log('bench/masking.ts…');
  const maskingRun = runScript(join(REPO, 'bench/masking.ts'), QUICK ? ['--quick'] : [], 600_000);
  meta.loadAverageEnd = loadavg();

  const results = {
    meta,
    targets: Object.fromEntries(
      (Object.keys(TARGET_LABELS) as TargetId[]).map((id) => [
        id,
        {
          label: TARGET_LABELS[id],
          measured: runs.some((r) => r.target === id),
          idleRssMb: idle[id],
          error: id === 'litellm' ? meta.litellmError : targetErrors[id],
        },
      ]),
    ),
    runs,
    sidecar: {
      readyMs: ready.readyMs,
      idleRssMb: ready.idleRssMb,
      readySpread: spread(ready.readyMs) as Spread,
      idleRssSpread: spread(ready.idleRssMb) as Spread,
    },
    profile,
    decide: { ok: decideRun.ok, rows: parseDecide(decideRun.out), output: decideRun.out.replace(/^\n+|\s+$/g, '') },
    masking: { ok: maskingRun.ok, rows: parseMasking(maskingRun.out), output: maskingRun.out.replace(/^\n+|\s+$/g, '') },
    durationS: (Date.now() - t0) / 1000,
  };
  mkdirSync(join(OUT, '..'), { recursive: true });
  writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
  log(`results: ${OUT}`);
  if (!args['no-docs']) {
    // A quick run is a smoke test: its report stays beside its JSON, docs/benchmarks.md keeps the full run.
    const doc = QUICK ? OUT.replace(/\.json$/, '.md') : join(REPO, 'docs', 'benchmarks.md');
    writeReport(results, doc);
    log(`report: ${doc}`);
  }
  rmSync(dir, { recursive: true, force: true });
  log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
}

inOwnSession(() => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stopAllSync();
      process.exit(130);
    });
  }
  main().then(
    () => process.exit(0),
    async (e: Error) => {
      log(`failed: ${e.stack ?? e.message}`);
      await stopAll();
      process.exit(1);
    },
  );
});
