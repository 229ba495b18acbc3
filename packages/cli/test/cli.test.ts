import { fileURLToPath } from 'node:url';
import { runDemo } from '../src/commands/demo.ts';
import { sidecarCommand } from '../src/commands/sidecar.ts';
import { cli } from './run-cli.ts';

const bin = fileURLToPath(new URL('../../../bin/scopekeeper.js', import.meta.url));

describe('scopekeeper command', () => {
  test('--help exits 0 and lists the commands', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const c of ['sidecar', 'demo', 'can-i', 'audit']) expect(r.stdout).toContain(c);
  });
  test.each([
    ['sidecar', '--help'],
    ['can-i', '--help'],
    ['audit', 'verify', '--help'],
    ['demo', '--help'],
    ['operator', '--help'],
    ['reviews', 'export', '--help'],
  ])('%s %s exits 0', async (...args) => {
    expect((await cli(...args)).code).toBe(0);
  });
  test('bad usage exits 2 with a message', async () => {
    const r = await cli('can-i', '--model', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--as/);
    expect((await cli('no-such-command')).code).toBe(2);
    const s = await cli('sidecar', '--policy', 'examples', '--listen', 'nonsense');
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--listen "nonsense" is not HOST:PORT/);
  });
  test('sidecar without an issuer refuses to start, saying what to pass', async () => {
    const r = await cli('sidecar', '--policy', 'examples', '--upstream-key-file', bin);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no --issuer given/);
  });
  test('can-i explains an allowed and a denied request', async () => {
    const yes = await cli(
      'can-i',
      '--as',
      'system:serviceaccount:team-a:support-bot',
      '--model',
      'claude-sonnet-4-5',
      '--tool',
      'Read',
      '--at',
      '2026-12-01T00:00:00Z',
    );
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(/^yes\n {2}Allowed by ModelScope support-agent under AccessReview support-agent-2026q4\./);
    const no = await cli(
      'can-i',
      '--as',
      'serviceaccount:team-a/support-bot',
      '--model',
      'claude-sonnet-4-5',
      '--tool',
      'Bash',
      '--at',
      '2026-12-01T00:00:00Z',
    );
    expect(no.code).toBe(1);
    expect(no.stdout).toContain('reason:  ToolDenied (spec.tools.deny)');
    const held = await cli(
      'can-i',
      '--as',
      'alice@example.com',
      '--model',
      'claude-opus-4-1',
      '--at',
      '2026-12-01T00:00:00Z',
      '-o',
      'json',
    );
    expect(JSON.parse(held.stdout)).toMatchObject({ effect: 'approval-required', scope: 'ops-agent' });
  });
});

describe('sidecar flags', () => {
  const parse = async (...args: string[]) => {
    const cmd = sidecarCommand()
      .exitOverride()
      .action(() => {});
    await cmd.parseAsync(args, { from: 'user' });
    return cmd.opts<{ audit: string[]; issuer: string[] }>();
  };
  test('--audit replaces the default stdout sink instead of adding to it (the injected sidecar passes --audit stdout)', async () => {
    expect((await parse()).audit).toEqual(['stdout']);
    expect((await parse('--audit', 'stdout')).audit).toEqual(['stdout']);
    expect((await parse('--audit', 'file:/tmp/a')).audit).toEqual(['file:/tmp/a']);
    expect((await parse('--audit', 'stdout', '--audit', 'file:/tmp/a,https://audit.example/in')).audit).toEqual([
      'stdout',
      'file:/tmp/a',
      'https://audit.example/in',
    ]);
    expect((await parse('--issuer', 'https://a.example', '--issuer', 'https://b.example')).issuer).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });
});

describe('demo --once', () => {
  test('every step behaves as expected', async () => {
    const lines: string[] = [];
    const ok = await runDemo({ once: true, out: (s) => lines.push(s) });
    const text = lines.join('\n');
    expect(text).toContain('hash chain intact');
    expect(ok).toBe(true);
    expect(text).not.toMatch(/✗/);
  }, 60_000);
});
