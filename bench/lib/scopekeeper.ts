// The scopekeeper side of the bench: a policy folder (examples/ re-dated to today plus a
// bench-only scope without `data`, i.e. no masking), the upstream key file, a LocalIssuer and its
// tokens, and the real CLI started as its own pinned process.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyExamples, LocalIssuer, NS } from '@scopekeeper/sidecar';
import { SIDECAR_MALLOC_ARENA_MAX, SIDECAR_NODE_OPTIONS } from '../../packages/operator/src/webhook/sidecar.ts';
import { startPinned, waitFor, type Started } from './proc.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const NODE = join(REPO, 'node_modules/.bin/node');
export const UPSTREAM_KEY = 'sk-ant-bench-upstream-key-0000';

/** support-agent without `data`: policy + audit, nothing to mask. */
const NO_MASKING_SCOPE = `apiVersion: scopekeeper.dev/v1alpha1
kind: ModelScope
metadata:
  name: bench-nomask
  namespace: ${NS}
spec:
  subjects:
    - {kind: ServiceAccount, name: bench-bot}
  models: ["claude-sonnet-4-*", "claude-haiku-*"]
  limits: {maxTokens: 8192, streaming: true, thinking: false}
  tools:
    allow: ["Read", "Grep", "Glob", "mcp__crm__*"]
    deny: ["Bash", "Write", "Edit"]
  review:
    period: 90d
    reviewers: [{kind: Group, name: security-leads}]
    expiringSoonWindow: 14d
    onExpiry: Deny
---
apiVersion: scopekeeper.dev/v1alpha1
kind: AccessReview
metadata:
  name: bench-nomask-review
  namespace: ${NS}
spec:
  scopeRef: {name: bench-nomask}
  type: Periodic
  decision: Approved
  reviewer: carol@example.com
  requestedBy: dave@example.com
  reviewedAt: "${new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z')}"
  expiresAt: "${new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z')}"
  justification: "Benchmark scope: support-agent without masking"
`;

export interface SkSetup {
  policyDir: string;
  keyFile: string;
  issuer: LocalIssuer;
  /** support-bot: the support-agent example scope (masking on). */
  maskToken: string;
  /** bench-bot: the bench-nomask scope (policy + audit, no masking). */
  auditToken: string;
}

export async function setupScopekeeper(dir: string): Promise<SkSetup> {
  const policyDir = join(dir, 'policy');
  mkdirSync(policyDir, { recursive: true });
  await copyExamples(policyDir);
  writeFileSync(join(policyDir, 'bench-nomask.yaml'), NO_MASKING_SCOPE);
  const keyFile = join(dir, 'upstream-key');
  writeFileSync(keyFile, UPSTREAM_KEY, { mode: 0o600 });
  const issuer = await LocalIssuer.start();
  const maskToken = await issuer.mint({ sub: `system:serviceaccount:${NS}:support-bot`, ttlSeconds: 3600 });
  const auditToken = await issuer.mint({ sub: `system:serviceaccount:${NS}:bench-bot`, ttlSeconds: 3600 });
  return { policyDir, keyFile, issuer, maskToken, auditToken };
}

export interface SidecarProcess extends Started {
  port: number;
  adminPort: number;
  auditFile: string;
  /** ms from spawn to the first 200 from /readyz. */
  readyMs: number;
}

export async function startSidecar(
  name: string,
  core: number | undefined,
  sk: SkSetup,
  opts: { dir: string; port: number; adminPort: number; upstream: string; nodeFlags?: string[]; entry?: string; pollMs?: number },
): Promise<SidecarProcess> {
  const auditFile = join(opts.dir, `${name}-audit.jsonl`);
  const argv = [
    NODE,
    ...(opts.nodeFlags ?? []),
    // What the image runs (dist/, compiled) when run.ts built it; else the sources.
    opts.entry ?? process.env.SCOPEKEEPER_BENCH_ENTRY ?? join(REPO, 'bin/scopekeeper.js'),
    'sidecar',
    '--policy',
    sk.policyDir,
    '--namespace',
    NS,
    '--issuer',
    sk.issuer.issuer,
    '--upstream',
    opts.upstream,
    '--upstream-key-file',
    sk.keyFile,
    '--audit',
    `file:${auditFile}`,
    '--audit-required',
    '--listen',
    `127.0.0.1:${opts.port}`,
    '--admin',
    `127.0.0.1:${opts.adminPort}`,
  ];
  const t0 = performance.now();
  // Started as the injected container starts it: the heap bounds in NODE_OPTIONS, MALLOC_ARENA_MAX.
  // (SCOPEKEEPER_BENCH_NODE_OPTIONS, or MALLOC_ARENA_MAX in the bench's own env: other values, to try them.)
  const env = {
    MALLOC_ARENA_MAX: SIDECAR_MALLOC_ARENA_MAX,
    ...process.env,
    NODE_OPTIONS: process.env.SCOPEKEEPER_BENCH_NODE_OPTIONS ?? SIDECAR_NODE_OPTIONS,
  };
  const s = startPinned(name, core, argv, { cwd: REPO, env, log: join(opts.dir, `${name}.log`) });
  await waitFor(
    `${name} /readyz`,
    async () => {
      if (s.child.exitCode !== null) throw new Error(`${name} exited with ${s.child.exitCode}; see ${s.log}`);
      const r = await fetch(`http://127.0.0.1:${opts.adminPort}/readyz`);
      await r.arrayBuffer();
      return r.status === 200;
    },
    20_000,
    opts.pollMs ?? 5,
  );
  const readyMs = performance.now() - t0;
  return { ...s, port: opts.port, adminPort: opts.adminPort, auditFile, readyMs };
}
