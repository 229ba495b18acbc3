// Turns bench/results/*.json into docs/benchmarks.md: every target side by side from one run,
// the §9 bars marked met or not met, then the hand-written analysis in bench/NOTES.md.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SIDECAR_MALLOC_ARENA_MAX, SIDECAR_NODE_OPTIONS } from '../../packages/operator/src/webhook/sidecar.ts';
import { spread, fmt, fmtInt, type Spread } from './stats.ts';
import type { RunRecord, TargetId, Mode, DecideRow, MaskingRow } from '../run.ts';
import type { ProfileSummary } from './cpuprofile.ts';
import { jsonResponse, requestBody, sseResponse } from './fixtures.ts';

export interface Results {
  meta: {
    date: string;
    command: string;
    quick: boolean;
    rounds: number;
    machine: { nproc: number; cpuModel: string; memoryGiB: number; kernel: string };
    node: string;
    nginx: string;
    wrk?: string;
    litellm?: string;
    litellmError?: string;
    portkey?: string;
    sidecarEntry?: string;
    pinning: string;
    loadAverageStart: number[];
    loadAverageEnd: number[];
    settings: {
      wrkConnections: number;
      loadConnections: number;
      wrkSeconds: number;
      rateSeconds: Record<number, number>;
      warmupSeconds: number;
      rates: number[];
    };
    otherProcesses: string[];
  };
  targets: Record<string, { label: string; measured: boolean; idleRssMb?: number; error?: string }>;
  runs: RunRecord[];
  sidecar: { readyMs: number[]; idleRssMb: number[]; readySpread?: Spread; idleRssSpread?: Spread };
  profile: { summary: ProfileSummary; file: string } | { error: string };
  decide: { ok: boolean; rows: DecideRow[]; output: string };
  masking: { ok: boolean; rows: MaskingRow[]; output: string };
  durationS: number;
}

const NOTES = fileURLToPath(new URL('../NOTES.md', import.meta.url));
const ORDER: TargetId[] = ['direct', 'nginx', 'sk-audit', 'sk-mask', 'portkey', 'litellm', 'fwd-node', 'fwd-express', 'fwd-hpm'];
const SK: TargetId[] = ['sk-audit', 'sk-mask'];
const MODES: Mode[] = ['json', 'sse'];

type Pick = (r: RunRecord) => number | undefined;

function runsOf(res: Results, target: TargetId, mode: Mode, kind: 'max' | 'rate', rate?: number): RunRecord[] {
  return res.runs.filter((r) => r.target === target && r.mode === mode && r.kind === kind && (rate === undefined || r.rate === rate));
}

function over(res: Results, target: TargetId, mode: Mode, kind: 'max' | 'rate', rate: number | undefined, pick: Pick): Spread | undefined {
  return spread(runsOf(res, target, mode, kind, rate).map((r) => (r.skipped || (r.kind === 'rate' && !r.load) ? NaN : (pick(r) ?? NaN))));
}

/** Per round: the target's figure minus direct's in the same round (same mode, same rate). */
function added(res: Results, target: TargetId, mode: Mode, rate: number, pick: Pick): Spread | undefined {
  const xs: number[] = [];
  for (const r of runsOf(res, target, mode, 'rate', rate)) {
    const d = res.runs.find((x) => x.target === 'direct' && x.mode === mode && x.kind === 'rate' && x.rate === rate && x.round === r.round);
    const a = r.load ? pick(r) : undefined;
    const b = d?.load ? pick(d) : undefined;
    if (a !== undefined && b !== undefined) xs.push(a - b);
  }
  return spread(xs);
}

const lat =
  (k: 'p50' | 'p90' | 'p99'): Pick =>
  (r) =>
    r.load?.latencyMs[k];
const ttfb =
  (k: 'p50' | 'p99'): Pick =>
  (r) =>
    r.load?.ttfbMs[k];

