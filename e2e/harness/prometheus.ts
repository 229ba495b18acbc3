// A real Prometheus (the Debian package's, unpacked by global setup: tools.ts) for a spec: scrapes the given
// /metrics endpoints every second on loopback and answers PromQL through its HTTP API. Started and
// stopped by the spec (by PID, SIGTERM then SIGKILL), its config and TSDB in a temp dir that stop()
// removes. An exit handler kills it if the test process ends without stop().
//
//   const prom = await startPrometheus({ targets: [{ job: 'sidecar', url: 'http://127.0.0.1:P/metrics' }] });
//   await prom.waitFor('scopekeeper_requests_total{decision="allow"}', (v) => v > 0);
//   await prom.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, sleep } from './proc.ts';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface ScrapeTarget {
  /** The `job` label. */
  job: string;
  /** http://127.0.0.1:PORT/metrics (any path). */
  url: string;
  /** Extra target labels. */
  labels?: Record<string, string>;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number;
  /** An instant query (/api/v1/query); a vector result as samples, a scalar as one sample without labels. */
  query(expr: string): Promise<Sample[]>;
  /**
   * Polls `expr` until some sample satisfies `ok` (every sample when `every`); resolves to the
   * samples. Times out with the last result and the scrape targets' health in the message.
   */
  waitFor(expr: string, ok: (value: number, s: Sample) => boolean, opts?: { timeoutMs?: number; every?: boolean }): Promise<Sample[]>;
  /** /api/v1/targets, active targets: job, scrapeUrl, health, lastError. */
  targets(): Promise<{ job: string; scrapeUrl: string; health: string; lastError: string }[]>;
  /** Prometheus' own output, for a failure message. */
  output(): string;
  /** SIGTERM by PID, SIGKILL after `graceMs`; removes the temp dir. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export async function startPrometheus(opts: {
  targets: ScrapeTarget[];
  scrapeIntervalSeconds?: number;
  startTimeoutMs?: number;
}): Promise<Prometheus> {
  if (!existsSync(PROMETHEUS_BIN))
    throw new Error(
      `${PROMETHEUS_BIN} is not there: global setup provisions it (e2e/harness/tools.ts); outside the e2e run set PROMETHEUS_BIN`,
    );
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
  const dir = mkdtempSync(join(tmpdir(), 'sk-prometheus-'));
  const byJob = new Map<string, ScrapeTarget[]>();
  for (const t of opts.targets) byJob.set(t.job, [...(byJob.get(t.job) ?? []), t]);
  // JSON is YAML: no YAML writer needed.
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: [...byJob].map(([job, ts]) => {
      const u = new URL(ts[0]!.url);
      return {
        job_name: job,
        scheme: u.protocol.replace(':', ''),
        metrics_path: u.pathname,
        static_configs: ts.map((t) => ({ targets: [new URL(t.url).host], labels: t.labels ?? {} })),
      };
    }),
  };
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${PROMETHEUS_BIN} did not start`);
  const killNow = () => {
    if (!gone) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  process.once('exit', killNow);

  let stopped: Promise<void> | undefined;
  const stop = (graceMs = 5_000): Promise<void> =>
    (stopped ??= (async () => {
      process.removeListener('exit', killNow);
      if (!gone) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        const timer = setTimeout(killNow, graceMs);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    })());

  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${url}${path}`);
    const body = (await r.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.errorType}: ${body.error}`);
    return body.data;
  };

  const query = async (expr: string): Promise<Sample[]> => {
    const data = await api<{ resultType: string; result: unknown }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (data.resultType === 'scalar') return [{ metric: {}, value: Number((data.result as [number, string])[1]) }];
    if (data.resultType !== 'vector') throw new Error(`Prometheus: ${expr} gave a ${data.resultType}, expected an instant vector`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
      metric: s.metric,
      value: Number(s.value[1]),
    }));
  };

  const targets = async () =>
    (
      await api<{ activeTargets: { labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }[] }>(
        '/api/v1/targets',
      )
    ).activeTargets.map((t) => ({
      job: t.labels.job ?? '',
      scrapeUrl: t.scrapeUrl,
      health: t.health,
      lastError: t.lastError,
    }));

  const prom: Prometheus = {
    url,
    pid,
    query,
    targets,
    output: () => out,
    stop,
    async waitFor(expr, ok, o = {}) {
      const end = Date.now() + (o.timeoutMs ?? 20_000);
      let last: Sample[] = [];
      for (;;) {
        last = await query(expr);
        const pass = o.every ? last.length > 0 && last.every((s) => ok(s.value, s)) : last.some((s) => ok(s.value, s));
        if (pass) return last;
        if (Date.now() > end) {
          const health = await targets().catch((e: Error) => e.message);
          throw new Error(
            `Prometheus: ${expr} did not reach the expected value in time; last result ${JSON.stringify(last)}; targets ${JSON.stringify(health)}`,
          );
        }
        await sleep(250);
      }
    },
  };

  // Ready when /-/ready answers 200 (TSDB open, config loaded).
  const end = Date.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    if (gone) {
      await stop();
      throw new Error(`${PROMETHEUS_BIN} exited at start:\n${out}`);
    }
    const r = await fetch(`${url}/-/ready`).catch(() => undefined);
    if (r?.status === 200) break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`${PROMETHEUS_BIN} not ready after ${opts.startTimeoutMs ?? 20_000} ms:\n${out}`);
    }
    await sleep(100);
  }
  return prom;
}
