// Runs bench/lib/loadgen.ts as its own process on the load generator's core, and returns its result.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { NODE, REPO } from './scopekeeper.ts';
import type { LoadResult, LoadSpec } from './loadgen.ts';

export function runLoadgen(spec: LoadSpec, core = 0): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const c = spawn('taskset', ['-c', String(core), NODE, join(REPO, 'bench/lib/loadgen.ts'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`loadgen exit ${code}`))));
  });
}
