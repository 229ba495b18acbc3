// The command-line tools the specs run besides the control plane, provisioned by the test command
// itself: Debian's prometheus package (prometheus, promtool), unpacked by scripts/debs.sh into
// $SCOPEKEEPER_CACHE (cached; nothing is installed on the machine). Global setup calls this, so
// `npm run test:e2e` needs nothing installed first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from './controlplane.ts';
import { log } from './proc.ts';

/**
 * `scripts/debs.sh name pkg…`: the root the packages are unpacked into. Throws with the script's
 * output when it fails.
 */
export function debs(name: string, packages: readonly string[]): string {
  const t0 = performance.now();
  const r = spawnSync('bash', [join(REPO_ROOT, 'scripts/debs.sh'), name, ...packages], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`scripts/debs.sh ${name} ${packages.join(' ')} exited ${r.status}:\n${r.stderr}`);
  const s = (performance.now() - t0) / 1000;
  if (s > 1) log(`${name}: ${r.stderr.trim()} (${s.toFixed(1)} s)`);
  return r.stdout.trim().split('\n').pop() ?? '';
}

/**
 * prometheus and promtool: PROMETHEUS_BIN (unless set) and PATH point at them for the specs
 * (jest's test environments inherit this process's environment).
 */
export function provisionTools(): void {
  if (process.env.PROMETHEUS_BIN && existsSync(process.env.PROMETHEUS_BIN)) return;
  const bin = join(debs('prometheus', ['prometheus']), 'usr/bin');
  for (const b of ['prometheus', 'promtool'])
    if (!existsSync(join(bin, b))) throw new Error(`Debian's prometheus package has no ${b} at ${bin}`);
  process.env.PROMETHEUS_BIN = join(bin, 'prometheus');
  process.env.PATH = `${bin}${delimiter}${process.env.PATH ?? ''}`;
}
