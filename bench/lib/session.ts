// Other work on the machine disturbs the figures. A process's nice value only counts inside its
// scheduling autogroup (Linux's default: one group per session), so a bench re-executes itself
// in a session of its own (setsid) and raises both its nice value and its group's; every process
// it starts inherits both. Needs root; without it the bench runs at normal priority and says so.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';

const FLAG = 'SCOPEKEEPER_BENCH_SESSION';

/** Runs `main` in a session of its own (re-executing this script under setsid when possible). */
export function inOwnSession(main: () => void): void {
  if (process.env[FLAG] === '1' || process.platform !== 'linux' || spawnSync('setsid', ['--version']).status !== 0) return main();
  const child = spawn('setsid', ['--wait', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [FLAG]: '1' },
  });
  const forward = (sig: NodeJS.Signals) => {
    if (child.pid) process.kill(child.pid, sig);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  child.once('exit', (code, sig) => process.exit(code ?? (sig ? 128 : 1)));
}

/** Raises this process's priority (and its autogroup's, when it has a session of its own); says what it did. */
export function raisePriority(): string {
  const done: string[] = [];
  try {
    setPriority(-20);
    done.push('nice -20');
  } catch {
    /* not root */
  }
  try {
    if (process.env[FLAG] === '1' && existsSync('/proc/self/autogroup')) {
      writeFileSync('/proc/self/autogroup', '-20');
      done.push(`its own scheduling autogroup at nice -20 (${readFileSync('/proc/self/autogroup', 'utf8').trim().split(' ')[0]})`);
    }
  } catch {
    /* not root, or no autogroup */
  }
  return done.length
    ? `${done.join(', ')}, inherited by every process the bench starts`
    : 'normal priority (could not raise it: not root?)';
}
