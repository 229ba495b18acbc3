// MCP answers mask data written as an object key or as a JSON number, as an internal service's
// answer does: the official MCP SDK's server (low-level, so it can answer anything) and client,
// through a real sidecar, with event-stream and JSON answers.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { startWorld, type World } from '../src/testing/world.ts';
import { crmScopeLoaded } from './mcp-helpers.ts';
import { addScope } from './helpers.ts';

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\n-----END RSA PRIVATE KEY-----';
const CARD = 4111111111111111;

/** What the server answers to lookup_customer({case}). */
function answer(c: string): Record<string, unknown> {
  const ok = [{ type: 'text', text: 'ok' }];
  switch (c) {
    case 'key':
      return { content: ok, structuredContent: { 'jane.doe@example.com': { status: 'vip' } }, _meta: { '+1 415-555-2671': 'caller' } };
    case 'number':
      return { content: ok, structuredContent: { card: CARD, rows: [[5555555555554444, { n: 7 }]] } };
    case 'block':
      return { content: ok, structuredContent: { [PEM]: 1 } };
    default:
      throw new McpError(-32000, 'lookup failed', { 'jane.doe@example.com': 'not found', card: CARD });
  }
}

/** An MCP server written with the SDK's low-level Server: one transport per session, as McpCrm. */
class LooseCrm {
  private http: HttpServer | undefined;
  private readonly transports = new Map<string, StreamableHTTPServerTransport>();
  private readonly json: boolean;
  constructor(json: boolean) {
    this.json = json;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.http = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => this.http!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.transports.values()) await t.close();
    this.http?.closeAllConnections();
    await new Promise<void>((resolve) => this.http!.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    }
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? this.transports.get(sid) : undefined;
    if (!transport) {
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: this.json,
        onsessioninitialized: (id) => void this.transports.set(id, t),
      });
      const server = new Server({ name: 'crm', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: [{ name: 'lookup_customer', inputSchema: { type: 'object' as const, properties: { case: { type: 'string' } } } }],
      }));
      server.setRequestHandler(CallToolRequestSchema, (r) => answer(String(r.params.arguments?.case)));
      await server.connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, body);
  }
}

let world: World;
const servers: LooseCrm[] = [];

beforeAll(async () => {
  world = await startWorld();
  for (const [json, name] of [
    [false, 'loose-sse'],
    [true, 'loose-json'],
  ] as const) {
    const s = await new LooseCrm(json).start();
    servers.push(s);
    await addScope(
      world,
      name,
      `${name}-bot`,
      `  models: ["claude-sonnet-4-*"]
  tools:
    allow: ["mcp__crm__*"]
  data:
    mask: [email, phone, credit-card]
    block: [private-key]
  endpoints:
    - name: crm
      url: "${s.url}"
      protocol: mcp`,
    );
  }
  await crmScopeLoaded(world, 'loose-sse-bot');
  await crmScopeLoaded(world, 'loose-json-bot');
});
afterAll(async () => {
  await world.close();
  for (const s of servers) await s.close();
});

describe.each([
  ['event-stream answers', 'loose-sse-bot'],
  ['JSON answers', 'loose-json-bot'],
])('keys and numbers in MCP answers (%s)', (_mode, sa) => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ name: 'test', version: '1.0.0' });
    const token = await world.saToken(sa);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${world.url}/services/crm/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
  });
  afterAll(() => client.close());
  const call = (c: string) => client.callTool({ name: 'lookup_customer', arguments: { case: c } });

  test('an email written as a key of structuredContent, a phone number as a key of _meta: renamed to the masked text', async () => {
    const r = await call('key');
    expect(r.structuredContent).toEqual({ '[MASKED:email]': { status: 'vip' } });
    expect(r._meta).toEqual({ '[MASKED:phone]': 'caller' });
  });

  test('card numbers written as JSON numbers become the masked string; other numbers stay', async () => {
    const r = await call('number');
    expect(r.structuredContent).toEqual({ card: '[MASKED:credit-card]', rows: [['[MASKED:credit-card]', { n: 7 }]] });
  });

  test("a JSON-RPC error's data: keys and numbers masked", async () => {
    const e = await call('error').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(McpError);
    expect((e as McpError).data).toEqual({ '[MASKED:email]': 'not found', card: '[MASKED:credit-card]' });
  });

  test('a private key (data.block) written as a key ends the answer: an error, none of it delivered', async () => {
    const e = await call('block').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(McpError);
    expect((e as McpError).data).toMatchObject({ category: 'private-key' });
    expect(JSON.stringify(e) + String((e as Error).message)).not.toContain('MIIEow');
  });
});
