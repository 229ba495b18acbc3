// What the specs of e2e/pods/ use: the one-node cluster global setup started (node-setup.ts), with
// the same helpers as cluster.ts, plus the node's own: run a command inside its network
// namespace, make a local server reachable from the pods, reach a port inside from here.
//
//   const c = nodeCluster();
//   await c.kubectl(['get', 'pods', '-A']);
//   const upstream = await c.exposeToPods(server);   // http://10.213.0.2:PORT, answered by `server` here
//   const url = await c.exposeFromNode('10.214.0.5', 15181); // http://127.0.0.1:PORT reaching a pod
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { clusterOf, type Cluster } from './cluster.ts';
import { REPO_ROOT } from './controlplane.ts';
import type { NodeClusterInfo } from './node.ts';
import { inNetns } from './node.ts';
import { log, run, type RunResult } from './proc.ts';

export const NODE_INFO_ENV = 'SCOPEKEEPER_E2E_NODE_CLUSTER';

export interface NodeClusterHandle extends Cluster {
  node: NodeClusterInfo['node'];
  images: { scopekeeper: string; agent: string };
  /** Runs a command inside the node's network namespace (nsenter --net). */
  inNode(cmd: string, args: readonly string[], opts?: { timeoutMs?: number; allowFailure?: boolean }): Promise<RunResult>;
  /** ctr against the node's containerd, namespace k8s.io. */
  ctr(args: readonly string[]): Promise<RunResult>;
  /** A local server (or a port on 127.0.0.1 here) made reachable from the pods at http://<node ip>:PORT (a bridge). */
  exposeToPods(target: Server | number): Promise<string>;
  /** An address inside the namespace (a pod IP and port) made reachable here at http://127.0.0.1:PORT. */
  exposeFromNode(host: string, port: number): Promise<string>;
  /** Stops the bridges this spec file started. */
  closeBridges(): void;
}

let cached: NodeClusterHandle | undefined;

export function nodeCluster(): NodeClusterHandle {
  if (cached) return cached;
  const file = process.env[NODE_INFO_ENV];
  if (!file)
    throw new Error(
      `${NODE_INFO_ENV} is not set: the specs of e2e/pods/ run through \`npm run test:e2e\` (the pods project's global setup starts the node)`,
    );
  const info = JSON.parse(readFileSync(file, 'utf8')) as NodeClusterInfo & { images: { scopekeeper: string; agent: string } };
  const c = clusterOf(info);
  const bridges: number[] = [];
  const env = { ...process.env, ...info.node.env };
  const bridge = (args: string[], netns?: string): Promise<string> => {
    const script = join(REPO_ROOT, 'e2e/harness/bridge.ts');
    const [cmd, argv] = netns ? inNetns(netns, process.execPath, [script, ...args]) : [process.execPath, [script, ...args]];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.pid) bridges.push(child.pid);
    child.unref();
    return new Promise((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('\n')) {
          child.stdout.destroy();
          resolve(buf.split('\n')[0]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`bridge ${args.join(' ')} exited ${code}`)));
    });
  };
  const sockDir = mkdtempSync(join(info.node.runDir, 'expose-'));
  let n = 0;
  const killBridges = () => {
    for (const pid of bridges.splice(0)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  };
  process.once('exit', killBridges);
  cached = {
    ...c,
    node: info.node,
    images: info.images,
    inNode: (cmd, args, o = {}) => run(...inNetns(info.node.netns, cmd, args), { env, ...o }),
    ctr: (args) =>
      run(join(info.node.debsRoot, 'usr/bin/ctr'), ['--address', info.node.containerdSocket, '-n', 'k8s.io', ...args], { env }),
    async exposeToPods(target) {
      const sock = join(sockDir, `to-pods-${n++}.sock`);
      if (typeof target === 'number') {
        await bridge([`unix:${sock}`, `tcp:127.0.0.1:${target}`]);
      } else {
        const server = target;
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(sock, resolve);
        });
      }
      const addr = await bridge([`tcp:${info.node.ip}:0`, `unix:${sock}`], info.node.netns);
      return `http://${info.node.ip}:${addr.split(':').pop()}`;
    },
    async exposeFromNode(host, port) {
      const sock = join(sockDir, `from-node-${n++}.sock`);
      await bridge([`unix:${sock}`, `tcp:${host}:${port}`], info.node.netns);
      const addr = await bridge(['tcp:127.0.0.1:0', `unix:${sock}`]);
      return `http://127.0.0.1:${addr.split(':').pop()}`;
    },
    closeBridges: killBridges,
  };
  return cached;
}

/** npm run image (scripts/image.sh): the archive and the name it gets in the node's containerd. */
export async function scopekeeperImage(): Promise<{ file: string; ref: string }> {
  const t0 = performance.now();
  const r = await run('bash', [join(REPO_ROOT, 'scripts/image.sh')], { timeoutMs: 20 * 60_000 });
  const file = r.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(file)) throw new Error(`scripts/image.sh printed ${JSON.stringify(file)}, not an archive:\n${r.stderr}`);
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  log(`image built in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${file}`);
  return { file, ref: `scopekeeper.local/scopekeeper:${version}` };
}

/** `ctr images import` into the node's containerd under `ref` (repository from ref, tag from the archive). */
export async function importImage(info: NodeClusterInfo, file: string, ref: string): Promise<void> {
  const base = ref.replace(/:[^:/]+$/, '');
  await run(
    join(info.node.debsRoot, 'usr/bin/ctr'),
    ['--address', info.node.containerdSocket, '-n', 'k8s.io', 'images', 'import', '--base-name', base, file],
    {
      env: { ...process.env, ...info.node.env },
      timeoutMs: 300_000,
    },
  );
}
