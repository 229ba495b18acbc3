// The real Claude Agent SDK with a SAML assertion as its credential, supplied the way a
// deployment would: an apiKeyHelper command that prints the assertion (base64). The SDK sends the
// helper's output in Authorization and x-api-key; the sidecar tells it from a JWT by its form,
// verifies it against the IdP's metadata, and decides for the Group the IdP asserted. The first
// assertion the helper prints has expired: the SDK re-runs the helper after the 401 and the turn
// completes with the fresh one.
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query } from '@anthropic-ai/claude-agent-sdk';
import { startWorld, type World } from '../src/testing/world.ts';
import { completeJsonLines } from './hardening/support.ts';
import { auditRecordWhere } from './refusal.ts';

let world: World;

beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.close());

test('query() completes a turn with a SAML assertion from apiKeyHelper, after refreshing an expired one', async () => {
  const config = await mkdtemp(join(tmpdir(), 'agent-sdk-saml-'));
  const expired = join(config, 'assertion-0');
  const fresh = join(config, 'assertion-1');
  const calls = join(config, 'calls');
  await writeFile(expired, world.samlAssertion('dana@example.com', ['data-analysts'], { issuedOffsetSeconds: -1200, ttlSeconds: 600 }));
  await writeFile(fresh, world.samlAssertion('dana@example.com', ['data-analysts']));
  // The helper prints the expired assertion on its first run and the fresh one afterwards.
  const helper = join(config, 'saml-helper.sh');
  await writeFile(
    helper,
    `#!/bin/sh\nn=$(cat "${calls}" 2>/dev/null || echo 0)\necho $((n+1)) > "${calls}"\nif [ "$n" = 0 ]; then cat "${expired}"; else cat "${fresh}"; fi\n`,
  );
  await chmod(helper, 0o755);

  const before = world.stub!.received.length;
  const env = {
    ...process.env,
    ANTHROPIC_BASE_URL: world.url,
    ANTHROPIC_API_KEY: '',
    ANTHROPIC_AUTH_TOKEN: '',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CONFIG_DIR: config,
    HOME: config,
  };
  let text = '';
  let isError: boolean | undefined;
  for await (const m of query({
    prompt: 'Reply with the word pong.',
    options: { model: 'claude-sonnet-4-6', env, maxTurns: 1, cwd: config, settingSources: [], settings: { apiKeyHelper: helper } },
  })) {
    if (m.type === 'assistant')
      text += m.message.content.map((b: { type: string; text?: string }) => (b.type === 'text' ? b.text : '')).join('');
    if (m.type === 'result') isError = m.is_error;
  }
  expect(isError).toBe(false);
  expect(text).toContain('Reply with the word pong.');

  // Forwarded with the sidecar's key, never the assertion.
  const seen = world.stub!.received.slice(before).filter((q) => q.url.startsWith('/v1/messages'));
  expect(seen.length).toBeGreaterThan(0);
  expect(seen[0]!.headers['x-api-key']).toBe('sk-ant-local-upstream-key-0000');
  expect(seen[0]!.headers.authorization).toBeUndefined();

  // The audit: a 401 for the expired assertion, then the turn allowed for the SAML identity. A
  // record is written after its answer (batch window, write, fdatasync): read until it is there.
  await auditRecordWhere(
    world.auditFile,
    (r) => r.status === 401 && (r.reasons ?? []).some((x) => x.includes('expired')),
    'the 401 for the expired assertion',
  );
  // The refusal rule (docs/testing.md): the refused turn reached nothing. Every Messages request the
  // model API received is one the sidecar allowed: wait until each has its audit record, then compare.
  const turns = seen.filter((q) => q.url.split('?')[0] === '/v1/messages').length;
  expect(turns).toBeGreaterThan(0);
  const allowed = async () =>
    completeJsonLines<{ subject?: string; issuer?: string; scope?: string; decision: string; route?: string }>(
      await readFile(world.auditFile, 'utf8'),
    ).filter((r) => r.decision === 'allow' && r.route === 'messages');
  for (const deadline = Date.now() + 10_000; (await allowed()).length < turns && Date.now() < deadline;)
    await new Promise((r) => setTimeout(r, 20));
  const records = await allowed();
  expect(records.length).toBe(turns);
  expect(records[0]).toMatchObject({
    subject: 'User dana@example.com',
    issuer: 'https://idp.example.test/saml',
    scope: 'analyst-agent',
  });
  expect(Number(await readFile(calls, 'utf8'))).toBeGreaterThanOrEqual(2);
}, 120_000);
