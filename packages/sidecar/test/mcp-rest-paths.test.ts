// Many MCP servers serve a REST API or actuators in the same process (FastAPI + FastMCP, Spring
// AI), so an MCP endpoint without `paths` (the server's root as its url) reaches its MCP path
// only, /mcp: a message the scope allows, POSTed to another path, is refused before it is read.
// Where `paths` names more of the server, GET and DELETE pass only for a session the caller
// opened, on the path it was opened on. Anything else reaches nothing: 405 without a session (the
// official MCP client then goes on without a server stream), 404 for a session the sidecar does
// not know as the caller's or on another path (the client opens a new session). The official MCP
// SDK on both sides shows that clients of servers with sessions and of stateless servers keep working.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as z from 'zod/v4';
import { startWorld, type World } from '../src/testing/world.ts';
import { addCrmScope, auditRecords, crmScopeLoaded } from './mcp-helpers.ts';
import { auditRecordWhere, expectRefusal } from './refusal.ts';
import { until } from '@scopekeeper/kube/testing/until';

const SSN = '078-05-1120';
const EMAIL = 'jane.doe@example.com';

/**
 * An app that serves MCP at /mcp (the official SDK's transport: with sessions, or stateless) and
 * a REST API beside it at /api/…; `seen` is every request it received.
 */
class App {
  readonly seen: string[] = [];
  private server: Server | undefined;
  private readonly transports = new Map<string, StreamableHTTPServerTransport>();
  private readonly mode: 'sessions' | 'stateless' | 'json-get' | 'cased-sse';

  constructor(mode: 'sessions' | 'stateless' | 'json-get' | 'cased-sse') {
    this.mode = mode;
  }

  get total(): number {
    return this.seen.length;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.transports.values()) await t.close();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.seen.push(`${req.method} ${req.url}`);
    if (req.url === '/actuator/shutdown' && req.method === 'POST') {
      // Spring Boot's shutdown endpoint takes any body; here it only answers as if it stopped.
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"message":"Shutting down, bye..."}');
    }
    if (req.url!.startsWith('/api/customers')) {
      const body = req.method === 'DELETE' ? '{"deleted":true}' : JSON.stringify({ customers: [{ id: 42, name: 'Ann', ssn: SSN }] });
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    if (req.url !== '/mcp') return void res.writeHead(404).end();
    if (this.mode === 'json-get') return this.jsonGet(req, res);
    if (this.mode === 'cased-sse') return this.casedSse(req, res);
    if (this.mode === 'stateless') {
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.once('close', () => void t.close());
      await crmMcp().connect(t);
      return t.handleRequest(req, res);
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
        onsessioninitialized: (id) => void this.transports.set(id, t),
      });
      t.onclose = () => {
        if (t.sessionId) this.transports.delete(t.sessionId);
      };
      await crmMcp().connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res);
  }

  /** A server that names a session on initialize and answers its stream request (GET) with a JSON document. */
  private jsonGet(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (req.method === 'GET')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(`{"customers":[{"ssn":"${SSN}"}]}`);
    if (req.method === 'DELETE') return void res.writeHead(405, { 'content-type': 'application/json', allow: 'POST, GET' }).end('{}');
    const result = { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'crm', version: '1' } };
    res
      .writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'json-get-1' })
      .end(JSON.stringify({ jsonrpc: '2.0', id: 0, result }));
  }

  /** A server whose event streams name their media type in capitals (RFC 9110 allows any case): its stream (GET) and tools/list. */
  private async casedSse(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const event = (msg: unknown) => `event: message\ndata: ${JSON.stringify(msg)}\n\n`;
    if (req.method === 'GET') {
      const note = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `write to ${EMAIL}` } };
      return void res.writeHead(200, { 'content-type': 'TEXT/EVENT-STREAM' }).end(event(note));
    }
    const msg = JSON.parse(body) as { id: number; method: string };
    if (msg.method === 'initialize') {
      const result = { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'crm', version: '1' } };
      return void res
        .writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'cased-1' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
    }
    const tools = [{ name: 'lookup_customer', description: `Ask ${EMAIL}.`, inputSchema: { type: 'object' } }];
    res
      .writeHead(200, { 'content-type': 'Text/Event-Stream; Charset=UTF-8' })
      .end(event({ jsonrpc: '2.0', id: msg.id, result: { tools } }));
  }
}

