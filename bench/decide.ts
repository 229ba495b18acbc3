// Decision latency at 10 and 10,000 scopes (DESIGN.md §9: p99 <= 10 µs).
// Run: node_modules/.bin/node bench/decide.ts   (or: npm run bench -- decide)
import { compilePolicy, decide, type Identity, type PolicyRequest } from '@scopekeeper/core';
import { scope, review, facts, NOW } from '../packages/core/test/fixtures/policy.ts';

function world(n: number) {
  const scopes = [];
  const reviews = [];
  for (let i = 0; i < n; i++) {
    scopes.push(
      scope(`scope-${i}`, {
        subjects: [
          { kind: 'ServiceAccount', name: `bot-${i}` },
          { kind: 'Group', name: `team-${i % 50}` },
        ],
        models: ['claude-sonnet-4-*', 'claude-haiku-*'],
        limits: { maxTokens: 8192, streaming: true, thinking: false },
        tools: { allow: ['Read', 'Grep', 'Glob', 'mcp__crm__*'], deny: ['Bash'] },
      }),
    );
    reviews.push(review(`review-${i}`, `scope-${i}`));
  }
  return compilePolicy(scopes, reviews, { namespace: 'team-a' });
}

const sa = (i: number): Identity => ({
  issuer: 'k8s',
  primary: true,
  subject: `system:serviceaccount:team-a:bot-${i}`,
  groups: [],
  serviceAccount: { namespace: 'team-a', name: `bot-${i}` },
});
const member = (i: number): Identity => ({
  issuer: 'idp',
  primary: true,
  subject: `u${i}`,
  email: `u${i}@example.com`,
  groups: [`team-${i % 50}`],
});

const cases: [string, (n: number, i: number) => [Identity, PolicyRequest]][] = [
  [
    'allow (SA, 4 tools)',
    (n, i) => [sa(i % n), { route: 'messages', facts: facts({ tools: ['Read', 'Grep', 'Glob', 'mcp__crm__find'] }) }],
  ],
  ['deny model', (n, i) => [sa(i % n), { route: 'messages', facts: facts({ model: 'claude-opus-4-1' }) }]],
  ['deny no scope', () => [sa(-1), { route: 'messages', facts: facts() }]],
  ['group in n/50 scopes, all deny', (_n, i) => [member(i), { route: 'messages', facts: facts({ model: 'claude-opus-4-1' }) }]],
];

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

for (const n of [10, 10_000]) {
  const snap = world(n);
  for (const [label, make] of cases) {
    const iterations = 200_000;
    const inputs = Array.from({ length: 1024 }, (_, i) => make(n, i));
    for (let i = 0; i < 20_000; i++) decide(snap, ...inputs[i & 1023]!, NOW); // warm up the JIT
    const samples = new Float64Array(iterations);
    for (let i = 0; i < iterations; i++) {
      const [id, req] = inputs[i & 1023]!;
      const t0 = process.hrtime.bigint();
      decide(snap, id, req, NOW);
      samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    samples.sort();
    console.log(
      `${String(n).padStart(6)} scopes  ${label.padEnd(34)} p50 ${percentile(samples, 0.5).toFixed(2)} µs  p99 ${percentile(samples, 0.99).toFixed(2)} µs  p99.9 ${percentile(samples, 0.999).toFixed(2)} µs`,
    );
  }
}
