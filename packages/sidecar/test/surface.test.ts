// Issue 14 class 2 over HTTP: every capability of a request is checked against the scope, the
// audit lists them all, and what the sidecar does not know is a 400 naming it.
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';
import { auditRecord } from './refusal.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld();
  await addScope(
    world,
    'mcp-ok',
    'mcp-bot',
    '  models: ["claude-sonnet-4-*"]\n  limits: {betas: ["later_field", "later-beta-*"]}\n  tools: {allow: ["Read", "mcp__crm__*"], mcpServers: ["https://crm.example.com/mcp"]}',
  );
  await addScope(world, 'plain', 'plain-bot', '  models: ["claude-sonnet-4-*"]');
  const token = await world.saToken('mcp-bot');
  await waitForPolicy(
    world,
    async () => (await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
  );
});
afterAll(() => world.close());

const msg = (o: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...o });

async function send(sa: string, body: string, headers: Record<string, string> = {}) {
  const before = world.stub!.total;
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await world.saToken(sa)}`, ...headers },
    body,
  });
  const json = (await res.json()) as { error?: { type: string; message: string } };
  const id = res.headers.get('x-scopekeeper-request-id');
  if (!id) throw new Error(`the answer (${res.status}) carries no x-scopekeeper-request-id`);
  // The refusal rule (refusal.ts): the request is finished once its audit record exists; only then
  // does the count of what the upstream received say anything.
  const record = (await auditRecord(world.auditFile, id)) as { tools?: string[]; decision?: string; reasons?: string[] };
  return { status: res.status, json, upstream: world.stub!.total - before, record };
}

/** `inner` in a tool result, in a tool result, … `depth` times. */
const deep = (depth: number, inner: unknown[]): unknown[] =>
  depth === 0 ? inner : [{ type: 'tool_result', tool_use_id: `toolu_${depth}`, content: deep(depth - 1, inner) }];

const mcp = { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://crm.example.com/mcp' }] };

describe('capabilities outside the tools array', () => {
  test('mcp_servers is refused (403) when the scope lists no MCP server, the upstream gets nothing, the audit names it', async () => {
    const r = await send('support-bot', msg(mcp), { 'anthropic-beta': 'mcp-client-2025-04-04' });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatchObject({
      type: 'permission_error',
      message: expect.stringContaining('rule spec.tools.mcpServers: MCP server crm (https://crm.example.com/mcp)'),
    });
    expect(r.upstream).toBe(0);
    expect(r.record.tools).toEqual(['mcp_server:crm', 'mcp__crm__*']);
    expect(r.record.reasons).toContain('McpServerNotAllowed');
  });

  test('mcp_servers passes when spec.tools.mcpServers lists it and the tools rules cover its tools', async () => {
    const r = await send('mcp-bot', msg(mcp), { 'anthropic-beta': 'mcp-client-2025-04-04' });
    expect(r.status).toBe(200);
    expect(r.upstream).toBe(1);
    expect(r.record.tools).toEqual(['mcp_server:crm', 'mcp__crm__*']);
  });

  test('an MCP server named like the listed one, at another URL, is refused (403; before: a scope listing crm by name let it through)', async () => {
    const evil = { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://evil.example/mcp' }] };
    const r = await send('mcp-bot', msg(evil), { 'anthropic-beta': 'mcp-client-2025-04-04' });
    expect(r.status).toBe(403);
    expect(r.json.error!.message).toContain('MCP server crm (https://evil.example/mcp) is not in [https://crm.example.com/mcp]');
    expect(r.upstream).toBe(0);
  });

  test('an MCP server with a field or type the sidecar does not know is refused, nothing forwarded (before: its url was judged and the rest went on)', async () => {
    const other = { mcp_servers: [{ ...mcp.mcp_servers[0], server_url: 'https://evil.example/mcp' }] };
    const r = await send('mcp-bot', msg(other), { 'anthropic-beta': 'mcp-client-2025-04-04' });
    expect(r.json.error!.message).toContain(`the request's field "mcp_servers[].server_url" is not one scopekeeper knows`);
    expect([r.status, r.upstream, r.record.reasons]).toEqual([400, 0, ['UnknownRequestField']]);
    const typed = { mcp_servers: [{ ...mcp.mcp_servers[0], type: 'connector' }] };
    const t = await send('mcp-bot', msg(typed), { 'anthropic-beta': 'mcp-client-2025-04-04' });
    expect(t.json.error!.message).toContain(`the request's MCP server type "connector" is not one scopekeeper knows`);
    expect([t.status, t.upstream]).toEqual([400, 0]);
  });

  test('an MCP server URL that parsers read differently is a 400 naming the field, nothing forwarded', async () => {
    const split = { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://crm.example.com\\@evil.example/mcp' }] };
    const r = await send('mcp-bot', msg(split), { 'anthropic-beta': 'mcp-client-2025-04-04' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining('mcp_servers.0.url is not written in its canonical form'),
    });
    expect(r.upstream).toBe(0);
  });

  test.each([
    ['a server tool', { tools: [{ type: 'web_fetch_20250910', name: 'web_fetch' }] }, 'server tool web_fetch'],
    [
      'a server tool renamed to an allowed name',
      { tools: [{ type: 'code_execution_20250825', name: 'Read' }] },
      'server tool code_execution',
    ],
    ["another agent's container", { container: 'cntr_011CQ' }, 'container reuse container'],
    ['a skill', { container: { skills: [{ type: 'anthropic', skill_id: 'xlsx' }] } }, 'skill skill:xlsx'],
    [
      'a file reference',
      { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'file_011' } }] }] },
      'file reference file:file_011',
    ],
    [
      'a file inside a document whose source is content (before: 200, not looked at)',
      {
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'document',
                source: { type: 'content', content: [{ type: 'image', source: { type: 'file', file_id: 'file_012' } }] },
              },
            ],
          },
        ],
      },
      'file reference file:file_012',
    ],
    [
      'a file in a tool result six results deep (before: 200, not looked at)',
      { messages: [{ role: 'user', content: deep(6, [{ type: 'image', source: { type: 'file', file_id: 'file_013' } }]) }] },
      'file reference file:file_013',
    ],
    [
      'a file in a result whose content is an object (before: 200, not looked at)',
      {
        messages: [
          { role: 'user', content: 'fetch it' },
          {
            role: 'assistant',
            content: [
              {
                type: 'web_fetch_tool_result',
                tool_use_id: 'srvtoolu_1',
                content: {
                  type: 'web_fetch_result',
                  url: 'https://e.com',
                  content: { type: 'document', source: { type: 'file', file_id: 'file_014' } },
                },
              },
            ],
          },
          { role: 'user', content: 'summarise it' },
        ],
      },
      'file reference file:file_014',
    ],
  ])('%s is checked by the tools rules (403, nothing forwarded)', async (_n, extra, named) => {
    const r = await send('support-bot', msg(extra));
    expect(r.status).toBe(403);
    expect(r.json.error!.message).toContain(named);
    expect(r.upstream).toBe(0);
  });

  test("a fallback's own max_tokens and thinking are held to spec.limits (403, nothing forwarded; before: 200, forwarded)", async () => {
    // support-agent: maxTokens 8192, thinking false; the request's own max_tokens is within it
    const fallbacks = [{ model: 'claude-haiku-4-5', max_tokens: 64000, thinking: { type: 'enabled', budget_tokens: 32000 } }];
    const r = await send('support-bot', msg({ fallbacks }), { 'anthropic-beta': 'server-side-fallback-2026-07-01' });
    expect([r.status, r.upstream, r.record.reasons]).toEqual([403, 0, ['MaxTokensExceeded', 'ThinkingNotAllowed']]);
    expect(r.json.error!.message).toContain('max_tokens 64000 is over the limit of 8192');
  });
});

