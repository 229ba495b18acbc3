// An event stream is relayed event by event, so the sidecar holds an event until its blank line
// arrives. Before, that hold had no bound: an upstream (or an MCP server, which may be a third
// party's) that sent one event without its end got all of it held, 300 MB of one line took the
// sidecar to 1.6 GB of RSS, far past its container's 256Mi. Now one event is held up to
// MAX_SSE_BLOCK_BYTES (core sse/parser.ts) and, while it arrives, takes its bytes from the body
// budget (--max-buffered-bytes) like any body held whole. (A Messages stream's event too large:
// upstream-faults.test.ts.)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { RPC, SseParser, type SseEvent } from '@scopekeeper/core';
import { startWorld, type World } from '../../src/testing/world.ts';
import { addScope, waitForPolicy } from '../helpers.ts';
import { addCrmScope } from '../mcp-helpers.ts';
import { anthropicError, assertHealthy, completeJsonLines, END, heldBytes, pour, recordAttack, START } from './support.ts';
import { until } from '@scopekeeper/kube/testing/until';

const SUITE = 'bursts and overload';

const JSON_ANSWER = JSON.stringify({
  id: 'msg_2',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [{ type: 'text', text: 'ok' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 3, output_tokens: 1 },
});

function events(text: string): SseEvent[] {
  return new SseParser().push(Buffer.from(text));
}

interface AuditLine {
  requestId?: string;
  route?: string;
  mcpId?: string;
  mcpMethod?: string;
  mcpTool?: string;
  status: number;
  error?: string;
}

/**
 * A server that plays both the Messages upstream and an MCP server, by what it is asked:
 * `pour:<MiB>` in a prompt or a tool's argument (and any GET of the MCP server's own stream) streams
 * one event of that size that does not end;
 * `hold` streams half an event and waits for `release()`; anything else is answered at once.
 */
class Upstream {
  server!: Server;
  private readonly sockets = new Set<Socket>();
  private waiting: (() => void)[] = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => void this.answer(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    this.server.on('connection', (s: Socket) => (this.sockets.add(s), s.once('close', () => this.sockets.delete(s))));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  release(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async answer(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    const mcp = req.url!.startsWith('/mcp');
    if (req.method === 'GET' && !mcp) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ data: [{ type: 'model', id: 'claude-sonnet-4-5' }] }));
    }
    // The server's own stream (GET) always pours.
    const poured = /pour:(\d+)/.exec(body)?.[1] ?? (req.method === 'GET' ? '20' : undefined);
    const hold = body.includes('hold:');
    if (poured === undefined && !hold) {
      if (!mcp) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON_ANSWER);
      const id = (JSON.parse(body) as { id: number }).id;
      // Names a session, so that the caller's GET (the server's own stream) may pass.
      return void res
        .writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'ev-session' })
        .end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ok' }] } }));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(mcp ? 'id: 1\ndata: \n\n' : START);
    res.write(
      mcp
        ? 'event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"'
        : 'event: content_block_delta\ndata: "',
    );
    if (hold) {
      res.write('a'.repeat(500_000));
      await new Promise<void>((r) => this.waiting.push(r));
      return void res.end(mcp ? '"}]}}\n\n' : `"\n\n${END}`);
    }
    await pour(res, Number(poured ?? 20));
  }
}

async function audit(world: World): Promise<AuditLine[]> {
  return completeJsonLines<AuditLine>(await readFile(world.auditFile, 'utf8'));
}

/** The audit records written from `from` on, once one matching `match` is there. */
async function recordsAfter(world: World, from: number, match: (r: AuditLine) => boolean): Promise<AuditLine[]> {
  // Generous: a record comes after its answer (batch window, write, fdatasync), later under load.
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    const added = (await audit(world)).slice(from);
    if (added.some(match)) return added;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no such audit record within 10 s');
}

