// A constant-rate, open-loop load generator (wrk2's model): request i is issued at
// start + i/rate whether or not earlier requests have been answered, so a slow target cannot
// slow the generator down and hide its own latency (coordinated omission). Runs as its own
// process, pinned by the caller to the load generator's core; prints one JSON result.
//
//   node bench/lib/loadgen.ts '<json LoadSpec>'
//
// Latency is measured from the moment the request is handed to the HTTP client (undici) to the
// last byte of the response; TTFB to the first byte of the body. `lag` is how late the
// generator issued requests compared with the schedule: it must stay small for the figures to
// mean what they say, and it is reported.
import { writeFileSync } from 'node:fs';
import { Pool } from 'undici';

export interface LoadSpec {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  rate: number;
  warmupS: number;
  durationS: number;
  connections: number;
  /** Requests outstanding beyond this are not issued (counted as `dropped`): the run stays bounded when a target cannot keep up. */
  maxInFlight: number;
  timeoutMs: number;
  /** Where to write each measured request's wall-clock start and latency (`bench/lib/timeline.ts` reads it). */
  timelineFile?: string;
}

export interface LoadResult {
  rate: number;
  durationS: number;
  issued: number;
  completed: number;
  /** All requests completed in warm-up and measurement (for CPU per request). */
  completedTotal: number;
  ok: number;
  non2xx: number;
  errors: number;
  dropped: number;
  achievedRps: number;
  latencyMs: Percentiles;
  ttfbMs: Percentiles;
  lagMs: Percentiles;
  bytesPerResponse: number;
  firstError?: string;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function percentiles(samples: Float64Array | number[]): Percentiles {
  const s = Float64Array.from(samples).sort();
  const n = s.length;
  if (n === 0) return { p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  const at = (p: number) => s[Math.min(n - 1, Math.ceil(p * n) - 1)]!;
  let sum = 0;
  for (const x of s) sum += x;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: s[n - 1]!, mean: sum / n };
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const pool = new Pool(spec.url, {
    connections: spec.connections,
    pipelining: 1,
    keepAliveTimeout: 120_000,
    headersTimeout: spec.timeoutMs,
    bodyTimeout: spec.timeoutMs,
  });
  const body = Buffer.from(spec.body);
  const headers = { ...spec.headers, 'content-type': 'application/json', 'content-length': String(body.length) };
  const period = 1000 / spec.rate;
  const warmN = Math.round(spec.warmupS * spec.rate);
  const total = warmN + Math.round(spec.durationS * spec.rate);
  const measured = total - warmN;
  const lat = new Float64Array(measured);
  const ttfb = new Float64Array(measured);
  const lag = new Float64Array(measured);
  const issuedAt = new Float64Array(measured);
  let completed = 0;
  let completedTotal = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  let bytes = 0;
  let firstError: string | undefined;
  let measureStart = 0;
  let measureEnd = 0;
  let allIssued!: () => void;
  const issuedAll = new Promise<void>((r) => (allIssued = r));
  let settle!: () => void;
  const drained = new Promise<void>((r) => (settle = r));

  const issue = (i: number, intended: number) => {
    const t0 = performance.now();
    const k = i - warmN;
    if (k >= 0) {
      lag[k] = t0 - intended;
      issuedAt[k] = t0;
    }
    inFlight++;
    let first = 0;
    let size = 0;
    pool.request({ path: spec.path, method: 'POST', headers, body }).then(
      (res) => {
        res.body.on('data', (c: Buffer) => {
          if (first === 0) first = performance.now();
          size += c.length;
        });
        res.body.once('end', () => {
          const t1 = performance.now();
          done(k, t0, first || t1, t1, res.statusCode, size);
        });
        res.body.once('error', (e: Error) => fail(e));
      },
      (e: Error) => fail(e),
    );
    const fail = (e: Error) => {
      errors++;
      firstError ??= `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim();
      finish(k);
    };
  };
  const done = (k: number, t0: number, first: number, t1: number, status: number, size: number) => {
    if (status >= 200 && status < 300) {
      if (k >= 0) {
        lat[k] = t1 - t0;
        ttfb[k] = first - t0;
        ok++;
        bytes += size;
      }
    } else {
      non2xx++;
      firstError ??= `HTTP ${status}`;
    }
    finish(k);
  };
  const finish = (k: number) => {
    inFlight--;
    completedTotal++;
    if (k >= 0) {
      completed++;
      measureEnd = performance.now();
    }
    if (issuedDone && inFlight === 0) settle();
  };

  let issuedDone = false;
  let i = 0;
  const start = performance.now() + 20;
  const tick = () => {
    const now = performance.now();
    while (i < total && start + i * period <= now) {
      if (i === warmN) measureStart = start + i * period;
      if (inFlight >= spec.maxInFlight) {
        if (i >= warmN) dropped++;
      } else {
        issue(i, start + i * period);
      }
      i++;
    }
    if (i >= total) {
      issuedDone = true;
      allIssued();
      if (inFlight === 0) settle();
      return;
    }
    setTimeout(tick, Math.max(0, start + i * period - performance.now()));
  };
  setTimeout(tick, 20);
  await issuedAll;
  const deadline = setTimeout(() => settle(), spec.timeoutMs + 1000);
  await drained;
  clearTimeout(deadline);
  const stillOpen = inFlight;
  await pool.destroy();
  const okLat = lat.filter((x, k) => x > 0 || ttfb[k]! > 0);
  if (spec.timelineFile) {
    const ok = [...lat.keys()].filter((k) => lat[k]! > 0);
    const timeline = { start: ok.map((k) => performance.timeOrigin + issuedAt[k]!), latencyMs: ok.map((k) => lat[k]!) };
    writeFileSync(spec.timelineFile, JSON.stringify(timeline));
  }
  const okTtfb = ttfb.filter((x) => x > 0);
  const windowS = Math.max(spec.durationS, (measureEnd - measureStart) / 1000);
  return {
    rate: spec.rate,
    durationS: spec.durationS,
    issued: measured - dropped,
    completed,
    completedTotal,
    ok,
    non2xx,
    errors: errors + stillOpen,
    dropped,
    achievedRps: ok / windowS,
    latencyMs: percentiles(okLat),
    ttfbMs: percentiles(okTtfb),
    lagMs: percentiles(lag),
    bytesPerResponse: ok ? bytes / ok : 0,
    firstError,
  };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2]!) as LoadSpec;
  run(spec).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`loadgen failed: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