describe('what the sidecar does not know', () => {
  test.each([
    ['a top-level field', msg({ later_field: 1 }), {}, 'field "later_field"'],
    ['an anthropic-beta value', msg(), { 'anthropic-beta': 'files-api-2025-04-14,teleport-2099-01-01' }, 'beta "teleport-2099-01-01"'],
    ['a tool type', msg({ tools: [{ type: 'teleport_20991231', name: 'teleport' }] }), {}, 'tool type "teleport_20991231"'],
    ['a content block type', msg({ messages: [{ role: 'user', content: [{ type: 'hologram' }] }] }), {}, 'content block type "hologram"'],
  ])('%s is a 400 invalid_request_error that names it', async (_n, body, headers, named) => {
    const r = await send('plain-bot', body, headers);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining(named) });
    expect(r.json.error!.message).toContain('spec.limits.betas');
    expect(r.upstream).toBe(0);
  });

  test('a web search conversation sent back whole passes: its search results are not content blocks (before: 400 "web_search_result")', async () => {
    const history = [
      { role: 'user', content: 'find it' },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
          {
            type: 'web_search_tool_result',
            tool_use_id: 'srvtoolu_1',
            content: [{ type: 'web_search_result', url: 'https://e.com', title: 't', encrypted_content: 'E', page_age: null }],
          },
          {
            type: 'text',
            text: 'found',
            citations: [{ type: 'web_search_result_location', url: 'https://e.com', title: 't', encrypted_index: 'i', cited_text: 'c' }],
          },
        ],
      },
      { role: 'user', content: 'thanks' },
    ];
    const r = await send('plain-bot', msg({ messages: history }));
    expect(r.json).toMatchObject({ type: 'message' });
    expect(r.status).toBe(200);
    expect(r.upstream).toBe(1);
  });

  test('passes when the scope lists it in spec.limits.betas', async () => {
    const r = await send('mcp-bot', msg({ later_field: 1 }), { 'anthropic-beta': 'later-beta-2099-01-01' });
    expect(r.json).toMatchObject({ type: 'message' });
    expect(r.status).toBe(200);
    expect(r.upstream).toBe(1);
  });
});
