// Starts the e2e control plane on its own and keeps it running until SIGINT/SIGTERM:
//
//   node_modules/.bin/node e2e/harness/start-cluster.ts [--keep-logs] > kubeconfig-path &
//   KUBECONFIG=$(cat kubeconfig-path) npm run test:e2e     # the suite uses it, starts nothing
//   kill <pid>
//
// stdout gets one line, the kubeconfig's path (contexts: admin, the default, and one per user of
// users.ts); progress goes to stderr. Logs are deleted at a clean stop unless --keep-logs or a
// component died on its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlaneBinaries, newLogDir, startControlPlane } from './controlplane.ts';
import { log } from './proc.ts';

const args = process.argv.slice(2);
if (args.some((a) => a !== '--keep-logs')) {
  process.stderr.write('usage: node e2e/harness/start-cluster.ts [--keep-logs]\n');
  process.exit(2);
}
const keepLogs = args.includes('--keep-logs');

const runDir = mkdtempSync(join(tmpdir(), 'scopekeeper-cluster-'));
const logDir = newLogDir();
let plane;
try {
  plane = await startControlPlane({ binDir: await controlPlaneBinaries(), runDir, logDir });
} catch (e) {
  rmSync(runDir, { recursive: true, force: true });
  log(`${(e as Error).message}\nlogs kept in ${logDir}`);
  process.exit(1);
}
const p = plane;
process.stdout.write(`${p.kubeconfigPath}\n`);
log(`pid ${process.pid}; stop with: kill ${process.pid}`);

// Stay alive while both components run; stop on a signal.
let stopping = false;
const stop = async (code: number, why: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  log(`stopping (${why})`);
  await p.stop();
  rmSync(runDir, { recursive: true, force: true });
  if (keepLogs || code !== 0) log(`logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
  process.exit(code);
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop(0, sig));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
setInterval(() => {
  if (!alive(p.pids.apiserver) || !alive(p.pids.etcd)) void stop(1, 'a component exited');
}, 1000);
