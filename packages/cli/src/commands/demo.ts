// `scopekeeper demo`: the command and its first words. The demo itself (demo-run.ts) loads the
// sidecar, the local issuer and IdP, the Messages stand-in and an MCP server, which takes Node a
// second or two from the TypeScript sources; it is imported only once the user has been told what
// is starting.
import { Command } from 'commander';

export async function runDemo(opts: { once: boolean; out?: (s: string) => void }): Promise<boolean> {
  const out = opts.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const upstream = process.env.ANTHROPIC_API_KEY ? 'the Messages API at api.anthropic.com' : 'a stand-in for the Messages API';
  out(`scopekeeper demo: starting a local OIDC issuer, a SAML IdP, ${upstream}, an MCP server and the sidecar on a copy of examples/…`);
  return (await import('./demo-run.ts')).runDemo({ ...opts, out });
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('Run the local demo: allowed, denied, expired-review, masked and held requests through a real sidecar, no cluster needed.')
    .option('--once', 'play the steps, print the table and exit: 0 only if every step behaved as expected', false)
    .action(async (o: { once: boolean }) => {
      const ok = await runDemo({ once: o.once });
      process.exitCode = ok ? 0 : 1;
    });
}
