// Identity = (issuer, subject) over HTTP (DESIGN.md §9a, issue 14 class 1): a second trusted
// issuer cannot speak for the first issuer's service accounts, users or groups, and an email
// counts only when the issuer verified it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalIssuer } from '../src/identity/local-issuer.ts';
import { startWorld, NS, type World } from '../src/testing/world.ts';
import { auditRecord } from './refusal.ts';

let world: World;
let second: LocalIssuer;

beforeAll(async () => {
  second = await LocalIssuer.start();
  world = await startWorld();
  const now = Date.now();
  await writeFile(
    join(world.policyDir, 'second-issuer.yaml'),
    `apiVersion: scopekeeper.dev/v1alpha1
kind: ModelScope
metadata: {name: second-issuer, namespace: ${NS}}
spec:
  subjects: [{kind: User, name: bob, issuer: "${second.issuer}"}, {kind: Group, name: partners, issuer: "${second.issuer}"}]
  models: ["claude-haiku-*"]
  review: {period: 90d, reviewers: [{kind: Group, name: security-leads}]}
---
apiVersion: scopekeeper.dev/v1alpha1
kind: AccessReview
metadata: {name: second-issuer-review, namespace: ${NS}}
spec:
  scopeRef: {name: second-issuer}
  type: Periodic
  decision: Approved
  reviewer: carol@example.com
  reviewedAt: "${new Date(now - 86_400_000).toISOString()}"
  expiresAt: "${new Date(now + 30 * 86_400_000).toISOString()}"
  justification: partners
`,
  );
  world.flags.issuer = [world.issuer.issuer, second.issuer];
  await world.restart();
});
afterAll(async () => {
  await world.close();
  await second.close();
});

async function ask(token: string, model = 'claude-sonnet-4-5'): Promise<{ status: number; reason: string | undefined; upstream: number }> {
  const before = world.stub!.total;
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await res.json()) as { error?: { message?: string } };
  // count what the model API received only once the request is finished (docs/testing.md)
  await auditRecord(world.auditFile, res.headers.get('x-scopekeeper-request-id')!);
  return { status: res.status, reason: body.error?.message, upstream: world.stub!.total - before };
}

const SA_SUB = `system:serviceaccount:${NS}:support-bot`;

describe('only the service-account issuer produces service accounts', () => {
  test("the primary issuer's support-bot token is allowed", async () => {
    expect(await ask(await world.saToken('support-bot'))).toMatchObject({ status: 200, upstream: 1 });
  });

  test('a second issuer saying sub system:serviceaccount:team-a:support-bot is refused', async () => {
    const r = await ask(await second.mint({ sub: SA_SUB }));
    expect(r).toMatchObject({ status: 403, upstream: 0 });
    expect(r.reason).toContain(`User ${SA_SUB} of issuer ${second.issuer}`);
  });

  test('a second issuer with a kubernetes.io claim for support-bot is refused', async () => {
    const claim = { namespace: NS, serviceaccount: { name: 'support-bot', uid: 'x' } };
    expect(await ask(await second.mint({ sub: 'whoever', 'kubernetes.io': claim }))).toMatchObject({ status: 403, upstream: 0 });
  });
});

describe('User and Group subjects belong to the primary issuer unless they name another', () => {
  test('a second issuer cannot be alice (sub or verified email) or a support-engineer', async () => {
    expect(await ask(await second.mint({ sub: 'alice@example.com' }))).toMatchObject({ status: 403, upstream: 0 });
    expect(await ask(await second.mint({ sub: 'x', email: 'alice@example.com', email_verified: true }))).toMatchObject({
      status: 403,
      upstream: 0,
    });
    expect(await ask(await second.mint({ sub: 'x', groups: ['support-engineers'] }))).toMatchObject({ status: 403, upstream: 0 });
  });

  test("subjects[].issuer admits that issuer's user and group, and only theirs", async () => {
    expect(await ask(await second.mint({ sub: 'bob' }), 'claude-haiku-4-5')).toMatchObject({ status: 200, upstream: 1 });
    expect(await ask(await second.mint({ sub: 'x', groups: ['partners'] }), 'claude-haiku-4-5')).toMatchObject({
      status: 200,
      upstream: 1,
    });
    expect(await ask(await world.issuer.mint({ sub: 'bob' }), 'claude-haiku-4-5')).toMatchObject({ status: 403, upstream: 0 });
    expect(await ask(await world.issuer.mint({ sub: 'x', groups: ['partners'] }), 'claude-haiku-4-5')).toMatchObject({
      status: 403,
      upstream: 0,
    });
  });
});

describe('an email counts only with email_verified: true', () => {
  test.each([
    ['absent', undefined, 403],
    ['the string "false"', 'false', 403],
    ['the string "true"', 'true', 403],
    ['false', false, 403],
    ['true', true, 200],
  ])('email_verified %s', async (_label, verified, status) => {
    const r = await ask(await world.issuer.mint({ sub: 'u-77', email: 'alice@example.com', email_verified: verified }));
    expect(r).toMatchObject({ status, upstream: status === 200 ? 1 : 0 });
  });
});