function crmMcp(): McpServer {
  const server = new McpServer({ name: 'crm', version: '1.0.0' });
  server.registerTool('lookup_customer', { description: 'Look up a customer by id.', inputSchema: { id: z.string() } }, async ({ id }) => ({
    content: [{ type: 'text', text: `customer ${id}` }],
  }));
  server.registerTool('delete_customer', { description: 'Delete a customer.', inputSchema: { id: z.string() } }, async ({ id }) => ({
    content: [{ type: 'text', text: `deleted ${id}` }],
  }));
  return server;
}

let world: World;
let app: App;
let stateless: App;
let jsonGet: App;
let cased: App;

beforeAll(async () => {
  world = await startWorld();
  [app, stateless, jsonGet, cased] = await Promise.all([
    new App('sessions').start(),
    new App('stateless').start(),
    new App('json-get').start(),
    new App('cased-sse').start(),
  ]);
  // An endpoint that names the REST API beside the MCP path; the others have no paths (the default).
  const both = 'paths: ["/mcp", "/api/**"]';
  await addCrmScope(world, 'rest-crm', 'rest-bot', app.url, '', both);
  await addCrmScope(world, 'rest-crm-other', 'rest-other-bot', app.url, '', both);
  await addCrmScope(world, 'stateless-crm', 'stateless-bot', stateless.url);
  await addCrmScope(world, 'named-crm', 'named-bot', `${stateless.url}/mcp`); // a url that names the MCP path
  await addCrmScope(world, 'json-get-crm', 'json-get-bot', jsonGet.url);
  await addCrmScope(world, 'cased-crm', 'cased-bot', cased.url);
  for (const sa of ['rest-bot', 'rest-other-bot', 'stateless-bot', 'json-get-bot', 'cased-bot']) await crmScopeLoaded(world, sa);
  await until(
    'the scope of named-bot to load',
    async () => (await send('named-bot', 'DELETE', '/services/crm')).status !== 403,
    10_000,
    50,
  );
});
afterAll(async () => {
  await world.close();
  await Promise.all([app, stateless, jsonGet, cased].map((a) => a.close()));
});

