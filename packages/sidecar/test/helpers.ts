// Shared by the sidecar's integration tests.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { createLogger, type Logger } from '../src/log.ts';
import type { World } from '../src/testing/world.ts';

/** A logger whose lines the test can read back (to prove no token reaches a log). */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('debug', { write: (line: string) => lines.push(line) }), lines };
}

/** An extra scope + valid review for one service account, written into the world's policy folder. */
export async function addScope(world: World, name: string, sa: string, spec: string, review: { expired?: boolean } = {}): Promise<void> {
  const now = Date.now();
  const reviewedAt = new Date(now - (review.expired ? 40 : 1) * 86_400_000).toISOString();
  const expiresAt = new Date(now + (review.expired ? -10 : 30) * 86_400_000).toISOString();
  await writeFile(
    join(world.policyDir, `${name}.yaml`),
    `apiVersion: scopekeeper.dev/v1alpha1
kind: ModelScope
metadata: {name: ${name}, namespace: team-a}
spec:
  subjects: [{kind: ServiceAccount, name: ${sa}}]
${spec}
  review: {period: 90d, reviewers: [{kind: Group, name: security-leads}]}
---
apiVersion: scopekeeper.dev/v1alpha1
kind: AccessReview
metadata: {name: ${name}-review, namespace: team-a}
spec:
  scopeRef: {name: ${name}}
  type: Periodic
  decision: Approved
  reviewer: carol@example.com
  reviewedAt: "${reviewedAt}"
  expiresAt: "${expiresAt}"
  justification: test scope
`,
  );
}

/** Waits until the sidecar allows `token` (the file source reloads asynchronously). */
export async function waitForPolicy(world: World, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`policy in ${world.policyDir} did not load`);
}

/** A GET whose path goes out byte for byte (no URL normalisation). */
export function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const u = new URL(url);
  const path = url.slice(u.origin.length);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
