// The Debian tools the bench drives (nginx as the upstream stand-in and a target, wrk for maximum
// throughput): installed on first use, so `npm run bench` and bench/steady.ts work on a fresh machine.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NGINX } from './nginx.ts';
import { WRK } from './wrk.ts';

export function ensureTools(log: (line: string) => void): void {
  const missing = [
    ['nginx', NGINX],
    ['wrk', WRK],
  ].filter(([, bin]) => !existsSync(bin!));
  if (missing.length === 0) return;
  const names = missing.map(([n]) => (n === 'nginx' ? 'nginx-light' : n!));
  log(`${missing.map(([n]) => n).join(' and ')} not found: installing the Debian package(s) ${names.join(' ')} (apt-get; needs root)…`);
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', ...names], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (update.status !== 0 || install.status !== 0 || missing.some(([, bin]) => !existsSync(bin!))) {
    throw new Error(
      `could not install ${names.join(' ')}: run "apt-get install -y ${names.join(' ')}" as root (or set NGINX_BIN / WRK_BIN) and try again`,
    );
  }
}
