// The demo's MCP part: a CRM MCP server (official MCP SDK) behind the sidecar as an endpoint
// with protocol: mcp, and the steps an agent's MCP client would take through it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { McpCrm, type World } from '@scopekeeper/sidecar';

export interface McpStep {
  title: string;
  caller: string;
  expect: { status: number; decision?: string; body?: RegExp };
  run: () => Promise<Response>;
}

const SA = 'crm-agent-bot';

function scopeYaml(crmUrl: string): string {
  const now = Date.now();
  return `# Written by the demo: an agent that reaches the CRM's MCP server through the sidecar.
apiVersion: scopekeeper.dev/v1alpha1
kind: ModelScope
metadata: {name: crm-mcp-agent, namespace: team-a}
spec:
  subjects: [{kind: ServiceAccount, name: ${SA}}]
  models: ["claude-sonnet-4-*"]
  tools:
    allow: ["Read", "mcp__crm__*"]
    deny: ["mcp__crm__delete_*", "mcp__crm__export_*"]
  data:
    mask: [email, phone]
  endpoints:
    - name: crm
      url: "${crmUrl}"
      protocol: mcp
      maskFields: ["$.customer.ssn"]
      mcp: {resources: ["crm://customers/*"], prompts: ["summary"]}
  approval:
    requiredFor: {tools: ["mcp__crm__update_*"]}
    approvers: [{kind: Group, name: security-leads}]
    grantDuration: 1h
  review: {period: 90d, reviewers: [{kind: Group, name: security-leads}]}
---
apiVersion: scopekeeper.dev/v1alpha1
kind: AccessReview
metadata: {name: crm-mcp-agent-review, namespace: team-a}
spec:
  scopeRef: {name: crm-mcp-agent}
  type: Periodic
  decision: Approved
  reviewer: carol@example.com
  reviewedAt: "${new Date(now - 86_400_000).toISOString()}"
  expiresAt: "${new Date(now + 30 * 86_400_000).toISOString()}"
  justification: "The CRM agent looks customers up over MCP; SEC-150"
`;
}

export async function startMcpDemo(world: World): Promise<{ crm: McpCrm; steps: McpStep[]; close(): Promise<void> }> {
  const crm = await new McpCrm({ json: true }).start();
  await writeFile(join(world.policyDir, 'crm-mcp-agent.yaml'), scopeYaml(crm.url));
  const token = await world.saToken(SA);
  let session = '';
  const rpc = (body: unknown) =>
    fetch(`${world.url}/services/crm/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}),
      },
      body: JSON.stringify(body),
    });
  const call = (id: number, name: string, args: Record<string, unknown>) =>
    rpc({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
  const caller = `sa/${SA}`;
  const steps: McpStep[] = [
    {
      title: 'MCP: session opened',
      caller,
      expect: { status: 200, decision: 'allow', body: /initialized crm/ },
      run: async () => {
        // The sidecar picks up the scope the demo just wrote.
        for (let i = 0; ; i++) {
          const r = await rpc({
            jsonrpc: '2.0',
            id: 0,
            method: 'initialize',
            params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'demo', version: '1' } },
          });
          if (r.status === 200 || i === 100) {
            session = r.headers.get('mcp-session-id') ?? '';
            if (session) await (await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' })).arrayBuffer();
            return r;
          }
          await r.arrayBuffer();
          await new Promise((res) => setTimeout(res, 50));
        }
      },
    },
    {
      title: 'MCP: tools/list filtered',
      caller,
      expect: { status: 200, body: /^tools: lookup_customer, update_customer_email$/ },
      run: () => rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    },
    {
      title: 'MCP: tool result masked',
      caller,
      expect: { status: 200, body: /\[MASKED:email\].*\[MASKED:field\]/ },
      run: () => call(2, 'lookup_customer', { id: '42' }),
    },
    {
      title: 'MCP: denied tool',
      caller,
      expect: { status: 200, decision: 'deny', body: /-32010.*spec\.tools\.deny/ },
      run: () => call(3, 'delete_customer', { id: '42' }),
    },
    {
      title: 'MCP: held tool',
      caller,
      expect: { status: 200, decision: 'approval-required', body: /-32011.*needs approval/ },
      run: () => call(4, 'update_customer_email', { id: '42', email: 'new@example.com' }),
    },
    {
      title: 'MCP: resource outside scope',
      caller,
      expect: { status: 200, decision: 'deny', body: /-32010.*mcp\.resources/ },
      run: () => rpc({ jsonrpc: '2.0', id: 5, method: 'resources/read', params: { uri: 'crm://admin/keys' } }),
    },
  ];
  return { crm, steps, close: () => crm.close() };
}

/** One line for a JSON-RPC answer in the demo's table. */
export function describeRpc(msg: { result?: Record<string, unknown>; error?: { code: number; message: string } }): string {
  if (msg.error) return `JSON-RPC error ${msg.error.code}: ${msg.error.message}`;
  const r = msg.result ?? {};
  if (Array.isArray(r.tools)) return `tools: ${(r.tools as { name: string }[]).map((t) => t.name).join(', ')}`;
  if (r.structuredContent !== undefined) return `structuredContent: ${JSON.stringify(r.structuredContent)}`;
  if (r.serverInfo !== undefined) return `initialized ${(r.serverInfo as { name: string }).name}`;
  return JSON.stringify(r).slice(0, 200);
}
