// The sidecar's own Prometheus text: what a scraper parses (names, labels, histogram buckets).
import { SidecarMetrics } from './metrics.ts';
import { Counter, Histogram, Registry } from './prometheus.ts';

test('counters by label, in the declared label order, with values escaped', async () => {
  const r = new Registry();
  const c = new Counter({ name: 'x_total', help: 'X.', labelNames: ['a', 'b'] as const, registers: [r] });
  c.inc({ b: '2', a: '1' });
  c.inc({ a: '1', b: '2' }, 2);
  c.inc({ a: 'q"uote\\back\nline', b: '' });
  const text = await r.metrics();
  expect(text).toContain('# HELP x_total X.\n# TYPE x_total counter\n');
  expect(text).toContain('x_total{a="1",b="2"} 3\n');
  expect(text).toContain('x_total{a="q\\"uote\\\\back\\nline",b=""} 1\n');
  expect(() => c.inc({ a: '1' }, -1)).toThrow(/only goes up/);
});

test('histograms: cumulative buckets, +Inf, sum and count', async () => {
  const r = new Registry();
  const h = new Histogram({ name: 'd_seconds', help: 'D.', labelNames: ['route'] as const, buckets: [0.1, 1], registers: [r] });
  h.observe({ route: 'm' }, 0.05);
  h.observe({ route: 'm' }, 0.5);
  h.observe({ route: 'm' }, 5);
  const text = await r.metrics();
  expect(text).toContain(
    [
      'd_seconds_bucket{route="m",le="0.1"} 1',
      'd_seconds_bucket{route="m",le="1"} 2',
      'd_seconds_bucket{route="m",le="+Inf"} 3',
      'd_seconds_sum{route="m"} 5.55',
      'd_seconds_count{route="m"} 3',
    ].join('\n'),
  );
});

test('the sidecar registry: the contract names, unlabelled series at 0 before any request, process metrics', async () => {
  const m = new SidecarMetrics();
  m.overhead.observe(0.0003);
  m.auditEvents.inc(2);
  const text = await m.registry.metrics();
  for (const name of [
    'scopekeeper_requests_total',
    'scopekeeper_request_duration_seconds',
    'scopekeeper_overhead_seconds',
    'scopekeeper_masked_total',
    'scopekeeper_tokens_total',
    'scopekeeper_audit_events_total',
    'scopekeeper_audit_failures_total',
    'scopekeeper_policy_ready',
    'scopekeeper_policy_scopes',
  ])
    expect(text).toContain(`# TYPE ${name} `);
  expect(text).toContain('scopekeeper_audit_events_total 2\n');
  expect(text).toContain('scopekeeper_overhead_seconds_bucket{le="0.0005"} 1\n');
  expect(text).toContain('scopekeeper_policy_ready 0\n');
  expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  expect(text).toMatch(/^process_cpu_seconds_total [\d.e-]+$/m);
  expect(m.registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
});