async function send(sa: string, method: string, path: string, session?: string, body?: string): Promise<Response> {
  return fetch(`${world.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await world.saToken(sa)}`,
      accept: 'application/json, text/event-stream',
      ...(session === undefined ? {} : { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body,
  });
}

/** Opens a session with a raw initialize; returns its Mcp-Session-Id. */
async function openSession(sa: string): Promise<string> {
  const init = await fetch(`${world.url}/services/crm/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await world.saToken(sa)}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await init.arrayBuffer();
  expect(init.status).toBe(200);
  return init.headers.get('mcp-session-id')!;
}

/** The refusal: its status, its JSON-RPC error, nothing reached `server`, and exactly one audit record. */
async function refused(
  r: Response,
  check: ReturnType<typeof expectRefusal>,
  status: number,
  reason: string,
  header: string | null = 'deny',
) {
  const body = (await r.json()) as { error: { code: number; message: string } };
  const record = await check.refused(r);
  expect([r.status, r.headers.get('x-scopekeeper-decision')]).toEqual([status, header ?? r.headers.get('x-scopekeeper-decision')]);
  expect(record).toMatchObject({ route: 'mcp', decision: 'deny', reasons: [reason], status });
  await new Promise((res) => setTimeout(res, 100)); // a second record would have been written by now
  expect((await auditRecords(world)).filter((x) => x.requestId === record.requestId)).toHaveLength(1);
  return body.error;
}

const REST = [
  ['GET', '/services/crm/api/customers?all=true'],
  ['DELETE', '/services/crm/api/customers/42'],
] as const;

describe('an MCP endpoint without paths: its MCP path only', () => {
  const initialize = JSON.stringify({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  test.each([
    ['POST', '/services/crm/actuator/shutdown', initialize],
    ['POST', '/services/crm/api/customers', initialize],
    ['POST', '/services/crm/', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })],
    ['POST', '/services/crm/mcp/', initialize],
    ['GET', '/services/crm/api/customers?all=true', undefined],
    ['DELETE', '/services/crm/api/customers/42', undefined],
  ])('%s %s: 403 PathNotAllowed, nothing reaches the server, one audit record', async (method, path, body) => {
    const check = expectRefusal(world.auditFile, stateless);
    const r = await send('stateless-bot', method, path, undefined, body);
    const answer = (await r.json()) as { error: { type: string; message: string } };
    const record = await check.refused(r);
    expect([r.status, r.headers.get('x-scopekeeper-decision'), answer.error.type]).toEqual([403, 'deny', 'permission_error']);
    expect(answer.error.message).toContain('matches none of [/mcp]: an MCP endpoint without paths passes its MCP path only');
    expect(answer.error.message).toContain('list the paths in spec.endpoints[crm].paths');
    expect(record).toMatchObject({ route: 'service', decision: 'deny', reasons: ['PathNotAllowed'], status: 403 });
    await new Promise((res) => setTimeout(res, 100)); // a second record would have been written by now
    expect((await auditRecords(world)).filter((x) => x.requestId === record.requestId)).toHaveLength(1);
  });

  test('the same message on the MCP path reaches the server', async () => {
    const r = await send(
      'stateless-bot',
      'POST',
      '/services/crm/mcp',
      undefined,
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    );
    await r.arrayBuffer();
    expect([r.status, stateless.seen.at(-1)]).toEqual([200, 'POST /mcp']);
  });

  test('a url that names the MCP path: /services/crm reaches exactly it (not /mcp/), nothing else of the server passes', async () => {
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const r = await send('named-bot', 'POST', '/services/crm', undefined, ping);
    await r.arrayBuffer();
    expect([r.status, stateless.seen.at(-1)]).toEqual([200, 'POST /mcp']);
    for (const path of ['/services/crm/mcp', '/services/crm/api/customers']) {
      const check = expectRefusal(world.auditFile, stateless);
      const refused = await send('named-bot', 'POST', path, undefined, ping);
      const message = ((await refused.json()) as { error: { message: string } }).error.message;
      expect((await check.refused(refused)).reasons).toEqual(['PathNotAllowed']);
      expect([refused.status, message]).toEqual([
        403,
        expect.stringContaining(`path ${path.slice('/services/crm'.length)} matches none of [/]`),
      ]);
    }
  });
});

describe('GET and DELETE on another path the endpoint lists (the REST API beside MCP)', () => {
  test.each(REST)('%s %s without a session: 405, nothing reaches the server, one audit record', async (method, path) => {
    const check = expectRefusal(world.auditFile, app);
    const r = await send('rest-bot', method, path);
    const error = await refused(r, check, 405, 'McpStreamWithoutSession');
    expect(r.headers.get('allow')).toBe('POST');
    expect(error.code).toBe(-32010);
    expect(error.message).toContain(`scopekeeper passes ${method} to an MCP server only for a session`);
    expect(JSON.stringify(error)).not.toContain(SSN);
  });

  test.each(REST)("%s %s with the caller's own session: 404, nothing reaches the server, one audit record", async (method, path) => {
    const session = await openSession('rest-bot');
    const check = expectRefusal(world.auditFile, app);
    const r = await send('rest-bot', method, path, session);
    const error = await refused(r, check, 404, 'McpSessionOtherPath');
    expect(error.message).toContain('send initialize without Mcp-Session-Id');
    // The session itself still works on its own path.
    const end = await send('rest-bot', 'DELETE', '/services/crm/mcp', session);
    expect(end.status).toBe(200);
    expect(app.seen.at(-1)).toBe('DELETE /mcp');
  });
});

describe('GET and DELETE on the MCP path', () => {
  test.each(['GET', 'DELETE'])('%s without Mcp-Session-Id: 405, nothing reaches the server', async (method) => {
    const check = expectRefusal(world.auditFile, app);
    const r = await send('rest-bot', method, '/services/crm/mcp');
    await refused(r, check, 405, 'McpStreamWithoutSession');
  });

  test.each(['GET', 'DELETE'])(
    '%s with a session the sidecar does not know, or one that ended: 404 "open a new session"',
    async (method) => {
      let check = expectRefusal(world.auditFile, app);
      const made = await send('rest-bot', method, '/services/crm/mcp', 'made-up-session');
      expect((await refused(made, check, 404, 'McpSessionUnknown')).message).toContain(
        'open a new session (send initialize without Mcp-Session-Id)',
      );
      const session = await openSession('rest-bot');
      expect((await send('rest-bot', 'DELETE', '/services/crm/mcp', session)).status).toBe(200);
      check = expectRefusal(world.auditFile, app);
      await refused(await send('rest-bot', method, '/services/crm/mcp', session), check, 404, 'McpSessionUnknown');
    },
  );

  test("another caller's session: 403 as before, nothing reaches the server", async () => {
    const session = await openSession('rest-bot');
    const check = expectRefusal(world.auditFile, app);
    const r = await send('rest-other-bot', 'GET', '/services/crm/mcp', session);
    expect((await refused(r, check, 403, 'McpSessionNotOwned')).message).toContain('opened by another caller');
  });

  test('a stream request answered 2xx with something other than an event stream: 502, nothing of it passed on', async () => {
    const session = await openSession('json-get-bot');
    const before = jsonGet.total;
    const r = await send('json-get-bot', 'GET', '/services/crm/mcp', session);
    const text = await r.text();
    expect(jsonGet.seen.slice(before)).toEqual(['GET /mcp']);
    expect(r.status).toBe(502);
    expect(text).not.toContain(SSN);
    expect((JSON.parse(text) as { error: { message: string } }).error.message).toBe(
      'The MCP server answered its stream request with application/json, not an event stream; nothing of it was passed on.',
    );
    const rec = await auditRecordWhere(world.auditFile, (x) => x.requestId === r.headers.get('x-scopekeeper-request-id'), 'the GET');
    expect(rec).toMatchObject({ decision: 'error', status: 502 });
    // Other answers are relayed as before: the server's 405 to a DELETE.
    expect((await send('json-get-bot', 'DELETE', '/services/crm/mcp', session)).status).toBe(405);
  });
});

describe('event streams whose media type is written in capitals', () => {
  test('the stream request (GET) and a tools/list answer are relayed as event streams, masked, not refused as JSON', async () => {
    const session = await openSession('cased-bot');
    const stream = await send('cased-bot', 'GET', '/services/crm/mcp', session);
    const streamed = await stream.text();
    expect([stream.status, stream.headers.get('content-type')]).toEqual([200, 'TEXT/EVENT-STREAM']);
    expect(streamed).toContain('notifications/message');
    expect(streamed).not.toContain(EMAIL);
    const list = await fetch(`${world.url}/services/crm/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await world.saToken('cased-bot')}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    const listed = await list.text();
    expect(list.status).toBe(200);
    expect(listed).toMatch(/^event: message\ndata: \{"jsonrpc":"2\.0","id":1,"result":\{"tools":\[\{"name":"lookup_customer"/);
    expect(listed).not.toContain(EMAIL);
  });
});

describe('the official MCP SDK client through the sidecar', () => {
  const connect = async (sa: string) => {
    const transport = new StreamableHTTPClientTransport(new URL(`${world.url}/services/crm/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${await world.saToken(sa)}` } },
    });
    const client = new Client({ name: 'test', version: '1.0.0' });
    const errors: unknown[] = [];
    client.onerror = (e) => void errors.push(e);
    await client.connect(transport);
    return { client, transport, errors };
  };

  test('a server with sessions: initialize, its stream (GET), tools/list, tools/call, and the end of the session (DELETE)', async () => {
    const from = app.total;
    const { client, transport, errors } = await connect('rest-bot');
    const session = transport.sessionId!;
    expect(session).toBeTruthy();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['lookup_customer']);
    const r = await client.callTool({ name: 'lookup_customer', arguments: { id: '42' } });
    expect((r.content as { text: string }[])[0]!.text).toBe('customer 42');
    await until('the server stream (GET) to reach the server', () => app.seen.slice(from).includes('GET /mcp'), 10_000, 20);
    await transport.terminateSession(); // DELETE with the session
    expect(transport.sessionId).toBeUndefined();
    await client.close();
    expect(app.seen.slice(from).filter((s) => s !== 'POST /mcp')).toEqual(['GET /mcp', 'DELETE /mcp']);
    const del = await auditRecordWhere(world.auditFile, (x) => x.mcpSessionId === session && x.mcpMethod === 'DELETE', 'the DELETE');
    expect(del).toMatchObject({ decision: 'allow', status: 200 });
    expect(errors).toEqual([]);
  });

  test('a stateless server (no session id): the client works, its GET gets 405 from the sidecar and reaches nothing', async () => {
    const from = stateless.total;
    const { client, transport, errors } = await connect('stateless-bot');
    expect(transport.sessionId).toBeUndefined();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['lookup_customer']);
    const r = await client.callTool({ name: 'lookup_customer', arguments: { id: '7' } });
    expect((r.content as { text: string }[])[0]!.text).toBe('customer 7');
    const get = await auditRecordWhere(world.auditFile, (x) => x.scope === 'stateless-crm' && x.mcpMethod === 'GET', 'the GET');
    expect(get).toMatchObject({ decision: 'deny', reasons: ['McpStreamWithoutSession'], status: 405 });
    await transport.terminateSession(); // no session: sends nothing
    await client.close();
    expect(stateless.seen.slice(from).every((s) => s === 'POST /mcp')).toBe(true);
    expect(errors).toEqual([]);
  });
});
