// The sidecar's Prometheus metrics (DESIGN.md §5: names are contract): every series /metrics
// shows, the process ones included, on the registry of prometheus.ts (why not prom-client: there).
import { memoryUsage, cpuUsage, uptime } from 'node:process';
import { Counter, Gauge, Histogram, Registry } from './prometheus.ts';

/** The process metrics dashboards expect (prom-client's names), read at scrape time. */
function processMetrics(registry: Registry): void {
  const g = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  const cpuUser = new Counter({ name: 'process_cpu_user_seconds_total', help: 'User CPU time spent in seconds.', registers: [registry] });
  const cpuSystem = new Counter({
    name: 'process_cpu_system_seconds_total',
    help: 'System CPU time spent in seconds.',
    registers: [registry],
  });
  const cpuTotal = new Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers: [registry],
  });
  const start = g('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.');
  const rss = g('process_resident_memory_bytes', 'Resident memory size in bytes.');
  const heapTotal = g('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.');
  const heapUsed = g('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.');
  const external = g('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.');
  const startedAt = Math.round(Date.now() / 1000 - uptime());
  let last = { user: 0, system: 0 };
  registry.onCollect(() => {
    const cpu = cpuUsage();
    cpuUser.inc((cpu.user - last.user) / 1e6);
    cpuSystem.inc((cpu.system - last.system) / 1e6);
    cpuTotal.inc((cpu.user + cpu.system - last.user - last.system) / 1e6);
    last = cpu;
    const m = memoryUsage();
    start.set(startedAt);
    rss.set(m.rss);
    heapTotal.set(m.heapTotal);
    heapUsed.set(m.heapUsed);
    external.set(m.external);
  });
}

export class SidecarMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'scopekeeper_requests_total',
    help: 'Requests by decision, first reason, model and scope.',
    labelNames: ['decision', 'reason', 'model', 'scope'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'scopekeeper_request_duration_seconds',
    help: 'Time from request to the last response byte, by route.',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly overhead = new Histogram({
    name: 'scopekeeper_overhead_seconds',
    help: 'Time spent in the sidecar itself, upstream time excluded.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly masked = new Counter({
    name: 'scopekeeper_masked_total',
    help: 'Values masked in responses, by detector category.',
    labelNames: ['category'] as const,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'scopekeeper_tokens_total',
    help: 'Tokens reported by the upstream usage, by model and type.',
    labelNames: ['model', 'type'] as const,
    registers: [this.registry],
  });
  readonly auditEvents = new Counter({
    name: 'scopekeeper_audit_events_total',
    help: 'Audit records written to every sink.',
    registers: [this.registry],
  });
  readonly auditFailures = new Counter({
    name: 'scopekeeper_audit_failures_total',
    help: 'Failed audit sink writes.',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly policyReady = new Gauge({
    name: 'scopekeeper_policy_ready',
    help: '1 while the sidecar holds a usable policy snapshot.',
    registers: [this.registry],
  });
  readonly policyScopes = new Gauge({
    name: 'scopekeeper_policy_scopes',
    help: 'ModelScopes in the current snapshot, by state.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    processMetrics(this.registry);
  }
}
