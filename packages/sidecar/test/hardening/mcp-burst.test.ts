// A burst on an MCP endpoint: the official MCP SDK's clients, 10 sessions with 200 tools/call
// each in flight at once (2,000), against the CRM server behind the sidecar, event-stream and
// JSON answers. Every call ends (a result, or an error the client raises: 529 past the
// concurrency limit), a result is masked as one alone is, every JSON-RPC message gets one audit
// record, and the process serves on with its heap back near where it started.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startWorld, type World } from '../../src/testing/world.ts';
import { McpCrm, CRM_CUSTOMER } from '../../src/testing/mcp-crm.ts';
import { addCrmScope, auditRecords, crmScopeLoaded } from '../mcp-helpers.ts';
import { assertHealthy, recordAttack, settledHeap } from './support.ts';

const SUITE = 'bursts and overload';
const SESSIONS = 10;
const PER_SESSION = 200;

describe.each([
  ['event-stream answers', false],
  ['JSON answers', true],
])('MCP tools/call at once on an endpoint (%s)', (mode, json) => {
  let world: World;
  let crm: McpCrm;
  beforeAll(async () => {
    world = await startWorld({ flags: { upstreamConnections: 16, maxConcurrent: 16, maxQueued: 32, maxQueueWait: 1 } });
    crm = await new McpCrm({ json }).start();
    await addCrmScope(world, 'crm-agent', 'crm-bot', crm.url);
    await crmScopeLoaded(world, 'crm-bot');
  });
  afterAll(async () => {
    await world.close();
    await crm.close();
  });

  test(`${SESSIONS * PER_SESSION} calls from ${SESSIONS} sessions: every one ends, results masked, one audit record each, the process serves on`, async () => {
    const token = await world.saToken('crm-bot');
    const clients = await Promise.all(
      Array.from({ length: SESSIONS }, async () => {
        const client = new Client({ name: 'burst', version: '1.0.0' });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${world.url}/services/crm/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          }),
        );
        return client;
      }),
    );
    try {
      const before = await settledHeap();
      const posts = async () => (await auditRecords(world)).filter((r) => r.method === 'POST' && r.path === '/services/crm/mcp').length;
      const callsBefore = await posts();
      const outcomes = await Promise.all(
        clients.flatMap((client) =>
          Array.from({ length: PER_SESSION }, () =>
            client.callTool({ name: 'lookup_customer', arguments: { id: '42' } }).then(
              (r) => ({ ok: true as const, text: JSON.stringify(r) }),
              (e: unknown) => ({ ok: false as const, text: String((e as Error).message) }),
            ),
          ),
        ),
      );
      const results = outcomes.filter((o) => o.ok);
      const failures = outcomes.filter((o) => !o.ok);
      const why = new Map<string, number>();
      for (const f of failures) {
        const w = f.text.replace(/req_sk_[\w-]+/g, 'req_sk_…').slice(0, 400);
        why.set(w, (why.get(w) ?? 0) + 1);
      }
      recordAttack({
        suite: SUITE,
        attack: `${outcomes.length} MCP tools/call at once (${mode}) from ${SESSIONS} sessions of the MCP SDK's client`,
        expected: 'every call ends: a masked result, or an error the client raises (529 past the limit); one audit record each',
        status: 200,
        note: `${results.length} results; ${[...why].map(([w, n]) => `${n} × ${w}`).join('; ')}`,
      });
      expect(results.length).toBeGreaterThan(0);
      // What fails, fails for the limit (the client sees the 529), nothing else.
      expect([...why.keys()].filter((w) => !/529|overloaded/i.test(w))).toEqual([]);
      // Masked under load as one call alone is.
      for (const r of results) {
        expect(r.text).not.toContain(CRM_CUSTOMER.email);
        expect(r.text).not.toContain(CRM_CUSTOMER.ssn);
        expect(r.text).toContain('[MASKED:email]');
      }
      // One record per call, refused ones too (the audit log writes in batches; a call refused at
      // the concurrency limit is recorded before its body is read, so without its JSON-RPC method).
      let calls = 0;
      for (let i = 0; i < 300 && calls < callsBefore + outcomes.length; i++) {
        calls = await posts();
        if (calls < callsBefore + outcomes.length) await new Promise((r) => setTimeout(r, 100));
      }
      expect(calls - callsBefore).toBe(outcomes.length);
      await assertHealthy(world);
      expect(world.sidecar.openRequests).toBeLessThanOrEqual(SESSIONS); // (each session's GET stream may stay open)
      const after = await settledHeap();
      expect(after - before).toBeLessThan(48 * 1024 * 1024);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 120_000);
});
