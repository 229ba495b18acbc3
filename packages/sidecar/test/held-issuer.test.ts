// A held request of a caller from another issuer than the primary one (a SAML IdP here): the
// JustInTime review the sidecar writes names the issuer with the subject, an approval of it lets
// that caller through — and only that caller, not a user of the primary issuer with the same name.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startWorld, NS, type World } from '../src/testing/world.ts';
import { waitForPolicy } from './helpers.ts';
import { approve } from './mcp-helpers.ts';
import { until } from '@scopekeeper/kube/testing/until';
import { auditRecord } from './refusal.ts';

const DANA = 'dana@example.com';
let world: World;

beforeAll(async () => {
  world = await startWorld();
  const now = Date.now();
  await writeFile(
    join(world.policyDir, 'analysts.yaml'),
    `apiVersion: scopekeeper.dev/v1alpha1
kind: ModelScope
metadata: {name: analysts, namespace: ${NS}}
spec:
  subjects:
    - {kind: User, name: ${DANA}, issuer: "${world.samlIdp.entityId}"}
    - {kind: User, name: ${DANA}}
  models: ["claude-sonnet-*", "claude-opus-*"]
  approval:
    requiredFor: {models: ["claude-opus-*"]}
    approvers: [{kind: Group, name: security-leads}]
    grantDuration: 1h
  review: {period: 90d, reviewers: [{kind: Group, name: security-leads}]}
---
apiVersion: scopekeeper.dev/v1alpha1
kind: AccessReview
metadata: {name: analysts-q4, namespace: ${NS}}
spec:
  scopeRef: {name: analysts}
  type: Periodic
  decision: Approved
  reviewer: carol@example.com
  reviewedAt: "${new Date(now - 60_000).toISOString()}"
  expiresAt: "${new Date(now + 30 * 86_400_000).toISOString()}"
  justification: analysts on Sonnet
`,
  );
  await waitForPolicy(world, async () => (await ask(samlDana(), 'claude-sonnet-4-5')).status === 200);
});
afterAll(() => world.close());

const samlDana = () => world.samlAssertion(DANA, ['finance']);
const oidcDana = () => world.issuer.mint({ sub: 'dana-oidc', email: DANA, email_verified: true });

async function ask(credential: string | Promise<string>, model: string): Promise<{ status: number; approval: string | null }> {
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await credential}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  await auditRecord(world.auditFile, res.headers.get('x-scopekeeper-request-id')!);
  return { status: res.status, approval: res.headers.get('x-scopekeeper-approval') };
}

test("the SAML caller's held request is recorded with the IdP as issuer; once approved it passes, and the same name from the primary issuer is still held", async () => {
  const held = await ask(samlDana(), 'claude-opus-4-1');
  expect(held.status).toBe(403);
  const ref = held.approval!;
  expect(ref).toMatch(new RegExp(`^${NS}/analysts-jit-[0-9a-f]{16}$`));
  const file = join(world.policyDir, `${ref.split('/')[1]}.yaml`);
  const review = parseAllDocuments(await readFile(file, 'utf8'))[0]!.toJS() as { spec: { request: { subject: unknown } } };
  expect(review.spec.request.subject).toEqual({ kind: 'User', name: DANA, issuer: world.samlIdp.entityId });

  await approve(world, ref);
  await until('the approval to load', async () => (await ask(samlDana(), 'claude-opus-4-1')).status === 200, 10_000, 50);
  // The grant names the SAML IdP's dana: the primary issuer's dana@example.com is held on her own.
  const other = await ask(oidcDana(), 'claude-opus-4-1');
  expect(other.status).toBe(403);
  expect(other.approval).not.toBe(ref);
});
