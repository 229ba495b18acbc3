// Milliseconds from spawn to the first byte a command prints on stdout (then the command is
// killed), over a few starts: how long a user waits before anything happens, e.g. for the
// README's demo.
//
//   node bench/first-output.ts [--starts 5] -- bin/scopekeeper.js demo --once
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { starts: { type: 'string', default: '5' } } });
if (positionals.length === 0) {
  console.error('usage: node bench/first-output.ts [--starts N] -- SCRIPT [ARGS…]');
  process.exit(2);
}

function once(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, positionals, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
    c.stdout.once('data', () => {
      resolve(performance.now() - t0);
      c.kill('SIGKILL');
    });
    c.once('exit', (code) => reject(new Error(`exited with ${code} before printing anything`)));
  });
}

const ms: number[] = [];
for (let i = 0; i < Number(values.starts); i++) ms.push(await once());
ms.sort((a, b) => a - b);
console.log(`first output: median ${ms[ms.length >> 1]!.toFixed(0)} ms [${ms.map((x) => x.toFixed(0)).join(' ')}]`);
