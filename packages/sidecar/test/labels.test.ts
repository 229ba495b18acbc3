// Issue 14 class 9 over HTTP: random model names make no new metric series, and audit records
// keep request-derived fields short.
import { readFile } from 'node:fs/promises';
import { startWorld, type World } from '../src/testing/world.ts';
import { expectRefusal } from './refusal.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.close());

async function ask(model: string, tools: string[] = []): Promise<Response> {
  return fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await world.saToken('support-bot')}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      max_tokens: 8,
      tools: tools.map((name) => ({ name, input_schema: { type: 'object' } })),
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
}

test('200 random model names: no series of their own, all counted as other', async () => {
  const names = Array.from({ length: 200 }, (_, i) => `evil-${i}-${Math.random().toString(36).slice(2)}`);
  for (const n of names) {
    const check = expectRefusal(world.auditFile, world.stub!);
    const res = await ask(n);
    expect(res.status).toBe(403);
    await check.refused(res);
  }
  expect((await ask('claude-sonnet-4-5')).status).toBe(200);
  const metrics = await (await fetch(`${world.adminUrl}/metrics`)).text();
  const series = metrics.split('\n').filter((l) => l.startsWith('scopekeeper_requests_total{'));
  const models = new Set(series.map((l) => /model="([^"]*)"/.exec(l)?.[1]));
  expect(metrics).not.toContain('evil-');
  expect([...models].sort()).toEqual(['claude-sonnet-4-5', 'other']);
});

test('a 20,000-character model name and 500 tools: the audit record stays bounded', async () => {
  const check = expectRefusal(world.auditFile, world.stub!);
  const res = await ask(
    `claude-sonnet-4-${'9'.repeat(20_000)}`,
    Array.from({ length: 500 }, (_, i) => `Tool${i}`),
  );
  expect(res.status).toBe(403);
  await check.refused(res);
  const id = res.headers.get('x-scopekeeper-request-id')!;
  const line = (await readFile(world.auditFile, 'utf8')).split('\n').find((l) => l.includes(`"${id}"`));
  const record = JSON.parse(line!) as { model: string; tools: string[] };
  expect(record.model.length).toBeLessThanOrEqual(512);
  expect(record.tools.length).toBeLessThanOrEqual(128);
  expect(line!.length).toBeLessThan(20_000);
});
