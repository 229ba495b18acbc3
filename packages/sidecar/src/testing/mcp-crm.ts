// An internal CRM service that speaks MCP, written with the official @modelcontextprotocol/sdk
// (McpServer + its streamable HTTP transport, one transport per session) on loopback. The
// tests and the demo put it behind the sidecar as an endpoint with protocol: mcp. Its answers
// carry the data a scope masks: emails, phone numbers and an SSN in structuredContent.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as z from 'zod/v4';

export const CRM_CUSTOMER = {
  id: '42',
  name: 'Jane Doe',
  email: 'jane.doe@example.com',
  phone: '+44 20 7946 0958',
  ssn: '123-45-6789',
  tier: 'gold',
};

export interface McpCrmOptions {
  /** Answer POSTs with JSON instead of an event stream. */
  json?: boolean;
}

export class McpCrm {
  /** Every JSON-RPC method the server received, in order (what got past the sidecar). */
  readonly received: { method: string; tool?: string }[] = [];
  private server: Server | undefined;
  private readonly transports = new Map<string, StreamableHTTPServerTransport>();
  private readonly opts: McpCrmOptions;

  constructor(opts: McpCrmOptions = {}) {
    this.opts = opts;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.transports.values()) await t.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const m of Array.isArray(body) ? body : [body]) {
        const msg = m as { method?: string; params?: { name?: string } };
        if (msg.method) this.received.push({ method: msg.method, tool: msg.method === 'tools/call' ? msg.params?.name : undefined });
      }
    }
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? this.transports.get(sid) : undefined;
    if (!transport) {
      if (typeof sid === 'string') {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
        return;
      }
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: this.opts.json === true,
        onsessioninitialized: (id) => void this.transports.set(id, t),
      });
      t.onclose = () => {
        if (t.sessionId) this.transports.delete(t.sessionId);
      };
      await crmServer().connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, body);
  }
}

function crmServer(): McpServer {
  const server = new McpServer({ name: 'crm', version: '1.0.0' }, { capabilities: { logging: {} } });
  const customer = z.object({ id: z.string(), name: z.string(), email: z.string(), phone: z.string(), ssn: z.string(), tier: z.string() });
  server.registerTool(
    'lookup_customer',
    { description: 'Look up a customer by id.', inputSchema: { id: z.string() }, outputSchema: { customer } },
    async ({ id }) => {
      const structured = { customer: { ...CRM_CUSTOMER, id } };
      return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
    },
  );
  server.registerTool('delete_customer', { description: 'Delete a customer.', inputSchema: { id: z.string() } }, async ({ id }) => ({
    content: [{ type: 'text', text: `deleted ${id}` }],
  }));
  server.registerTool(
    'update_customer_email',
    { description: 'Change a customer email.', inputSchema: { id: z.string(), email: z.string() } },
    async ({ id }) => ({
      content: [{ type: 'text', text: `updated ${id}` }],
    }),
  );
  server.registerTool('export_all_customers', { description: 'Export every customer record.', inputSchema: {} }, async () => ({
    content: [{ type: 'text', text: 'all of them' }],
  }));
  server.registerResource('customer-42', 'crm://customers/42', { mimeType: 'application/json' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ customer: CRM_CUSTOMER }) }],
  }));
  server.registerResource('admin-keys', 'crm://admin/keys', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'sk-ant-admin-key' }],
  }));
  server.registerPrompt('summary', { description: 'Summarise a customer.', argsSchema: { id: z.string() } }, ({ id }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Summarise customer ${id} (${CRM_CUSTOMER.email}).` } }],
  }));
  server.registerPrompt('internal-notes', { description: 'Internal notes.' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'internal' } }],
  }));
  return server;
}