const callTool = (world: World, token: string, arg: string, id = 7) =>
  fetch(`${world.url}/services/crm/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'lookup_customer', arguments: { q: arg } } }),
  });

describe('an MCP server that streams an event without its end', () => {
  let world: World;
  let upstream: Upstream;
  let token: string;

  beforeAll(async () => {
    upstream = new Upstream();
    const url = await upstream.start();
    world = await startWorld();
    await addCrmScope(world, 'ev-crm', 'ev-crm-bot', url); // its MCP path: /mcp
    token = await world.saToken('ev-crm-bot');
    await waitForPolicy(world, async () => (await (await callTool(world, token, 'x')).text()).includes('"ok"'));
  });
  afterAll(async () => {
    await world.close();
    await upstream.close();
  });

  test('its answer to a call: the stream ends with a JSON-RPC error for the call, -32013; the record says why', async () => {
    const from = (await audit(world)).length;
    const r = await callTool(world, token, 'pour:20', 8);
    const got = events(await r.text());
    const last = JSON.parse(got[got.length - 1]!.data!) as { id: number; error: { code: number; message: string } };
    const rec = (await recordsAfter(world, from, (x) => x.mcpId === '8')).find((x) => x.mcpId === '8')!;
    recordAttack({
      suite: SUITE,
      attack: 'an MCP server answers a call with one 20 MB event that does not end (held whole before)',
      expected: 'the stream ends with a JSON-RPC error for the call (-32013); audit error',
      status: r.status,
      errorType: `rpc:${last.error.code}`,
      note: rec.error,
    });
    expect(r.status).toBe(200);
    expect(last.id).toBe(8);
    expect(last.error.code).toBe(RPC.unavailable);
    expect(last.error.message).toMatch(
      /^The MCP server's answer could not be relayed \(the MCP server sent an event still without its end after \d+ bytes \(at most 16777216 are held\)\); nothing more of it was passed on\.$/,
    );
    expect(rec.error).toContain('without its end');
    await assertHealthy(world);
  });

  test('its own stream (GET): ended, the record says why', async () => {
    const from = (await audit(world)).length;
    // GET passes only for a session the caller opened (beforeAll's call was answered with one).
    const r = await fetch(`${world.url}/services/crm/mcp`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': 'ev-session' },
    });
    const text = await r.text();
    const added = await recordsAfter(world, from, (x) => x.route === 'mcp' && x.mcpMethod === 'GET');
    expect(r.status).toBe(200);
    expect(text.length).toBeLessThan(1024); // nothing of the event
    expect(added.find((x) => x.route === 'mcp' && x.mcpMethod === 'GET')!.error).toContain('without its end');
    await assertHealthy(world);
  });
});

describe('an event still arriving takes from the body budget (--max-buffered-bytes)', () => {
  let world: World;
  let upstream: Upstream;
  const MAX_BODY = 600_000;

  beforeAll(async () => {
    upstream = new Upstream();
    const url = await upstream.start();
    world = await startWorld({ flags: { upstream: url, maxBodyBytes: MAX_BODY, maxBufferedBytes: 1_000_000 } });
    await addScope(world, 'plain', 'plain-bot', '  models: ["claude-sonnet-4-*"]');
    await addCrmScope(world, 'ev-crm', 'ev-crm-bot', url); // its MCP path: /mcp
    const token = await world.saToken('ev-crm-bot');
    await waitForPolicy(world, async () => (await (await callTool(world, token, 'x')).text()).includes('"ok"'));
  });
  afterAll(async () => {
    upstream.release();
    await world.close();
    await upstream.close();
  });

  const ask = async (sa: string, content: string, stream: boolean) =>
    fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await world.saToken(sa)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, stream, messages: [{ role: 'user', content }] }),
    });

  test.each(['plain-bot', 'support-bot'])(
    'a Messages event of 2 MB, past a 1 MB budget (%s): the stream ends with overloaded_error; the budget is free after',
    async (sa) => {
      const r = await ask(sa, 'pour:2', true);
      const got = events(await r.text());
      const last = got[got.length - 1]!;
      recordAttack({
        suite: SUITE,
        attack: `a Messages stream sends one 2 MB event that does not end, budget 1 MB (${sa === 'plain-bot' ? 'no masking' : 'masking on'})`,
        expected: '200, the stream ends with an overloaded_error event; audit error',
        status: r.status,
        errorType: `sse:${anthropicError(last.data!).error.type}`,
      });
      expect(r.status).toBe(200);
      expect(last.event).toBe('error');
      // (what was held when the next chunk did not fit depends on how the 2 MB arrived: up to the
      // whole budget, which rounds to 1.0 MiB)
      expect(anthropicError(last.data!).error).toEqual({
        type: 'overloaded_error',
        message: expect.stringMatching(
          /^scopekeeper has no room for this stream's event now \(the sidecar holds (?:0\.\d|1\.0) MiB of bodies of requests in flight, of at most 1\.0 MiB \(--max-buffered-bytes\)\); retry the request in a moment\.$/,
        ),
      });
      // What the stream held went back: a body of 590 kB (of the 1 MB) is read again.
      const after = await ask(sa, 'b'.repeat(590_000), false);
      await after.arrayBuffer();
      expect(after.status).toBe(200);
    },
  );

  test('while a stream holds 500 kB of an event, a 590 kB body does not fit (529); once the event ends, it does', async () => {
    const held = ask('plain-bot', 'hold:', true);
    const first = await held;
    const reading = first.text();
    await until('the 500 kB of the event held', () => heldBytes(world) >= 500_000);
    const refused = await ask('plain-bot', 'b'.repeat(590_000), false);
    await refused.arrayBuffer();
    expect(refused.status).toBe(529);
    upstream.release();
    const got = events(await reading);
    expect(got[got.length - 1]!.event).toBe('message_stop');
    const again = await ask('plain-bot', 'b'.repeat(590_000), false);
    await again.arrayBuffer();
    expect(again.status).toBe(200);
  });

  test('an MCP event of 2 MB, past the budget: a JSON-RPC error for the call; the budget is free after', async () => {
    const token = await world.saToken('ev-crm-bot');
    const r = await callTool(world, token, 'pour:2', 9);
    const got = events(await r.text());
    const last = JSON.parse(got[got.length - 1]!.data!) as { id: number; error: { code: number; message: string } };
    expect([last.id, last.error.code]).toEqual([9, RPC.unavailable]);
    expect(last.error.message).toContain('(--max-buffered-bytes)');
    const after = await ask('plain-bot', 'b'.repeat(590_000), false);
    await after.arrayBuffer();
    expect(after.status).toBe(200);
  });
});
