// `reviews usage` and `reviews recommend` on an audit log written by the real sidecar: allowed,
// denied, masked, tool-using (JSON and streamed) and held requests, then the command's report
// checked against what those requests did.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startWorld, type World } from '@scopekeeper/sidecar';
import { cli } from './run-cli.ts';

// Each test spawns the CLI a few times; on a busy machine a spawn takes seconds.
import.meta.jest.setTimeout(180_000);

const tool = (name: string) => ({ name, description: name, input_schema: { type: 'object' } });

let world: World;
let scopeFile: string;
const requests: { who: string; body: Record<string, unknown>; want: number }[] = [
  {
    who: 'support-bot',
    want: 200,
    body: {
      model: 'claude-sonnet-4-5',
      tools: [tool('Read'), tool('Grep')],
      messages: [{ role: 'user', content: 'STUB:tool_use:Read {"path":"/etc/motd"}' }],
    },
  },
  {
    who: 'support-bot',
    want: 200,
    body: {
      model: 'claude-sonnet-4-5',
      stream: true,
      tools: [tool('Read'), tool('mcp__crm__lookup')],
      messages: [{ role: 'user', content: 'STUB:tool_use:mcp__crm__lookup {"id":42}' }],
    },
  },
  {
    who: 'support-bot',
    want: 200,
    body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'write to bob@example.com' }] },
  },
  { who: 'support-bot', want: 403, body: { model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'hi' }] } },
  { who: 'ops-bot', want: 403, body: { model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'needs a yes' }] } },
];

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

beforeAll(async () => {
  world = await startWorld();
  for (const r of requests) {
    const token = await world.saToken(r.who);
    const res = await fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ max_tokens: 64, ...r.body }),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(r.want);
  }
  // The record is written after the response: wait for all of them (the event, not a time).
  const deadline = Date.now() + 30_000;
  while ((await lines(world.auditFile)).length < requests.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  scopeFile = join(world.policyDir, 'support-agent.yaml');
}, 60_000);
afterAll(() => world?.close());

test('the audit records what the model invoked, JSON and streamed', async () => {
  const recs = (await lines(world.auditFile)).map((l) => JSON.parse(l) as { toolsUsed?: string[]; tools?: string[] });
  expect(recs[0]).toMatchObject({ tools: ['Read', 'Grep'], toolsUsed: ['Read'] });
  expect(recs[1]).toMatchObject({ toolsUsed: ['mcp__crm__lookup'] });
  expect(recs[2]!.toolsUsed).toBeUndefined();
});

test('reviews usage counts what the requests did and lists the unused grants', async () => {
  const r = await cli(
    'reviews',
    'usage',
    'support-agent',
    '-n',
    'team-a',
    '--audit',
    world.auditFile,
    '--scope-file',
    scopeFile,
    '-o',
    'json',
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const u = JSON.parse(r.stdout);
  expect(u).toMatchObject({ scope: 'support-agent', requests: 4, allowed: 3, denied: 1, held: 0 });
  expect(u.models).toEqual([expect.objectContaining({ name: 'claude-sonnet-4-5', count: 3 })]);
  expect(u.toolsUsed.map((t: { name: string }) => t.name).sort()).toEqual(['Read', 'mcp__crm__lookup']);
  expect(u.masked).toEqual([expect.objectContaining({ name: 'email', count: 1 })]);
  expect(u.denials).toEqual([expect.objectContaining({ name: 'ModelNotAllowed', count: 1 })]);
  expect(u.unused.map((x: { grant: string }) => x.grant)).toEqual(['claude-haiku-*', 'Grep', 'Glob']);

  const ops = JSON.parse(
    (
      await cli(
        'reviews',
        'usage',
        'ops-agent',
        '-n',
        'team-a',
        '--audit',
        world.auditFile,
        '--scope-file',
        join(world.policyDir, 'ops-agent.yaml'),
        '-o',
        'json',
      )
    ).stdout,
  );
  expect(ops.holds).toEqual([
    expect.objectContaining({ model: 'claude-opus-4-1', outcome: 'not used', approval: expect.stringMatching(/^team-a\//) }),
  ]);
});

test('the table for people says the same', async () => {
  const r = await cli(
    'reviews',
    'usage',
    'support-agent',
    '-n',
    'team-a',
    '--audit',
    world.auditFile,
    '--scope-file',
    scopeFile,
    '--since',
    '1d',
  );
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^requests +4 \(allowed 3, denied 1, held 0\)$/m);
  expect(r.stdout).toMatch(/^ {2}spec\.tools\.allow {2}Grep {2}— offered to the model in 1 request but never invoked/m);
});

test('reviews recommend drops what was not used and keeps the rest', async () => {
  const r = await cli('reviews', 'recommend', 'support-agent', '-n', 'team-a', '--audit', world.auditFile, '--scope-file', scopeFile);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^# {3}remove spec\.models claude-haiku-\*: /m);
  expect(r.stdout).toMatch(/^# {3}remove spec\.tools\.allow Glob: no request offered or invoked/m);
  const yaml = r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  expect(yaml).toMatch(/models:\n {4}- claude-sonnet-4-\*\n/);
  expect(yaml).toMatch(/allow:\n {6}- Read\n {6}- mcp__crm__\*\n/);
  // Narrowing never loosens: deny lists and data rules stay.
  expect(yaml).toContain('- Bash');
  expect(yaml).toContain('- private-key');
});

test('a tampered log is refused with where it breaks, unless --allow-broken says so', async () => {
  const all = await lines(world.auditFile);
  const tampered = join(world.dir, 'tampered.jsonl');
  await writeFile(tampered, [all[0], all[1]!.replace('"deny"', '"allow"').replace('"Read"', '"Bash"'), ...all.slice(2)].join('\n') + '\n');
  const r = await cli('reviews', 'usage', 'support-agent', '-n', 'team-a', '--audit', tampered, '--scope-file', scopeFile);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/the audit chain is broken: line 2: hash mismatch/);
  expect(r.stdout).toBe('');
  const forced = await cli(
    'reviews',
    'usage',
    'support-agent',
    '-n',
    'team-a',
    '--audit',
    tampered,
    '--scope-file',
    scopeFile,
    '--allow-broken',
  );
  expect(forced.code).toBe(0);
  expect(forced.stderr).toMatch(/^WARNING .*line 2.*--allow-broken/m);
});

test('bad usage says what to do', async () => {
  expect(await cli('reviews', 'usage', 'support-agent', '--scope-file', scopeFile)).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--audit FILE'),
  });
  expect(
    await cli('reviews', 'usage', 'support-agent', '--audit', world.auditFile, '--scope-file', scopeFile, '--since', 'last tuesday'),
  ).toMatchObject({ code: 2, stderr: expect.stringContaining('neither a duration') });
  expect(await cli('reviews', 'recommend', 'nope', '--audit', world.auditFile, '--scope-file', scopeFile)).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('no ModelScope named nope'),
  });
});
