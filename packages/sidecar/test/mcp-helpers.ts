// Shared by the MCP integration tests: a scope with a protocol: mcp endpoint for a CRM service,
// and approving a held call the way a reviewer would (the review file in local mode).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { World } from '../src/testing/world.ts';
import { addScope } from './helpers.ts';
import { until } from '@scopekeeper/kube/testing/until';

/** `endpointExtra`: more fields of the crm endpoint (e.g. `paths: [...]`), one line. */
export async function addCrmScope(world: World, name: string, sa: string, crmUrl: string, extra = '', endpointExtra = ''): Promise<void> {
  await addScope(
    world,
    name,
    sa,
    `  models: ["claude-sonnet-4-*", "claude-haiku-*"]
  limits: {maxTokens: 64000, streaming: true, thinking: true}
  tools:
    allow: ["Read", "Grep", "mcp__crm__*"]
    deny: ["mcp__crm__delete_*", "mcp__crm__export_*"]
  data:
    mask: [email, phone]
  endpoints:
    - name: crm
      url: "${crmUrl}"
      protocol: mcp
      maskFields: ["$.customer.ssn"]
      mcp: {resources: ["crm://customers/*"], prompts: ["summary"]}
${endpointExtra ? `      ${endpointExtra}\n` : ''}  approval:
    requiredFor: {tools: ["mcp__crm__update_*"]}
    approvers: [{kind: Group, name: security-leads}]
    grantDuration: 1h
${extra}`,
  );
}

/** Approves the pending JustInTime review `<ns>/<name>` as carol. */
export async function approve(world: World, ref: string): Promise<void> {
  const file = join(world.policyDir, `${ref.split('/')[1]}.yaml`);
  const review = parseAllDocuments(await readFile(file, 'utf8'))[0]!.toJS() as { spec: Record<string, unknown> };
  const now = new Date();
  Object.assign(review.spec, {
    decision: 'Approved',
    reviewer: 'carol@example.com',
    reviewedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
    justification: 'Approved in the test',
  });
  await writeFile(file, stringify(review));
}

export async function auditRecords(world: World): Promise<Record<string, unknown>[]> {
  return (await readFile(world.auditFile, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits until `sa`'s scope with the crm endpoint is loaded (the policy folder reloads asynchronously): its DELETE is no longer 403. */
export async function crmScopeLoaded(world: World, sa: string): Promise<void> {
  const token = await world.saToken(sa);
  await until(
    `the scope of ${sa} to load`,
    async () =>
      (await fetch(`${world.url}/services/crm/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status !== 403,
    10_000,
    50,
  );
}
