// The broken resources that file-mode validation refuses (packages/core/test/fixtures/broken-crs.ts)
// are refused by the real API server too, by its OpenAPI schema and CEL rules.
import { brokenCases } from '../packages/core/test/fixtures/broken-crs.ts';
import { applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';

const c = cluster();

beforeAll(async () => {
  await ensureNamespace('team-a');
  await applyCrds();
});

test.each(brokenCases.map((b) => [b.name, b] as const))('the API server refuses: %s', async (_name, b) => {
  const meta = b.object.metadata as { name: string; namespace: string };
  const kind = (b.object.kind as string).toLowerCase();
  await c.kubectl(['delete', kind, meta.name, '-n', meta.namespace, '--ignore-not-found']);
  const r = await c.kubectl(['apply', '--validate=strict', '-f', '-'], { input: JSON.stringify(b.object), allowFailure: true });
  if (r.code === 0) await c.kubectl(['delete', kind, meta.name, '-n', meta.namespace, '--ignore-not-found']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(b.server);
});
