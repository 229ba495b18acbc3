// The sidecar's Prometheus metrics (DESIGN.md §5: names are contract).
import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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
    collectDefaultMetrics({ register: this.registry });
  }
}
