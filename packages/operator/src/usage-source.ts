// A short usage summary for the Pending review the operator opens, so the reviewer sees what the
// ending period used next to what the scope grants. The counts come from the sidecars' own
// scopekeeper_requests_total series in Prometheus (`--usage-from prometheus=URL`).
import { matchName, parseDuration, DEFAULT_PERIOD, type ModelScope } from '@scopekeeper/core';

export const ANNOTATION_USAGE = 'scopekeeper.dev/usage-summary';

export interface UsageSource {
  /** One line a person reads, or throws with why the source could not answer. */
  summary(scope: ModelScope): Promise<string>;
}

interface PromVector {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** Label values go inside "…" in PromQL: escape what would end or break the string. */
const promString = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class PrometheusUsageSource implements UsageSource {
  readonly #url: URL;
  readonly #timeoutMs: number;

  constructor(url: string, timeoutMs = 5_000) {
    this.#url = new URL('api/v1/query', url.endsWith('/') ? url : `${url}/`);
    this.#timeoutMs = timeoutMs;
  }

  async summary(scope: ModelScope): Promise<string> {
    const period = scope.spec.review?.period ?? DEFAULT_PERIOD;
    const seconds = Math.max(60, Math.round(parseDuration(period) / 1000));
    // A sidecar scraped through Kubernetes service discovery carries a namespace label; one scraped
    // statically does not, so an absent label matches too.
    const selector = `scope="${promString(scope.metadata.name)}",namespace=~"${promString(scope.metadata.namespace ?? '')}|"`;
    const query = `sum by (model, decision) (increase(scopekeeper_requests_total{${selector}}[${seconds}s]))`;
    const url = new URL(this.#url);
    url.searchParams.set('query', query);
    const res = await fetch(url, { signal: AbortSignal.timeout(this.#timeoutMs), headers: { accept: 'application/json' } });
    const body = (await res.json().catch(() => ({ status: 'error', error: `answered ${res.status} without JSON` }))) as PromVector;
    if (body.status !== 'success' || !body.data)
      throw new Error(`Prometheus at ${this.#url.origin} refused the query: ${body.error ?? res.status}`);
    return summarize(
      scope,
      period,
      body.data.result.map((r) => ({
        model: r.metric.model ?? 'other',
        decision: r.metric.decision ?? '',
        n: Math.round(Number(r.value[1])),
      })),
    );
  }
}

/** "last 90d: 120 allowed (claude-sonnet-4-5 118, claude-haiku-4-5 2), 3 denied; granted but unused: claude-opus-*". */
export function summarize(scope: ModelScope, period: string, rows: { model: string; decision: string; n: number }[]): string {
  const byModel = new Map<string, number>();
  let allowed = 0;
  let denied = 0;
  for (const r of rows) {
    if (!Number.isFinite(r.n) || r.n <= 0) continue;
    if (r.decision === 'allow') {
      allowed += r.n;
      byModel.set(r.model, (byModel.get(r.model) ?? 0) + r.n);
    } else if (r.decision === 'deny' || r.decision === 'approval-required') denied += r.n;
  }
  const models = [...byModel].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`);
  const unused = scope.spec.models.filter((g) => ![...byModel.keys()].some((m) => matchName(g, m)));
  const parts = [
    `last ${period}: ${allowed} allowed${models.length ? ` (${models.slice(0, 6).join(', ')})` : ''}, ${denied} denied or held`,
  ];
  if (unused.length) parts.push(`models granted but unused: ${unused.join(', ')}`);
  parts.push(`details: scopekeeper reviews usage ${scope.metadata.name} -n ${scope.metadata.namespace ?? 'default'} --audit <audit log>`);
  return parts.join('; ');
}

/** `--usage-from prometheus=URL`. */
export function parseUsageFrom(v: string): UsageSource {
  const m = /^prometheus=(https?:\/\/\S+)$/.exec(v);
  if (!m) throw new Error(`--usage-from "${v}" is not understood; write prometheus=http://prometheus.monitoring:9090`);
  return new PrometheusUsageSource(m[1]!);
}
