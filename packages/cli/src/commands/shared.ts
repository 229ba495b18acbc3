// What the long-running commands share: flags that also come from SCOPEKEEPER_<FLAG>, and a
// shutdown on SIGTERM / SIGINT that lets the role finish what it is doing.
import { Option } from 'commander';

/** An option whose value may also come from SCOPEKEEPER_<FLAG> (upper case, dashes as underscores). */
export function envOption(flags: string, description: string): Option {
  const name = flags.split(' ')[0]!.replace(/^--/, '');
  return new Option(flags, description).env(`SCOPEKEEPER_${name.toUpperCase().replace(/-/g, '_')}`);
}

export function onShutdown(
  log: { info: (o: object, m: string) => void; error: (o: object, m: string) => void },
  what: string,
  stop: () => Promise<unknown>,
): void {
  const handler = (signal: string) => {
    log.info({ signal }, what);
    void stop().then(
      () => process.exit(0),
      (e: Error) => {
        log.error({ err: e.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}
