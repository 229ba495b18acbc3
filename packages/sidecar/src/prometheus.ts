// The metric types and registry behind the sidecar's /metrics, in the Prometheus text exposition
// format 0.0.4. Written here rather than with prom-client: the sidecar runs in every pod, and
// prom-client (with @opentelemetry/api, which it loads) cost ~20 ms of start-up and ~5 MB of
// RSS, and a label object hashed and sorted on every increment. A series here is a Map entry
// keyed by its label values joined in the declared order, found once per increment.

type Labels<L extends string> = Partial<Record<L, string | number>>;

/** `\`, `"` and newlines escaped, as the exposition format requires of label values. */
function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

abstract class Metric<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];

  constructor(opts: { name: string; help: string; labelNames?: readonly L[]; registers?: Registry[] }) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    for (const r of opts.registers ?? []) r.register(this);
  }

  /** The series key: the label values in declared order (undefined label: empty). */
  protected key(labels: Labels<L> | undefined): string {
    if (!labels || this.labelNames.length === 0) return '';
    let k = '';
    for (let i = 0; i < this.labelNames.length; i++) {
      const v = labels[this.labelNames[i]!];
      k += (i ? '\u0000' : '') + (v === undefined ? '' : String(v));
    }
    return k;
  }

  /** `{a="x",b="y"}` for a series key, with `extra` (e.g. le) appended; labels that were not given are left out. */
  protected labelText(key: string, given: boolean[], extra?: string): string {
    const parts: string[] = [];
    if (this.labelNames.length) {
      const values = key.split('\u0000');
      this.labelNames.forEach((n, i) => {
        if (given[i]) parts.push(`${n}="${escapeLabel(values[i] ?? '')}"`);
      });
    }
    if (extra) parts.push(extra);
    return parts.length ? `{${parts.join(',')}}` : '';
  }

  protected given(labels: Labels<L> | undefined): boolean[] {
    return this.labelNames.map((n) => labels?.[n] !== undefined);
  }

  abstract type: string;
  abstract lines(): string[];
}

/** A counter or gauge: one number per series. */
abstract class Scalar<L extends string> extends Metric<L> {
  protected readonly series = new Map<string, { value: number; given: boolean[] }>();

  protected add(labels: Labels<L> | undefined, by: number, set: boolean): void {
    const k = this.key(labels);
    const s = this.series.get(k);
    if (s) s.value = set ? by : s.value + by;
    else this.series.set(k, { value: by, given: this.given(labels) });
  }

  lines(): string[] {
    if (this.series.size === 0 && this.labelNames.length === 0) return [`${this.name} 0`];
    const out: string[] = [];
    for (const [k, s] of this.series) out.push(`${this.name}${this.labelText(k, s.given)} ${formatValue(s.value)}`);
    return out;
  }
}

export class Counter<L extends string = never> extends Scalar<L> {
  readonly type = 'counter';

  inc(labels?: Labels<L> | number, by?: number): void {
    if (typeof labels === 'number') return this.inc(undefined, labels);
    const n = by ?? 1;
    if (!(n >= 0)) throw new Error(`${this.name}: a counter only goes up (got ${n})`);
    this.add(labels, n, false);
  }
}

export class Gauge<L extends string = never> extends Scalar<L> {
  readonly type = 'gauge';

  set(labels: Labels<L> | number, value?: number): void {
    if (typeof labels === 'number') this.add(undefined, labels, true);
    else this.add(labels, value ?? 0, true);
  }
}

interface Buckets {
  counts: Float64Array;
  sum: number;
  count: number;
  given: boolean[];
}

export class Histogram<L extends string = never> extends Metric<L> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  private readonly series = new Map<string, Buckets>();

  constructor(opts: { name: string; help: string; labelNames?: readonly L[]; buckets: number[]; registers?: Registry[] }) {
    super(opts);
    this.buckets = [...opts.buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels<L> | number, value?: number): void {
    if (typeof labels === 'number') return this.observe(undefined as unknown as Labels<L>, labels);
    const v = value!;
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: new Float64Array(this.buckets.length), sum: 0, count: 0, given: this.given(labels) }));
    // The first bucket whose bound holds the value (cumulated when printed).
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= this.buckets[i]!) {
        s.counts[i]!++;
        break;
      }
    }
    s.sum += v;
    s.count++;
  }

  lines(): string[] {
    const out: string[] = [];
    const series: [string, Buckets][] =
      this.series.size === 0 && this.labelNames.length === 0
        ? [['', { counts: new Float64Array(this.buckets.length), sum: 0, count: 0, given: [] }]]
        : [...this.series];
    for (const [k, s] of series) {
      let cum = 0;
      this.buckets.forEach((b, i) => {
        cum += s.counts[i]!;
        out.push(`${this.name}_bucket${this.labelText(k, s.given, `le="${formatValue(b)}"`)} ${cum}`);
      });
      out.push(`${this.name}_bucket${this.labelText(k, s.given, 'le="+Inf"')} ${s.count}`);
      out.push(`${this.name}_sum${this.labelText(k, s.given)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${this.labelText(k, s.given)} ${s.count}`);
    }
    return out;
  }
}

type AnyMetric = Metric<string>;

export class Registry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly metricsByName = new Map<string, AnyMetric>();
  private readonly collectors: (() => void)[] = [];

  register(m: AnyMetric): void {
    if (this.metricsByName.has(m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.metricsByName.set(m.name, m);
  }

  /** Runs before every scrape (process metrics read their values then). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  metrics(): Promise<string> {
    for (const c of this.collectors) c();
    const out: string[] = [];
    for (const m of this.metricsByName.values()) {
      out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return Promise.resolve(`${out.join('\n')}\n`);
  }
}
