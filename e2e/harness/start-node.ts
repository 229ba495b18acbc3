// Starts the one-node cluster (node.ts) on its own and keeps it until SIGINT/SIGTERM:
//
//   node_modules/.bin/node e2e/harness/start-node.ts > kubeconfig-path &   # as root
//   kubectl --kubeconfig "$(cat kubeconfig-path)" get nodes
//   kill <pid>                                                             # stops it, restores the host
//
// stdout gets one line, the kubeconfig's path; progress goes to stderr; logs are kept in
// $SCOPEKEEPER_CACHE/e2e-logs/<time>-<pid>/ (deleted at a clean stop unless --keep-logs).
import { rmSync } from 'node:fs';
import { newLogDir } from './controlplane.ts';
import { startNodeCluster } from './node.ts';
import { log } from './proc.ts';

const args = process.argv.slice(2);
if (args.some((a) => a !== '--keep-logs')) {
  process.stderr.write('usage: node e2e/harness/start-node.ts [--keep-logs]\n');
  process.exit(2);
}
const logDir = newLogDir();
let cluster;
try {
  cluster = await startNodeCluster({ logDir });
} catch (e) {
  log(`${(e as Error).message}\nlogs kept in ${logDir}`);
  process.exit(1);
}
const c = cluster;
process.stdout.write(`${c.info.kubeconfigPath}\n`);
log(`pid ${process.pid}; stop with: kill ${process.pid}`);
const stop = (sig: string): void => {
  log(`stopping (${sig})`);
  c.stop();
  if (args.includes('--keep-logs')) log(`logs kept in ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
  process.exit(0);
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => stop(sig));
process.on('exit', () => c.stop());
setInterval(() => {}, 60_000);