function table(head: string[], rows: string[][], align?: string[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [`| ${head.join(' | ')} |`, `| ${a.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function label(res: Results, id: TargetId): string {
  return res.targets[id]?.label ?? id;
}

function measured(res: Results, id: TargetId): boolean {
  return res.runs.some((r) => r.target === id);
}

/** Per round: a's figure over b's in the same round, same mode, at `rate` (or at maximum throughput). */
function ratioAt(
  res: Results,
  a: TargetId,
  b: TargetId,
  mode: Mode,
  kind: 'max' | 'rate',
  rate: number | undefined,
  pick: Pick,
): Spread | undefined {
  const xs: number[] = [];
  for (const r of runsOf(res, a, mode, kind, rate)) {
    const o = res.runs.find((x) => x.target === b && x.mode === mode && x.kind === kind && x.rate === r.rate && x.round === r.round);
    const p = r.skipped ? undefined : pick(r);
    const q = o && !o.skipped ? pick(o) : undefined;
    if (p !== undefined && q !== undefined && q > 0) xs.push(p / q);
  }
  return spread(xs);
}

const capacity: Pick = (r) => (r.cpuPer1k ? 1000 / r.cpuPer1k : undefined);

/** The bars of issue 13 item 4 (and DESIGN.md §9), each with its figure and verdict. */
export function bars(res: Results): { bar: string; figure: string; met: boolean | undefined }[] {
  const out: { bar: string; figure: string; met: boolean | undefined }[] = [];
  const sk = SK.filter((t) => measured(res, t));
  const worst = (xs: (Spread | undefined)[]) => {
    const v = xs.filter((x): x is Spread => x !== undefined);
    return v.length ? v.reduce((a, b) => (b.median > a.median ? b : a)) : undefined;
  };
  const modesOf = (t: TargetId) => MODES.filter((m) => runsOf(res, t, m, 'max').length > 0);
  const per = (f: (t: TargetId, m: Mode) => Spread | undefined, digits = 2, unit = ' ms') =>
    sk.flatMap((t) => MODES.map((m) => `${t} ${m.toUpperCase()} ${fmt(f(t, m), digits, unit)}`)).join('; ');
  const check = (
    f: (t: TargetId, m: Mode) => Spread | undefined,
    limit: number,
    cmp: 'le' | 'ge' = 'le',
    modes: (t: TargetId) => Mode[] = () => MODES,
  ) => {
    const all = sk.flatMap((t) => modes(t).map((m) => f(t, m)));
    if (all.length === 0 || all.some((x) => x === undefined)) return undefined;
    return all.every((x) => (cmp === 'le' ? x!.median <= limit : x!.median >= limit));
  };
  const cpuVsFwd = (t: TargetId, m: Mode) => ratioAt(res, t, 'fwd-node', m, 'rate', 1000, (r) => r.cpuPer1k);
  out.push({
    bar: "CPU per request at 1,000 req/s ≤ 2× the bare node:http forwarder's (fwd-node), JSON and SSE (goal 1.5×)",
    figure: measured(res, 'fwd-node') ? per(cpuVsFwd, 2, '×') : 'fwd-node not measured',
    met: measured(res, 'fwd-node') ? check(cpuVsFwd, 2) : undefined,
  });
  const a50 = (t: TargetId, m: Mode) => added(res, t, m, 1000, lat('p50'));
  const a99 = (t: TargetId, m: Mode) => added(res, t, m, 1000, lat('p99'));
  out.push({ bar: 'added latency at 1,000 req/s, p50 ≤ 0.35 ms over direct', figure: per(a50), met: check(a50, 0.35) });
  out.push({ bar: 'added latency at 1,000 req/s, p99 ≤ 3 ms over direct', figure: per(a99), met: check(a99, 3) });
  const vsPk = (t: TargetId, m: Mode) => ratioAt(res, t, 'portkey', m, 'max', undefined, capacity);
  const vsPkRps = (t: TargetId, m: Mode) => ratioAt(res, t, 'portkey', m, 'max', undefined, (r) => r.wrk?.rps);
  const pkModes = () => modesOf('portkey');
  out.push({
    bar: "throughput per core ≥ 3× Portkey's (1-core capacity = 1,000 / CPU s per 1k req, at maximum throughput)",
    figure: measured(res, 'portkey')
      ? `${sk.flatMap((t) => pkModes().map((m) => `${t} ${m.toUpperCase()} ${fmt(vsPk(t, m), 1, '×')} (max req/s ${fmt(vsPkRps(t, m), 1, '×')})`)).join('; ')}${pkModes().length < 2 ? `; SSE not comparable: ${res.targets.portkey?.error ?? 'Portkey not measured streamed'}` : ''}`
      : `Portkey not measured: ${res.targets.portkey?.error ?? 'unknown reason'}`,
    met: measured(res, 'portkey') ? check(vsPk, 3, 'ge', pkModes) : undefined,
  });
  const pkRss = (t: TargetId, m: Mode) => ratioAt(res, t, 'portkey', m, 'max', undefined, (r) => r.rssPeakMb);
  out.push({
    bar: "RSS at most half Portkey's (peak at maximum throughput)",
    figure: measured(res, 'portkey')
      ? sk.flatMap((t) => pkModes().map((m) => `${t} ${m.toUpperCase()} ${fmt(pctSpread(pkRss(t, m)), 0, '%')}`)).join('; ')
      : 'Portkey not measured',
    met: measured(res, 'portkey') ? check(pkRss, 0.5, 'le', pkModes) : undefined,
  });
  const vsLl = (t: TargetId, m: Mode) => ratioAt(res, t, 'litellm', m, 'max', undefined, capacity);
  out.push({
    bar: "throughput per core ≥ 25× LiteLLM's (1-core capacity)",
    figure: measured(res, 'litellm') ? per(vsLl, 1, '×') : `LiteLLM not measured: ${res.meta.litellmError ?? 'unknown reason'}`,
    met: measured(res, 'litellm') ? check(vsLl, 25, 'ge') : undefined,
  });
  const t50 = (t: TargetId) => added(res, t, 'sse', 1000, ttfb('p50'));
  const t99 = (t: TargetId) => added(res, t, 'sse', 1000, ttfb('p99'));
  const tw = worst(sk.map(t50));
  out.push({
    bar: 'SSE time to first byte ≤ 1 ms over direct (at 1,000 req/s, p50)',
    figure: sk.map((t) => `${t} p50 ${fmt(t50(t), 2, ' ms')} (p99 ${fmt(t99(t), 2, ' ms')})`).join('; '),
    met: tw ? tw.median <= 1 : undefined,
  });
  const realistic = res.masking.rows.filter((r) => r.text.startsWith('realistic'));
  const mWorst = realistic.length ? Math.min(...realistic.map((r) => r.median)) : undefined;
  out.push({
    bar: 'masking ≥ 100 MB/s per core (default detectors)',
    figure:
      realistic.map((r) => `realistic model output, ${r.policy}: ${r.median} MB/s median run (${r.fastest} fastest)`).join('; ') ||
      'not measured',
    met: mWorst === undefined ? undefined : mWorst >= 100,
  });
  const idle = res.sidecar.idleRssSpread;
  out.push({
    bar: 'sidecar RSS ≤ 80 MB idle',
    figure: `${fmt(idle, 1, ' MB')} (${res.sidecar.idleRssMb.length} fresh starts, 2 s after ready)`,
    met: idle ? idle.median <= 80 : undefined,
  });
  const rss1k = worst(sk.flatMap((t) => MODES.map((m) => over(res, t, m, 'rate', 1000, (r) => r.rssPeakMb))));
  out.push({
    bar: 'sidecar RSS ≤ 120 MB at 1,000 req/s',
    figure: `${per((t, m) => over(res, t, m, 'rate', 1000, (r) => r.rssPeakMb), 1, ' MB')} (peak while the run lasted)`,
    met: rss1k ? rss1k.median <= 120 : undefined,
  });
  const rssMax = worst(sk.flatMap((t) => MODES.map((m) => over(res, t, m, 'max', undefined, (r) => r.rssPeakMb))));
  out.push({
    bar: 'sidecar RSS ≤ 120 MB at maximum throughput',
    figure: `${per((t, m) => over(res, t, m, 'max', undefined, (r) => r.rssPeakMb), 1, ' MB')} (peak)`,
    met: rssMax ? rssMax.median <= 120 : undefined,
  });
  const ready = res.sidecar.readySpread;
  out.push({
    bar: 'ready ≤ 250 ms after start (real CLI, spawn to /readyz 200)',
    figure: fmt(ready, 0, ' ms'),
    met: ready ? ready.median <= 250 : undefined,
  });
  const d10k = res.decide.rows.filter((r) => r.scopes === 10_000);
  const dWorst = d10k.length ? Math.max(...d10k.map((r) => r.p99)) : undefined;
  out.push({
    bar: 'policy decision ≤ 10 µs p99 with 10,000 scopes',
    figure: d10k.map((r) => `${r.case}: ${r.p99} µs`).join('; ') || 'not measured',
    met: dWorst === undefined ? undefined : dWorst <= 10,
  });
  return out;
}

function pctSpread(s: Spread | undefined): Spread | undefined {
  return s ? { median: s.median * 100, min: s.min * 100, max: s.max * 100, n: s.n } : undefined;
}

export function render(res: Results): string {
  const m = res.meta;
  const L: string[] = [];
  const targets = ORDER.filter((t) => measured(res, t));
  L.push('# Benchmarks');
  L.push('');
  L.push(
    `Generated by \`${m.command}\` (bench/run.ts) on ${m.date.slice(0, 16).replace('T', ' ')} UTC in ${(res.durationS / 60).toFixed(1)} min; raw figures in \`bench/results/latest.json\`. ` +
      `Every figure of the tables below comes from this one run. Where a cell shows \`a (b–c)\`, a is the median of ${m.rounds} rounds and b–c their range.`,
  );
  L.push('');
  L.push('## Machine and set-up');
  L.push('');
  L.push(
    `- ${m.machine.nproc} cores (\`nproc\`), ${m.machine.cpuModel} (/proc/cpuinfo), ${m.machine.memoryGiB} GiB, Linux ${m.machine.kernel}`,
  );
  L.push(
    `- Node ${m.node} (the repo's pinned node@24), ${m.nginx}, ${m.wrk ?? 'wrk'}, LiteLLM ${m.litellm ?? `— (${m.litellmError ?? 'not run'})`}, Portkey gateway ${m.portkey ?? '—'}`,
  );
  L.push(
    m.sidecarEntry?.includes('/dist/')
      ? `- The sidecar runs as \`dist/bin/scopekeeper.js\`: compiled by \`npm run build\` at the start of the run, as the image ships it (the sidecar role as one esbuild bundle, \`dist/bin/sidecar/\`).`
      : '- The sidecar runs from the TypeScript sources (`bin/scopekeeper.js`, type stripping at load).',
  );
  L.push(`- Pinning (taskset): ${m.pinning}.`);
  L.push(
    `- Load average at start ${m.loadAverageStart.map((x) => x.toFixed(2)).join(' ')}, at end ${m.loadAverageEnd.map((x) => x.toFixed(2)).join(' ')}; busiest processes at start: ${m.otherProcesses.map((p) => `\`${p}\``).join(', ')}.`,
  );
  const sse = sseResponse();
  L.push(
    `- Upstream stand-in: nginx (1 worker) serving a canned Messages JSON answer (${Buffer.byteLength(jsonResponse())} B) or a canned event stream (${Buffer.byteLength(sse)} B, ${sse.split('\n\n').length - 1} events) for a ${Buffer.byteLength(requestBody(false))} B request with 3 tools. ` +
      `Maximum throughput: wrk, 1 thread, ${m.settings.wrkConnections} connections, ${m.settings.wrkSeconds} s. Fixed rates: bench/lib/loadgen.ts (open loop, constant rate, up to ${m.settings.loadConnections} connections), ` +
      `${m.settings.rates.map((r) => `${r.toLocaleString('en-US')} req/s for ${m.settings.rateSeconds[r]} s`).join(', ')}, each after ${m.settings.warmupSeconds} s of warm-up at the same rate.`,
  );
  L.push('- Targets: ' + targets.map((t) => `**${t}** = ${label(res, t)}`).join('; ') + '.');
  L.push('');
  L.push('## The bars (issue 13 item 4, DESIGN.md §9)');
  L.push('');
  L.push(
    'Ratios are taken within this run, round by round (target and reference measured minutes apart on the same machine). The machine is shared with other sessions (see the load average above), so absolute figures move between runs by tens of percent; the ratios move less.',
  );
  L.push('');
  L.push(
    table(
      ['bar', 'measured (median, range over rounds)', 'verdict'],
      bars(res).map((b) => [b.bar, b.figure, b.met === undefined ? 'not measured' : b.met ? '**met**' : '**not met**']),
      ['---', '---', '---'],
    ),
  );
  L.push('');
  L.push('## Maximum throughput (wrk, closed loop)');
  L.push('');
  L.push(
    "CPU s / 1k req is the proxy process tree's utime + stime (/proc/PID/stat) per 1,000 requests; core use is that CPU time over the wall time (1.00 = the proxy's core is saturated). " +
      '"1-core capacity" = 1,000 / (CPU s per 1k req): what the proxy would serve with a core of its own to itself, independent of how busy the load generator\'s core was.',
  );
  L.push('');
  const maxRows: string[][] = [];
  for (const t of targets) {
    for (const mode of MODES) {
      const rps = over(res, t, mode, 'max', undefined, (r) => r.wrk?.rps);
      const cpu = over(res, t, mode, 'max', undefined, (r) => r.cpuPer1k);
      maxRows.push([
        `${t} ${mode.toUpperCase()}`,
        fmtInt(rps),
        t === 'direct' ? '—' : fmt(cpu, 3),
        t === 'direct'
          ? '—'
          : fmt(
              over(res, t, mode, 'max', undefined, (r) => r.proxyCoreUse),
              2,
            ),
        t === 'direct' ? '—' : fmtInt(over(res, t, mode, 'max', undefined, (r) => (r.cpuPer1k ? 1000 / r.cpuPer1k : undefined))),
        fmt(
          over(res, t, mode, 'max', undefined, (r) => r.wrk?.latencyMs.p50),
          2,
        ),
        fmt(
          over(res, t, mode, 'max', undefined, (r) => r.wrk?.latencyMs.p99),
          2,
        ),
        t === 'direct'
          ? '—'
          : fmt(
              over(res, t, mode, 'max', undefined, (r) => r.rssPeakMb),
              0,
            ),
        runsOf(res, t, mode, 'max')
          .map((r) => r.error)
          .filter(Boolean)[0] ?? '',
      ]);
    }
  }
  L.push(
    table(['target', 'req/s', 'CPU s / 1k req', 'core use', '1-core capacity req/s', 'p50 ms', 'p99 ms', 'RSS peak MB', 'errors'], maxRows),
  );
  L.push('');
  for (const mode of MODES) {
    L.push(`## Fixed rates, ${mode === 'json' ? 'JSON (non-streamed)' : 'SSE (streamed)'} — latency and cost`);
    L.push('');
    L.push(
      `Latency from the request handed to the client to the last byte${mode === 'sse' ? '; TTFB to the first byte of the event stream' : ''}. "+" columns: added over **direct** in the same round (target − direct, per round; median and range).`,
    );
    L.push('');
    const rows: string[][] = [];
    for (const rate of m.settings.rates) {
      for (const t of targets) {
        const rs = runsOf(res, t, mode, 'rate', rate);
        const skipped = rs.find((r) => r.skipped)?.skipped;
        if (rs.length && rs.every((r) => r.skipped || !r.load)) {
          rows.push([
            `${rate.toLocaleString('en-US')}`,
            t,
            skipped ?? rs.find((r) => r.error)?.error ?? '—',
            '',
            '',
            '',
            '',
            '',
            ...(mode === 'sse' ? [''] : []),
            '',
            '',
            '',
          ]);
          continue;
        }
        const isD = t === 'direct';
        rows.push([
          `${rate.toLocaleString('en-US')}`,
          t,
          fmtInt(over(res, t, mode, 'rate', rate, (r) => r.load?.achievedRps)),
          fmt(over(res, t, mode, 'rate', rate, lat('p50')), 2),
          fmt(over(res, t, mode, 'rate', rate, lat('p99')), 2),
          isD ? '—' : fmt(added(res, t, mode, rate, lat('p50')), 2),
          isD ? '—' : fmt(added(res, t, mode, rate, lat('p90')), 2),
          isD ? '—' : fmt(added(res, t, mode, rate, lat('p99')), 2),
          ...(mode === 'sse'
            ? [isD ? fmt(over(res, t, mode, 'rate', rate, ttfb('p50')), 2) : `+${fmt(added(res, t, mode, rate, ttfb('p50')), 2)}`]
            : []),
          isD
            ? '—'
            : fmt(
                over(res, t, mode, 'rate', rate, (r) => r.cpuPer1k),
                3,
              ),
          isD
            ? '—'
            : fmt(
                over(res, t, mode, 'rate', rate, (r) => r.rssPeakMb),
                0,
              ),
          rs
            .map((r) => r.error || (r.load && r.load.achievedRps < rate * 0.95 ? `achieved ${Math.round(r.load.achievedRps)}/s` : ''))
            .filter(Boolean)[0] ?? '',
        ]);
      }
    }
    L.push(
      table(
        [
          'req/s',
          'target',
          'achieved req/s',
          'p50 ms',
          'p99 ms',
          '+p50 ms',
          '+p90 ms',
          '+p99 ms',
          ...(mode === 'sse' ? ['TTFB p50 ms (+ over direct)'] : []),
          'CPU s / 1k req',
          'RSS peak MB',
          'notes',
        ],
        rows,
      ),
    );
    L.push('');
  }
  L.push('## Memory and start-up');
  L.push('');
  const memRows: string[][] = targets
    .filter((t) => t !== 'direct')
    .map((t) => [
      t,
      res.targets[t]?.idleRssMb !== undefined ? res.targets[t]!.idleRssMb!.toFixed(1) : '—',
      ...MODES.map((mode) =>
        fmt(
          over(res, t, mode, 'rate', 1000, (r) => r.rssPeakMb),
          1,
        ),
      ),
      fmt(spread(MODES.flatMap((mode) => runsOf(res, t, mode, 'max').map((r) => r.rssPeakMb ?? NaN))), 1),
    ]);
  L.push(
    table(
      ['target', 'RSS idle MB (after start + 2 warm-up s)', 'RSS peak at 1,000 req/s JSON', 'SSE', 'RSS peak at max throughput'],
      memRows,
    ),
  );
  L.push('');
  L.push(
    `The sidecar started ${res.sidecar.readyMs.length} times on its own with the real CLI, as the injected container starts it (\`NODE_OPTIONS='${SIDECAR_NODE_OPTIONS}' MALLOC_ARENA_MAX=${SIDECAR_MALLOC_ARENA_MAX} node_modules/.bin/node ${m.sidecarEntry?.includes('/dist/') ? 'dist/bin/scopekeeper.js' : 'bin/scopekeeper.js'} sidecar --policy <dir> --namespace team-a --issuer <local issuer> --upstream <stub> --upstream-key-file <f> --audit file:<f> --audit-required --listen … --admin …\`, pinned to core 1), ` +
      `time from spawn to the first 200 from /readyz (polled every 2 ms): ${res.sidecar.readyMs.map((x) => `${x.toFixed(0)} ms`).join(', ')}; RSS 2 s after ready, no traffic yet: ${res.sidecar.idleRssMb.map((x) => `${x.toFixed(1)} MB`).join(', ')}. ` +
      "(The RSS idle column above is measured later, after the bench's sanity requests, so it is higher.)",
  );
  L.push('');
  if (measured(res, 'fwd-node') || measured(res, 'fwd-express')) {
    L.push("## Forwarding alone: node:http, express + the sidecar's Forwarder, express + http-proxy-middleware");
    L.push('');
    L.push(
      "bench/variants/forwarder.ts runs the sidecar's forwarding alone (read body, swap credentials, forward, relay with the sidecar's own `relayResponse`): on node:http (fwd-node, the reference of the CPU bar), on express + the sidecar's own Forwarder (node:http pools) as the sidecar forwards (fwd-express; `--mode undici` runs express + undici, how it forwarded before), and with `--hpm <module>` on express + http-proxy-middleware (fwd-hpm); no identity, policy, masking, audit or metrics.",
    );
    L.push('');
    const fr: string[][] = [];
    for (const t of ['fwd-node', 'fwd-express', 'fwd-hpm'] as TargetId[]) {
      if (!measured(res, t)) continue;
      for (const mode of MODES) {
        fr.push([
          `${t} ${mode.toUpperCase()}`,
          fmtInt(over(res, t, mode, 'max', undefined, (r) => r.wrk?.rps)),
          fmt(
            over(res, t, mode, 'max', undefined, (r) => r.cpuPer1k),
            3,
          ),
          fmt(added(res, t, mode, 1000, lat('p50')), 2),
          fmt(added(res, t, mode, 1000, lat('p99')), 2),
          fmt(
            over(res, t, mode, 'rate', 1000, (r) => r.cpuPer1k),
            3,
          ),
        ]);
      }
    }
    L.push(
      table(
        [
          'variant',
          'max req/s',
          'CPU s / 1k req at max',
          '+p50 ms at 1,000 req/s',
          '+p99 ms at 1,000 req/s',
          'CPU s / 1k req at 1,000 req/s',
        ],
        fr,
      ),
    );
    L.push('');
  }
  L.push('## CPU profile of the sidecar under load');
  L.push('');
  if ('summary' in res.profile) {
    const p = res.profile.summary;
    L.push(
      `\`node --cpu-prof\` on the sidecar (masking scope) under wrk, JSON then SSE; ${p.busyMs.toFixed(0)} ms of busy samples. Self time by component:`,
    );
    L.push('');
    L.push(
      table(
        ['component', 'self ms', '% of busy'],
        p.components.slice(0, 18).map((c) => [c.component, c.selfMs.toFixed(0), c.pctOfBusy.toFixed(1)]),
      ),
    );
    L.push('');
    L.push('Top functions by self time:');
    L.push('');
    L.push(
      table(
        ['function', 'where', 'component', '% of busy'],
        p.functions.slice(0, 20).map((f) => [`\`${f.name}\``, f.where ? `\`${f.where}\`` : '', f.component, f.selfPctOfBusy.toFixed(1)]),
        ['---', '---', '---', '---:'],
      ),
    );
  } else {
    L.push(`Profile failed: ${res.profile.error}`);
  }
  L.push('');
  L.push('## Policy decision (bench/decide.ts) and masking (bench/masking.ts)');
  L.push('');
  L.push('Both run in this same `npm run bench`, pinned to core 1. decide.ts (µs per decision):');
  L.push('');
  L.push(
    table(
      ['scopes', 'case', 'p50 µs', 'p99 µs', 'p99.9 µs'],
      res.decide.rows.map((r) => [r.scopes.toLocaleString('en-US'), r.case, r.p50.toFixed(2), r.p99.toFixed(2), r.p999.toFixed(2)]),
    ),
  );
  L.push('');
  L.push('masking.ts, maskText throughput on one core:');
  L.push('');
  L.push(
    table(
      ['text', 'policy', 'MB/s (fastest run)', 'MB/s (median run)'],
      res.masking.rows.map((r) => [r.text, r.policy, String(r.fastest), String(r.median)]),
    ),
  );
  L.push('');
  L.push(
    "(The rest of masking.ts's output — custom patterns, JSON, SSE per-event cost, detection quality — is in docs/masking.md and in the JSON.)",
  );
  L.push('');
  if (existsSync(NOTES)) {
    L.push(readFileSync(NOTES, 'utf8').trim());
    L.push('');
  }
  return L.join('\n');
}

export function writeReport(res: Results, file: string): void {
  writeFileSync(file, render(res));
}

if (import.meta.main) {
  // Re-render from a results file: node bench/lib/report.ts [bench/results/latest.json] [docs/benchmarks.md]
  const input = process.argv[2] ?? fileURLToPath(new URL('../results/latest.json', import.meta.url));
  const output = process.argv[3] ?? fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
  writeReport(JSON.parse(readFileSync(input, 'utf8')) as Results, output);
  console.log(`wrote ${output}`);
}
