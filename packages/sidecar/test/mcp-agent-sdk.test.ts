// The real Claude Agent SDK reaching a real MCP server (official MCP SDK) through the sidecar:
// the model stand-in answers with a tool_use, the SDK calls the tool over MCP, the sidecar
// decides, masks and audits the call, and the next turn completes.
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query, type McpHttpServerConfig } from '@anthropic-ai/claude-agent-sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startWorld, type World } from '../src/testing/world.ts';
import { McpCrm, CRM_CUSTOMER } from '../src/testing/mcp-crm.ts';
import { approve, auditRecords, crmScopeLoaded } from './mcp-helpers.ts';
import { until } from '@scopekeeper/kube/testing/until';
import { addScope } from './helpers.ts';
import { expectRefusalWhere, type Upstream } from './refusal.ts';

/** Counts the calls of one tool the CRM server received (what got past the sidecar). */
const callsOf = (tool: string): Upstream => ({
  get total() {
    return crm.received.filter((m) => m.tool === tool).length;
  },
});
/** Counts the Messages requests the model API received that carry a tool result (a second turn). */
const toolResultTurns = (): Upstream => ({
  get total() {
    return world.stub!.received.filter((r) => r.url.startsWith('/v1/messages') && r.body.includes('tool_result')).length;
  },
});

let world: World;
let crm: McpCrm;

// The SDK offers its own tools too, so the scope names what it denies rather than what it allows.
const scope = (deny: string[]) => `  models: ["claude-sonnet-4-*"]
  limits: {maxTokens: 64000, streaming: true, thinking: true}
  tools:
    deny: [${deny.map((d) => `"${d}"`).join(', ')}]
  data:
    mask: [email, phone]
  endpoints:
    - {name: crm, url: "${crm.url}", protocol: mcp, maskFields: ["$.customer.ssn"]}
  approval:
    requiredFor: {tools: ["mcp__crm__update_*"]}
    approvers: [{kind: Group, name: security-leads}]
    grantDuration: 1h`;

beforeAll(async () => {
  world = await startWorld();
  crm = await new McpCrm().start();
  await addScope(world, 'agent-crm', 'agent-crm-bot', scope(['mcp__crm__export_*']));
  await crmScopeLoaded(world, 'agent-crm-bot');
});
afterAll(async () => {
  await world.close();
  await crm.close();
});

/** Prints the Authorization header from the token file (the README's headersHelper). */
const HEADERS_HELPER = `sh -c 'printf "{\\"authorization\\":\\"Bearer %s\\"}" "$(cat "$SCOPEKEEPER_TOKEN_FILE")"'`;

interface Turn {
  /** The SDK session id, also sent to the MCP server as x-claude-code-session-id (README: mcpServers). */
  sessionId: string;
  result: string;
  isError: boolean;
  /** The tools of the first Messages request, as the SDK offered them to the model. */
  offered: string[];
}

async function agentTurn(prompt: string): Promise<Turn> {
  const config = await mkdtemp(join(tmpdir(), 'agent-sdk-mcp-'));
  const token = await world.saToken('agent-crm-bot');
  // As in an injected pod: the projected token in a file ($SCOPEKEEPER_TOKEN_FILE), read by the
  // SDK's headersHelper each time it connects (the README's mcpServers entry).
  const tokenFile = join(config, 'token');
  await writeFile(tokenFile, token, { mode: 0o600 });
  const before = world.stub!.received.length;
  const env = {
    ...process.env,
    SCOPEKEEPER_TOKEN_FILE: tokenFile,
    ANTHROPIC_BASE_URL: world.url,
    ANTHROPIC_AUTH_TOKEN: token,
    ANTHROPIC_API_KEY: '',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CONFIG_DIR: config,
    HOME: config,
  };
  const turn: Turn = { sessionId: randomUUID(), result: '', isError: true, offered: [] };
  const stream = query({
    prompt,
    options: {
      sessionId: turn.sessionId,
      model: 'claude-sonnet-4-6',
      env,
      cwd: config,
      settingSources: [],
      tools: [],
      maxTurns: 3,
      mcpServers: {
        crm: {
          type: 'http',
          url: `${world.url}/services/crm/mcp`,
          headers: { 'x-claude-code-session-id': turn.sessionId },
          headersHelper: HEADERS_HELPER,
        } as McpHttpServerConfig,
      },
      allowedTools: [
        'mcp__crm__lookup_customer',
        'mcp__crm__update_customer_email',
        'mcp__crm__delete_customer',
        'mcp__crm__export_all_customers',
      ],
    },
  });
  try {
    for await (const m of stream) {
      if (m.type === 'result') {
        turn.isError = m.is_error;
        turn.result = 'result' in m ? m.result : JSON.stringify(m);
      }
    }
  } catch (e) {
    // The SDK ends a turn whose model request was refused by throwing: its message is the result.
    turn.result = (e as Error).message;
  }
  const first = world.stub!.received.slice(before).find((r) => r.url.startsWith('/v1/messages?'));
  turn.offered = ((JSON.parse(first!.body.toString()) as { tools?: { name: string }[] }).tools ?? []).map((t) => t.name);
  return turn;
}

