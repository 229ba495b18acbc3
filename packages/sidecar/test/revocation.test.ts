// Issue 14 class 5 over HTTP: revoking the newer of two approved Periodic reviews ends access.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startWorld, NS, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';
import { auditRecord } from './refusal.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld();
  await addScope(world, 'two-reviews', 'rev-bot', '  models: ["claude-sonnet-4-*"]');
});
afterAll(() => world.close());

async function status(): Promise<{ status: number; upstream: number; message?: string }> {
  const before = world.stub!.total;
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await world.saToken('rev-bot')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await res.json()) as { error?: { message?: string } };
  // count what the model API received only once the request is finished (docs/testing.md)
  await auditRecord(world.auditFile, res.headers.get('x-scopekeeper-request-id')!);
  return { status: res.status, upstream: world.stub!.total - before, message: body.error?.message };
}

function periodic(name: string, decision: 'Approved' | 'Revoked', reviewedAgoMs: number): string {
  const now = Date.now();
  return `apiVersion: scopekeeper.dev/v1alpha1
kind: AccessReview
metadata: {name: ${name}, namespace: ${NS}}
spec:
  scopeRef: {name: two-reviews}
  type: Periodic
  decision: ${decision}
  reviewer: dave@example.com
  reviewedAt: "${new Date(now - reviewedAgoMs).toISOString()}"
  expiresAt: "${new Date(now + 20 * 86_400_000).toISOString()}"
  justification: renewal inside the expiring-soon window
`;
}

test('two approvals, then the newer is revoked: 403 until a newer approval', async () => {
  // addScope wrote two-reviews-review, approved a day ago; a second approval from an hour ago.
  await writeFile(join(world.policyDir, 'renewal.yaml'), periodic('two-reviews-renewal', 'Approved', 3_600_000));
  await waitForPolicy(world, async () => (await status()).status === 200);
  await writeFile(join(world.policyDir, 'renewal.yaml'), periodic('two-reviews-renewal', 'Revoked', 60_000));
  await waitForPolicy(world, async () => (await status()).status === 403);
  const r = await status();
  expect(r).toMatchObject({ status: 403, upstream: 0 });
  expect(r.message).toContain('two-reviews-renewal');
  await writeFile(join(world.policyDir, 'renewal-2.yaml'), periodic('two-reviews-renewal-2', 'Approved', 1_000));
  await waitForPolicy(world, async () => (await status()).status === 200);
});
