// Issue 14 class 4 over HTTP: a model name with glob characters is a 400, and a JustInTime
// approval covers exactly the model it names.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startWorld, NS, type World } from '../src/testing/world.ts';
import { waitForPolicy } from './helpers.ts';
import { auditRecord } from './refusal.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld();
  // An approved JustInTime review whose model is a pattern, as the old code would write for a
  // held "claude-opus-*" request.
  const now = Date.now();
  await writeFile(
    join(world.policyDir, 'wild-grant.yaml'),
    `apiVersion: scopekeeper.dev/v1alpha1
kind: AccessReview
metadata: {name: ops-agent-jit-wild, namespace: ${NS}}
spec:
  scopeRef: {name: ops-agent}
  type: JustInTime
  decision: Approved
  reviewer: carol@example.com
  reviewedAt: "${new Date(now - 60_000).toISOString()}"
  expiresAt: "${new Date(now + 3_000_000).toISOString()}"
  justification: opus for the incident
  request:
    subject: {kind: ServiceAccount, name: ops-bot, namespace: ${NS}}
    model: "claude-opus-*"
    tools: []
`,
  );
  await world.restart();
});
afterAll(() => world.close());

async function ask(model: string): Promise<{ status: number; type?: string; message?: string; upstream: number }> {
  const before = world.stub!.total;
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await world.saToken('ops-bot')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await res.json()) as { error?: { type?: string; message?: string } };
  // count what the model API received only once the request is finished (docs/testing.md)
  await auditRecord(world.auditFile, res.headers.get('x-scopekeeper-request-id')!);
  return { status: res.status, type: body.error?.type, message: body.error?.message, upstream: world.stub!.total - before };
}

test.each(['claude-opus-*', 'claude-opus-4-?', 'claude-[o]pus-4-1'])(
  'model %p: 400 invalid_request_error naming it, nothing forwarded',
  async (model) => {
    const r = await ask(model);
    expect(r).toMatchObject({ status: 400, type: 'invalid_request_error', upstream: 0 });
    expect(r.message).toContain(JSON.stringify(model));
  },
);

test('an approval of "claude-opus-*" does not allow claude-opus-4-1: it is held', async () => {
  await waitForPolicy(world, async () => (await ask('claude-sonnet-4-5')).status === 200);
  const r = await ask('claude-opus-4-1');
  expect(r).toMatchObject({ status: 403, type: 'permission_error', upstream: 0 });
  expect(r.message).toContain('needs approval');
});
