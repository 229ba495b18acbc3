// The app image of the pod e2e, built the way scripts/image.sh builds scopekeeper's: on top of the
// scopekeeper image (its Debian base and Node), one layer with the real Claude Agent SDK (and its
// linux-x64 binary) from node_modules, e2e/pods/agent/agent.mjs, and Debian's busybox-static for
// the /bin/sh and cat that the SDK's apiKeyHelper runs. Cached by the SDK's version and the
// agent's source (the SDK binary is ~380 MB: packing it takes a while).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, cacheRoot } from './controlplane.ts';
import { log, run } from './proc.ts';
import { debs } from './tools.ts';

export const AGENT_REF = 'scopekeeper.local/e2e-agent:latest';

export async function agentImage(scopekeeperArchive: string): Promise<{ file: string; ref: string }> {
  const sdk = join(REPO_ROOT, 'node_modules/@anthropic-ai');
  const agentSrc = join(REPO_ROOT, 'e2e/pods/agent/agent.mjs');
  const version = (JSON.parse(readFileSync(join(sdk, 'claude-agent-sdk/package.json'), 'utf8')) as { version: string }).version;
  const key = createHash('sha256')
    .update(version)
    .update(readFileSync(agentSrc))
    .update(readFileSync(new URL(import.meta.url)))
    .digest('hex')
    .slice(0, 16);
  const file = join(cacheRoot(), 'image', `e2e-agent-${key}.oci.tar`);
  if (existsSync(file)) return { file, ref: AGENT_REF };

  const t0 = performance.now();
  const umoci = join(debs('umoci', ['umoci']), 'usr/bin/umoci');
  const busybox = join(debs('busybox', ['busybox-static']), 'bin/busybox');
  const work = mkdtempSync(join(cacheRoot(), 'image', 'agent-'));
  try {
    const layout = join(work, 'oci');
    await run('mkdir', ['-p', layout]);
    await run('tar', ['-C', layout, '-xf', scopekeeperArchive]);
    const tag = (JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] })
      .manifests[0]?.annotations?.['org.opencontainers.image.ref.name'];
    if (!tag) throw new Error(`${scopekeeperArchive} names no image`);
    await run(umoci, ['unpack', '--image', `${layout}:${tag}`, join(work, 'bundle')], { timeoutMs: 600_000 });
    const rootfs = join(work, 'bundle/rootfs');
    await run('mkdir', ['-p', join(rootfs, 'agent/node_modules/@anthropic-ai'), join(rootfs, 'bin')]);
    await run('cp', [
      '-a',
      join(sdk, 'claude-agent-sdk'),
      join(sdk, 'claude-agent-sdk-linux-x64'),
      join(rootfs, 'agent/node_modules/@anthropic-ai/'),
    ]);
    await run('cp', [agentSrc, join(rootfs, 'agent/agent.mjs')]);
    await run('install', ['-m', '0755', busybox, join(rootfs, 'bin/busybox')]);
    for (const n of ['sh', 'cat']) await run('ln', ['-s', 'busybox', join(rootfs, 'bin', n)]);
    await run('chown', ['-R', '0:0', join(rootfs, 'agent')]);
    await run(umoci, ['repack', '--image', `${layout}:agent`, join(work, 'bundle')], { timeoutMs: 900_000 });
    await run(umoci, [
      'config',
      '--image',
      `${layout}:agent`,
      '--config.entrypoint',
      '/usr/local/bin/node',
      '--config.entrypoint',
      '/agent/agent.mjs',
      '--clear=config.cmd',
      '--config.workingdir',
      '/agent',
    ]);
    await run(umoci, ['tag', '--image', `${layout}:agent`, 'latest']);
    await run(umoci, ['rm', '--image', `${layout}:agent`]);
    await run(umoci, ['rm', '--image', `${layout}:${tag}`]);
    await run(umoci, ['gc', '--layout', layout]);
    await run('tar', ['-C', layout, '-cf', `${file}.tmp`, '.'], { timeoutMs: 600_000 });
    renameSync(`${file}.tmp`, file);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`agent image built in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${file}`);
  return { file, ref: AGENT_REF };
}
