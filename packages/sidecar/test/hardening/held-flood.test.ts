// A caller that floods held requests, each of a new shape (a made-up model name, a made-up
// tool under an approval glob), must not make the sidecar write a Pending review for each:
// in local mode every one is a file each reload of the policy folder parses, in cluster mode
// an object every sidecar and the operator of the namespace holds (policy/held.ts).
import { readdir } from 'node:fs/promises';
import { startWorld, type World } from '../../src/testing/world.ts';
import { McpCrm } from '../../src/testing/mcp-crm.ts';
import { MAX_PENDING_PER_CALLER } from '../../src/policy/held.ts';
import { addCrmScope, approve, auditRecords } from '../mcp-helpers.ts';
import { until } from '@scopekeeper/kube/testing/until';
import { anthropicError, errorTypeOf, recordAttack } from './support.ts';

const SUITE = 'held requests';
const FLOOD = 200;

let world: World;
let crm: McpCrm;

beforeAll(async () => {
  world = await startWorld();
  crm = await new McpCrm({ json: true }).start();
  await addCrmScope(world, 'crm-flood', 'crm-flood-bot', crm.url);
});
afterAll(async () => {
  await world.close();
  await crm.close();
});

const reviewFiles = async (prefix: string) => (await readdir(world.policyDir)).filter((f) => f.startsWith(`${prefix}-jit-`));

function ask(token: string, model: string): Promise<Response> {
  return fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

test(`${FLOOD} held Messages requests for made-up models: ${MAX_PENDING_PER_CALLER} reviews written, every request answered and recorded`, async () => {
  const token = await world.saToken('ops-bot');
  const before = await reviewFiles('ops-agent');
  const auditBefore = (await auditRecords(world)).length;
  const answers = await Promise.all(
    Array.from({ length: FLOOD }, async (_, i) => {
      const res = await ask(token, `claude-opus-4-5-x${i}`);
      return { status: res.status, approval: res.headers.get('x-scopekeeper-approval'), body: await res.text() };
    }),
  );
  const written = (await reviewFiles('ops-agent')).filter((f) => !before.includes(f));
  recordAttack({
    suite: SUITE,
    attack: `${FLOOD} concurrent held requests, each for a new model name (claude-opus-4-5-x0, -x1, …)`,
    expected: `403 each; at most ${MAX_PENDING_PER_CALLER} Pending reviews written for the caller`,
    status: answers[0]!.status,
    errorType: errorTypeOf(answers[0]!.body),
    note: `${written.length} reviews written`,
  });
  expect(written).toHaveLength(MAX_PENDING_PER_CALLER);
  expect(answers.every((a) => a.status === 403 && errorTypeOf(a.body) === 'permission_error')).toBe(true);
  const named = answers.filter((a) => a.approval !== null);
  expect(named).toHaveLength(MAX_PENDING_PER_CALLER);
  expect(new Set(named.map((a) => `${a.approval!.split('/')[1]}.yaml`))).toEqual(new Set(written));
  const turned = answers.filter((a) => a.approval === null);
  expect(anthropicError(turned[0]!.body).error.message).toContain(
    `(the pending review could not be created: ServiceAccount team-a/ops-bot already has ${MAX_PENDING_PER_CALLER} Pending JustInTime AccessReviews for ModelScope ops-agent`,
  );
  expect(anthropicError(turned[0]!.body).error.message).toMatch(
    /ask an approver to decide them, or delete those no longer needed, then retry\)$/,
  );
  // One audit record per request; only those with a review name it.
  const records = await until(
    'the audit records',
    async () => {
      const all = (await auditRecords(world)).slice(auditBefore);
      return all.length >= FLOOD && all;
    },
    10_000,
    50,
  );
  expect(records).toHaveLength(FLOOD);
  expect(records.every((r) => r.decision === 'approval-required')).toBe(true);
  expect(records.filter((r) => r.approval !== undefined)).toHaveLength(MAX_PENDING_PER_CALLER);

  // Once the policy shows them, a refusal names some of them.
  const listed = await until(
    'the written reviews to load',
    async () => {
      const body = await (await ask(token, 'claude-opus-4-5-one-more')).text();
      return /AccessReviews for ModelScope ops-agent \(team-a\/ops-agent-jit-/.test(body) && body;
    },
    10_000,
    50,
  );
  expect(anthropicError(listed).error.message).toMatch(
    /\(team-a\/ops-agent-jit-[0-9a-f]{16}, team-a\/ops-agent-jit-[0-9a-f]{16}, team-a\/ops-agent-jit-[0-9a-f]{16}, …\)/,
  );
  // A waiting shape asked again still names its review; once a reviewer decides one, there is room for one more.
  const waiting = named[0]!.approval!;
  const model = `claude-opus-4-5-x${answers.indexOf(named[0]!)}`;
  expect((await ask(token, model)).headers.get('x-scopekeeper-approval')).toBe(waiting);
  await approve(world, waiting);
  await until('the approval to load', async () => (await ask(token, model)).status === 200, 10_000, 50);
  const fresh = await ask(token, 'claude-opus-4-5-fresh');
  await fresh.arrayBuffer();
  expect(fresh.status).toBe(403);
  expect(fresh.headers.get('x-scopekeeper-approval')).toMatch(/^team-a\/ops-agent-jit-[0-9a-f]{16}$/);
  expect(named.map((a) => a.approval)).not.toContain(fresh.headers.get('x-scopekeeper-approval'));
});

test('a JSON-RPC batch of held MCP calls, each to a new tool name under the approval glob: the bound holds there too', async () => {
  const token = await world.saToken('crm-flood-bot');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const url = `${world.url}/services/crm/mcp`;
  const init = await until(
    'the crm-flood scope to load',
    async () => {
      const r = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'flood', version: '1' } },
        }),
      });
      await r.arrayBuffer();
      return r.status === 200 && r;
    },
    10_000,
    50,
  );
  const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
  const batch = Array.from({ length: 50 }, (_, i) => ({
    jsonrpc: '2.0',
    id: i + 1,
    method: 'tools/call',
    params: { name: `update_field_${i}`, arguments: {} },
  }));
  const res = await fetch(url, { method: 'POST', headers: { ...headers, ...session }, body: JSON.stringify(batch) });
  const answers = (await res.json()) as { id: number; error: { code: number; message: string; data?: { approval?: string } } }[];
  const written = await reviewFiles('crm-flood');
  recordAttack({
    suite: SUITE,
    attack: 'one JSON-RPC batch of 50 held tools/call, each to a new mcp__crm__update_* name',
    expected: `-32011 each; at most ${MAX_PENDING_PER_CALLER} Pending reviews written`,
    status: res.status,
    note: `${written.length} reviews written`,
  });
  expect(written).toHaveLength(MAX_PENDING_PER_CALLER);
  expect(answers).toHaveLength(50);
  expect(answers.every((a) => a.error.code === -32011)).toBe(true);
  expect(answers.filter((a) => a.error.data?.approval !== undefined)).toHaveLength(MAX_PENDING_PER_CALLER);
  const turned = answers.find((a) => a.error.data?.approval === undefined)!;
  expect(turned.error.message).toContain(`already has ${MAX_PENDING_PER_CALLER} Pending JustInTime AccessReviews for ModelScope crm-flood`);
  expect(crm.received.filter((m) => m.tool?.startsWith('update_field_'))).toEqual([]);
});