test('a tool call comes back masked and the next turn completes; tools/list was filtered', async () => {
  const t = await agentTurn('STUB:tool_use:mcp__crm__lookup_customer {"id":"42"}');
  expect(t.isError).toBe(false);
  // The model's second turn reports the tool result it was given: masked before the model saw it.
  expect(t.result).toContain('Tool result:');
  expect(t.result).toContain('[MASKED:field]');
  expect(t.result).not.toContain(CRM_CUSTOMER.ssn);
  expect(t.result).not.toContain(CRM_CUSTOMER.email);
  const toModel = world
    .stub!.received.filter((r) => r.body.includes('tool_result'))
    .map((r) => r.body.toString())
    .join('');
  expect(toModel).toContain('[MASKED:field]');
  expect(toModel).not.toContain(CRM_CUSTOMER.ssn);
  // tools/list through the sidecar: the export tool (denied) was never offered to the model
  expect(t.offered).toEqual(
    expect.arrayContaining(['mcp__crm__lookup_customer', 'mcp__crm__update_customer_email', 'mcp__crm__delete_customer']),
  );
  expect(t.offered).not.toContain('mcp__crm__export_all_customers');
  const rec = (await auditRecords(world)).find((r) => r.mcpTool === 'mcp__crm__lookup_customer');
  expect(rec).toMatchObject({ route: 'mcp', decision: 'allow', mcpMethod: 'tools/call', masked: expect.objectContaining({ field: 2 }) });
  expect(rec!.mcpSessionId).toBeTruthy();
  expect(rec!.sessionId).toBe(t.sessionId);
}, 120_000);

test('a denied tool is never offered; when the model asks for it anyway the SDK refuses and the turn ends cleanly', async () => {
  const before = (await auditRecords(world)).length;
  const t = await agentTurn('STUB:tool_use:mcp__crm__export_all_customers {}');
  expect(t.offered).not.toContain('mcp__crm__export_all_customers');
  expect(t.isError).toBe(false);
  expect(t.result).toMatch(/Tool result: error: .*mcp__crm__export_all_customers/);
  expect(crm.received.some((m) => m.tool === 'export_all_customers')).toBe(false);
  expect((await auditRecords(world)).slice(before).some((r) => r.mcpMethod === 'tools/call')).toBe(false);
}, 120_000);

test('a tool denied mid-session: the call is refused at the sidecar with the rule, and so is the next model turn that still offers it', async () => {
  // The reviewers deny delete_customer after the agent has listed it.
  world.stub!.beforeAnswer = async () => {
    world.stub!.beforeAnswer = undefined;
    await addScope(world, 'agent-crm', 'agent-crm-bot', scope(['mcp__crm__export_*', 'mcp__crm__delete_*']));
    const token = await world.saToken('agent-crm-bot');
    await until(
      'the deny to load',
      async () => {
        const r = await fetch(`${world.url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'claude-sonnet-4-6',
            max_tokens: 8,
            tools: [{ name: 'mcp__crm__delete_customer', input_schema: { type: 'object' } }],
            messages: [{ role: 'user', content: 'probe' }],
          }),
        });
        await r.arrayBuffer();
        return r.status === 403;
      },
      10_000,
      50,
    );
  };
  const toolCall = expectRefusalWhere(world.auditFile, callsOf('delete_customer'));
  const nextTurn = expectRefusalWhere(world.auditFile, toolResultTurns());
  const t = await agentTurn('STUB:tool_use:mcp__crm__delete_customer {"id":"42"}');
  expect(t.offered).toContain('mcp__crm__delete_customer');
  // Both refusals are checked once their audit records exist: the CRM never saw the call, the
  // model API never saw the turn that carried its (error) result.
  const refused = await toolCall.refused(
    (r) => r.mcpTool === 'mcp__crm__delete_customer' && r.sessionId === t.sessionId,
    'the refused tools/call',
  );
  expect(refused).toMatchObject({ decision: 'deny', reasons: ['ToolDenied'], mcpMethod: 'tools/call' });
  const turn = await nextTurn.refused(
    (r) => r.mcpMethod === undefined && r.sessionId === t.sessionId && r.decision === 'deny',
    'the refused model turn',
  );
  expect(turn.reasons).toEqual(['ToolDenied']);
  expect(t.result).toContain('Denied by ModelScope agent-crm, rule spec.tools.deny');
}, 120_000);

test('a held tool call: refused naming the review, approved by an approver, then it runs', async () => {
  const check = expectRefusalWhere(world.auditFile, callsOf('update_customer_email'));
  const held = await agentTurn('STUB:tool_use:mcp__crm__update_customer_email {"id":"42","email":"new@example.com"}');
  await check.refused(
    (r) => r.mcpTool === 'mcp__crm__update_customer_email' && r.sessionId === held.sessionId && r.decision !== 'allow',
    'the held tools/call',
  );
  expect(held.isError).toBe(false);
  expect(held.result).toMatch(
    /Tool result: error: .*Held by ModelScope agent-crm, rule spec\.approval\.requiredFor: tool mcp__crm__update_customer_email needs approval/,
  );
  const ref = /JustInTime AccessReview (team-a\/agent-crm-jit-[0-9a-f]{16})/.exec(held.result)![1]!;
  await approve(world, ref);
  // Wait until the sidecar has the approval: the same call from a plain MCP client passes.
  const probe = new Client({ name: 'probe', version: '1.0.0' });
  await probe.connect(
    new StreamableHTTPClientTransport(new URL(`${world.url}/services/crm/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${await world.saToken('agent-crm-bot')}` } },
    }),
  );
  await until(
    'the approval to load',
    () => probe.callTool({ name: 'update_customer_email', arguments: { id: '0', email: 'probe@example.com' } }).catch(() => undefined),
    10_000,
    50,
  );
  await probe.close();
  const calls = crm.received.filter((m) => m.tool === 'update_customer_email').length;
  const after = await agentTurn('STUB:tool_use:mcp__crm__update_customer_email {"id":"42","email":"new@example.com"}');
  expect(after.isError).toBe(false);
  expect(after.result).toContain('Tool result: updated 42');
  expect(crm.received.filter((m) => m.tool === 'update_customer_email').length).toBe(calls + 1);
}, 240_000);
