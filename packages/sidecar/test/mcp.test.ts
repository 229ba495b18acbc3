// MCP through the sidecar: the official MCP SDK's client and server on both sides, and raw
// JSON-RPC for what a well-behaved client would never send.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startWorld, type World } from '../src/testing/world.ts';
import { McpCrm, CRM_CUSTOMER } from '../src/testing/mcp-crm.ts';
import { addCrmScope, approve, auditRecords, crmScopeLoaded } from './mcp-helpers.ts';
import { until } from '@scopekeeper/kube/testing/until';
import { expectRefusal } from './refusal.ts';

let world: World;
let crm: McpCrm;
let crmJson: McpCrm;

beforeAll(async () => {
  world = await startWorld();
  crm = await new McpCrm().start();
  crmJson = await new McpCrm({ json: true }).start();
  await addCrmScope(world, 'crm-agent', 'crm-bot', `${crm.url}`);
  await addCrmScope(world, 'crm-json', 'crm-json-bot', `${crmJson.url}`);
  await crmScopeLoaded(world, 'crm-json-bot');
});
afterAll(async () => {
  await world.close();
  await crm.close();
  await crmJson.close();
});

async function connect(sa: string): Promise<Client> {
  const client = new Client({ name: 'test', version: '1.0.0' });
  const token = await world.saToken(sa);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${world.url}/services/crm/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const rpcError = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(McpError);
  return e as McpError;
};

describe.each([
  ['event-stream answers', 'crm-bot', () => crm],
  ['JSON answers', 'crm-json-bot', () => crmJson],
])('the MCP SDK through the sidecar (%s)', (_mode, sa, server) => {
  let client: Client;
  beforeAll(async () => {
    client = await connect(sa);
  });
  afterAll(() => client.close());

  test('tools/list shows only the tools the scope allows', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['lookup_customer', 'update_customer_email']);
  });

  test('an allowed tool call comes back masked: detectors everywhere, maskFields on structuredContent and its JSON text', async () => {
    const r = await client.callTool({ name: 'lookup_customer', arguments: { id: '42' } });
    expect(r.structuredContent).toEqual({
      customer: { ...CRM_CUSTOMER, email: '[MASKED:email]', phone: '[MASKED:phone]', ssn: '[MASKED:field]' },
    });
    const text = (r.content as { text: string }[])[0]!.text;
    expect(text).not.toContain(CRM_CUSTOMER.email);
    expect(text).not.toContain(CRM_CUSTOMER.ssn);
    expect(JSON.parse(text).customer.ssn).toBe('[MASKED:field]');
  });

  test('a denied tool is refused with a JSON-RPC error naming scope and rule, and never reaches the server', async () => {
    const before = server().received.length;
    const e = await rpcError(client.callTool({ name: 'delete_customer', arguments: { id: '42' } }));
    expect(e.code).toBe(-32010);
    expect(e.message).toContain('rule spec.tools.deny: tool mcp__crm__delete_customer is denied');
    expect(
      server()
        .received.slice(before)
        .some((m) => m.tool === 'delete_customer'),
    ).toBe(false);
  });

  test('resources: listed and read within mcp.resources; others hidden and refused', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(['crm://customers/42']);
    const read = await client.readResource({ uri: 'crm://customers/42' });
    expect((read.contents[0] as { text: string }).text).not.toContain(CRM_CUSTOMER.email);
    const e = await rpcError(client.readResource({ uri: 'crm://admin/keys' }));
    expect(e.message).toContain('rule spec.endpoints[crm].mcp.resources');
  });

  test('prompts: only mcp.prompts', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['summary']);
    expect((await rpcError(client.getPrompt({ name: 'internal-notes' }))).message).toContain('mcp.prompts');
  });
});

test('a held tool call waits for a person: JSON-RPC error naming the review, then allowed once approved', async () => {
  const client = await connect('crm-bot');
  const e = await rpcError(client.callTool({ name: 'update_customer_email', arguments: { id: '42', email: 'new@example.com' } }));
  expect(e.code).toBe(-32011);
  const ref = (e.data as { approval: string }).approval;
  expect(ref).toMatch(/^team-a\/crm-agent-jit-[0-9a-f]{16}$/);
  expect(e.message).toContain(`approve the pending JustInTime AccessReview ${ref}`);
  expect(crm.received.some((m) => m.tool === 'update_customer_email')).toBe(false);
  await approve(world, ref);
  const r = await until(
    'the approval to load',
    () => client.callTool({ name: 'update_customer_email', arguments: { id: '42', email: 'new@example.com' } }).catch(() => undefined),
    10_000,
    50,
  );
  expect((r.content as { text: string }[])[0]!.text).toBe('updated 42');
  await client.close();
});

