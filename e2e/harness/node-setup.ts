// jest globalSetup of the `pods` project (jest.e2e.config.js): runs only when a spec of e2e/pods/
// is selected. Builds the images (npm run image, and the Agent SDK app image: agent-image.ts), starts the one-node cluster (node.ts), imports
// the image into its containerd, and names the cluster's description in
// $SCOPEKEEPER_E2E_NODE_CLUSTER for the specs (pods.ts). Needs root (network namespace, cgroups).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, newLogDir } from './controlplane.ts';
import { agentImage } from './agent-image.ts';
import { startNodeCluster, type NodeCluster } from './node.ts';
import { importImage, NODE_INFO_ENV, scopekeeperImage } from './pods.ts';
import { log } from './proc.ts';
import { onExit } from './state.ts';
import { provisionTools } from './tools.ts';

export interface NodeHarnessState {
  cluster: NodeCluster;
  logDir: string;
  watchdog: number;
  removeExitHandlers: () => void;
}
const KEY = Symbol.for('scopekeeper.e2e.node');
const g = globalThis as unknown as Record<symbol, NodeHarnessState | undefined>;
export const getNodeState = (): NodeHarnessState | undefined => g[KEY];
export const setNodeState = (s: NodeHarnessState | undefined): void => {
  g[KEY] = s;
};

export default async function nodeSetup(): Promise<void> {
  process.stderr.write('\n');
  if (process.getuid?.() !== 0)
    throw new Error('the pod specs (e2e/pods/) need root: a network namespace, cgroups and mounts for the kubelet and containerd');
  provisionTools();
  const logDir = newLogDir();
  const t0 = performance.now();
  // The images build while the node starts.
  const images = async () => {
    const sk = await scopekeeperImage();
    return { sk, agent: await agentImage(sk.file) };
  };
  const [built, cluster] = await Promise.all([images(), startNodeCluster({ logDir })]);
  const removeExitHandlers = onExit(() => cluster.stop());
  // Outlives jest only to clean up after a SIGKILL: tears the node down once this process is gone.
  const script = `while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" "$3" --teardown`;
  const w = spawn(
    'sh',
    ['-c', script, 'scopekeeper-e2e-node-watchdog', String(process.pid), process.execPath, join(REPO_ROOT, 'e2e/harness/node-host.ts')],
    { detached: true, stdio: 'ignore' },
  );
  w.unref();
  setNodeState({ cluster, logDir, watchdog: w.pid ?? 0, removeExitHandlers });
  try {
    await importImage(cluster.info, built.sk.file, built.sk.ref);
    await importImage(cluster.info, built.agent.file, built.agent.ref);
  } catch (e) {
    cluster.stop();
    throw e;
  }
  const file = join(cluster.info.runDir, 'cluster.json');
  writeFileSync(file, JSON.stringify({ ...cluster.info, images: { scopekeeper: built.sk.ref, agent: built.agent.ref } }, null, 2), {
    mode: 0o600,
  });
  process.env[NODE_INFO_ENV] = file;
  log(`pods: node and image ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
