// The `scopekeeper` command: one binary for every role. Exit 0 on success, 1 when the thing
// checked is not as it should be, 2 on bad usage.
import { Command, CommanderError, Option } from 'commander';
import { sidecarCommand } from './commands/sidecar.ts';
import { demoCommand } from './commands/demo.ts';
import { canICommand } from './commands/can-i.ts';
import { auditCommand } from './commands/audit.ts';
import { operatorCommand } from './commands/operator.ts';
import { reviewsCommand } from './commands/reviews.ts';

export function program(): Command {
  const p = new Command('scopekeeper')
    .description('Reviewed, least-privilege access for AI agents that call the Anthropic API.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  p.addCommand(sidecarCommand());
  p.addCommand(demoCommand());
  p.addCommand(canICommand());
  p.addCommand(auditCommand());
  p.addCommand(operatorCommand());
  p.addCommand(reviewsCommand());
  for (const c of p.commands) c.exitOverride();
  return p;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (e.exitCode === 2 || e.code.startsWith('commander.')) return 2;
    }
    const { UsageError } = await import('@scopekeeper/sidecar');
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