describe('raw JSON-RPC', () => {
  let token: string;
  let session: string;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${world.url}/services/crm/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
        'mcp-protocol-version': '2025-06-18',
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  beforeAll(async () => {
    token = await world.saToken('crm-json-bot');
    const init = await fetch(`${world.url}/services/crm/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    expect([init.status, init.status === 200 ? '' : await init.text()]).toEqual([200, '']);
    session = init.headers.get('mcp-session-id')!;
    expect(session).toBeTruthy();
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
  });

  test('a batch is checked entry by entry: allowed entries reach the server, the others get their own errors', async () => {
    const before = crmJson.received.length;
    const r = await post([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'lookup_customer', arguments: { id: '7' } } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'delete_customer', arguments: { id: '7' } } },
      { jsonrpc: '2.0', id: 3, method: 'vendor/secret' },
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: {} },
    ]);
    const answers = (await r.json()) as { id: number; error?: { code: number }; result?: unknown }[];
    const byId = Object.fromEntries(answers.map((a) => [a.id, a]));
    expect(byId[1]!.result).toBeDefined();
    expect([byId[2]!.error?.code, byId[3]!.error?.code, byId[4]!.error?.code]).toEqual([-32010, -32010, -32602]);
    expect(crmJson.received.slice(before).map((m) => m.tool ?? m.method)).toEqual(['lookup_customer']);
  });

  test('malformed, empty-batch and oversized bodies are refused before the server', async () => {
    const server = {
      get total() {
        return crmJson.received.length;
      },
    };
    const check = expectRefusal(world.auditFile, world.stub!, server);
    const bad = await post('{"jsonrpc":"2.0",');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const empty = await post([]);
    expect(empty.status).toBe(400);
    const big = await post({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: { name: 'lookup_customer', arguments: { id: 'x'.repeat(5 * 1024 * 1024) } },
    });
    expect(big.status).toBe(413);
    for (const r of [bad, empty, big]) await check.refused(r); // finished, and nothing reached the server
  });

  test('a tool name given twice (a denied tool first, an allowed one last) is refused before the server', async () => {
    const server = {
      get total() {
        return crmJson.received.length;
      },
    };
    const check = expectRefusal(world.auditFile, world.stub!, server);
    // JSON.parse reads the last copy; a server that read the first would call delete_customer.
    const r = await post(
      '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"delete_customer","arguments":{"id":"7"},"name":"lookup_customer"}}',
    );
    expect(r.status).toBe(400);
    const answer = (await r.json()) as { error: { code: number; message: string } };
    expect(answer.error.code).toBe(-32600);
    expect(answer.error.message).toContain('repeats the key "name" in one object');
    await check.refused(r);
  });

  test('another caller cannot use this session', async () => {
    const other = await world.saToken('crm-bot');
    const r = await post({ jsonrpc: '2.0', id: 5, method: 'tools/list' }, { authorization: `Bearer ${other}` });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain('opened by another caller');
  });

  test('without a token: 401, nothing forwarded', async () => {
    const check = expectRefusal(world.auditFile, world.stub!, {
      get total() {
        return crmJson.received.length;
      },
    });
    const r = await fetch(`${world.url}/services/crm/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(r.status).toBe(401);
    await check.refused(r);
  });

  test('one audit record per JSON-RPC message: method, tool, arguments hash, decision, masked counts, MCP session id', async () => {
    await post({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'lookup_customer', arguments: { id: '11' } } });
    const rec = await until(
      'the audit record',
      async () => (await auditRecords(world)).find((r) => r.mcpId === '11' && r.mcpSessionId === session),
      10_000,
      50,
    );
    expect(rec).toMatchObject({
      route: 'mcp',
      mcpMethod: 'tools/call',
      mcpTool: 'mcp__crm__lookup_customer',
      decision: 'allow',
      scope: 'crm-json',
      masked: { email: 2, phone: 2, field: 2 },
      toolsUsed: ['mcp__crm__lookup_customer'],
    });
    expect(rec.mcpArgsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rec)).not.toContain('"11"}'); // the arguments themselves are not recorded
    const denied = (await auditRecords(world)).filter((r) => r.mcpTool === 'mcp__crm__delete_customer');
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((r) => r.decision === 'deny' && (r.reasons as string[])[0] === 'ToolDenied')).toBe(true);
  });
});

test('with --audit-required and the audit sink down, MCP calls are refused (503) and nothing reaches the server', async () => {
  let failing = true;
  const sink = createServer((req, res) => {
    req.resume();
    req.once('end', () => void res.writeHead(failing ? 503 : 200).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const down = await startWorld({
    flags: { audit: [`http://127.0.0.1:${(sink.address() as AddressInfo).port}/audit`], auditRequired: true },
  });
  const server = await new McpCrm({ json: true }).start();
  try {
    await addCrmScope(down, 'crm-agent', 'crm-bot', server.url);
    const token = await down.saToken('crm-bot');
    const post = () =>
      fetch(`${down.url}/services/crm/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
    // The first answers come back while their records wait; once the sink is known to fail, refusals.
    const refused = await until(
      'the audit sink failure to be noticed',
      async () => {
        const r = await post();
        return r.status === 503 ? r : (await r.arrayBuffer(), undefined);
      },
      10_000,
      50,
    );
    expect(refused.headers.get('x-scopekeeper-decision')).toBe('error');
    expect(((await refused.json()) as { error: { code: number; message: string } }).error).toMatchObject({
      code: -32013,
      message: expect.stringContaining('--audit-required'),
    });
    const before = server.received.length;
    expect((await post()).status).toBe(503);
    expect(server.received.length).toBe(before);
  } finally {
    failing = false; // the queued records drain, so the sidecar can stop
    await down.close();
    await server.close();
    sink.close();
  }
});
