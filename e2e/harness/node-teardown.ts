// jest globalTeardown of the `pods` project: stops the one-node cluster (node-host.ts restores the
// host), stops the watchdog, keeps the node's logs only when the run failed.
import { rmSync } from 'node:fs';
import { getNodeState, setNodeState } from './node-setup.ts';
import { log } from './proc.ts';
import { getOutcome } from './state.ts';

export default async function nodeTeardown(): Promise<void> {
  const s = getNodeState();
  if (!s) return;
  setNodeState(undefined);
  try {
    s.cluster.stop();
  } finally {
    s.removeExitHandlers();
    try {
      if (s.watchdog) process.kill(s.watchdog, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  if (getOutcome()?.success) rmSync(s.logDir, { recursive: true, force: true });
  else log(`the run failed: the node's logs are kept in ${s.logDir}`);
}
