// The `scopekeeper` command: one binary for every role. Exit 0 on success, 1 when the thing
// checked is not as it should be, 2 on bad usage.
import { Command, CommanderError, Option } from 'commander';

/**
 * Each command's module (and what it imports) is loaded only when that command runs: the
 * sidecar, in every opted-in pod, then loads neither the operator's Kubernetes client nor the
 * demo's MCP server nor the CLI's review tooling.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  sidecar: async () => (await import('./commands/sidecar.ts')).sidecarCommand(),
  demo: async () => (await import('./commands/demo.ts')).demoCommand(),
  'can-i': async () => (await import('./commands/can-i.ts')).canICommand(),
  audit: async () => (await import('./commands/audit.ts')).auditCommand(),
  operator: async () => (await import('./commands/operator.ts')).operatorCommand(),
  reviews: async () => (await import('./commands/reviews.ts')).reviewsCommand(),
};

/** The program with every command, or only `only` when given (the one about to run). */
export async function program(only?: string): Promise<Command> {
  const p = new Command('scopekeeper')
    .description('Reviewed, least-privilege access for AI agents that call the Anthropic API.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const names = only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  for (const c of await Promise.all(names.map((n) => COMMANDS[n]!()))) p.addCommand(c);
  for (const c of p.commands) c.exitOverride();
  return p;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await (await program(argv[0])).parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (e.exitCode === 2 || e.code.startsWith('commander.')) return 2;
    }
    const { UsageError } = await import('@scopekeeper/sidecar/run');
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  }
}

export { Option };

if (import.meta.main || process.argv[1]?.endsWith('scopekeeper.js') || process.argv[1]?.endsWith('scopekeeper')) {
  const code = await main(process.argv.slice(2));
  if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
}
