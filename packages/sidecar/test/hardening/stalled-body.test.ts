// A caller that sends its headers and then stops sending the body holds a concurrency slot for as
// long as it keeps the connection open. A few such connections (256 by default) would leave every
// other request of the pod to queue and get 529. Each route that reads a body has a deadline
// (http/body.ts); a body streamed through unread has Node's request timeout behind it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { startWorld, type World } from '../../src/testing/world.ts';
import { McpCrm } from '../../src/testing/mcp-crm.ts';
import { addScope, waitForPolicy } from '../helpers.ts';
import { addCrmScope } from '../mcp-helpers.ts';
import { anthropicError, completeJsonLines, rawHttp, recordAttack } from './support.ts';

const SUITE = 'bursts and overload';

let world: World;
let upload: Server;
let uploadsSeen = 0;
let mcp: McpCrm;
let bot: string;

beforeAll(async () => {
  upload = createServer((req, res) => {
    uploadsSeen++;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((r) => upload.listen(0, '127.0.0.1', r));
  mcp = await new McpCrm({ json: true }).start();
  // Two slots, a queue that waits 5 s, bodies due 1 s after their headers.
  world = await startWorld({ flags: { maxConcurrent: 2, maxQueued: 16, maxQueueWait: 5, headersTimeout: 1, bodyTimeout: 1 } });
  const uploadUrl = `http://127.0.0.1:${(upload.address() as AddressInfo).port}`;
  await addScope(
    world,
    'uploader',
    'upload-bot',
    `  models: ["claude-haiku-*"]\n  endpoints:\n    - {name: files, url: "${uploadUrl}", methods: [POST], paths: ["/upload"]}`,
  );
  await addCrmScope(world, 'crm-stall', 'upload-bot', mcp.url);
  bot = await world.saToken('upload-bot');
  await waitForPolicy(world, async () => (await post('/services/files/upload', '{}')).status === 200);
});
afterAll(async () => {
  await world.close();
  await mcp.close();
  upload.closeAllConnections();
  await new Promise<void>((r) => upload.close(() => r()));
});

function post(path: string, body: string): Promise<Response> {
  return fetch(`${world.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bot}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body,
  });
}

/** Headers and the first bytes of a 200-byte body, then nothing: a stalled sender. */
const stalled = (path: string) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${bot}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 200\r\n\r\n{"model":`;

const haiku = JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

async function records(): Promise<{ status: number; reasons: string[]; route: string; decision: string }[]> {
  return completeJsonLines(await readFile(world.auditFile, 'utf8'));
}

test('two stalled Messages bodies fill both slots: each gets 408 in Anthropic’s shape and lets go, and the request behind them is served', async () => {
  const before = (await records()).length;
  const stalls = Promise.all([
    rawHttp(world.url, stalled('/v1/messages'), { waitMs: 8000 }),
    rawHttp(world.url, stalled('/v1/messages'), { waitMs: 8000 }),
  ]);
  await new Promise((r) => setTimeout(r, 200)); // both hold their slots
  // Queued behind them: before the deadline existed, it waited 5 s and got 529.
  const behind = await post('/v1/messages', haiku);
  await behind.arrayBuffer();
  const [a, b] = await stalls;
  recordAttack({
    suite: SUITE,
    attack: 'headers, then 9 of 200 body bytes, then nothing (2 such connections, 2 slots)',
    expected: '408 invalid_request_error, closed, slot freed; the queued request: 200',
    status: a.status,
    errorType: anthropicError(a.body).error.type,
    closed: a.closed,
    note: `request behind them: ${behind.status}`,
  });
  expect(behind.status).toBe(200);
  for (const r of [a, b]) {
    expect([r.status, r.closed]).toEqual([408, true]);
    expect(anthropicError(r.body).error).toEqual({
      type: 'invalid_request_error',
      message: 'The request body did not arrive in time (9 of 200 bytes within 1 s of the headers); send the whole body without pausing.',
    });
  }
  // The records are written after the answers (the audit's batch window, then its write): wait for them.
  let timedOut: Awaited<ReturnType<typeof records>> = [];
  for (let i = 0; i < 100 && timedOut.length < 2; i++) {
    if (i > 0) await new Promise((res) => setTimeout(res, 50));
    timedOut = (await records()).slice(before).filter((r) => r.status === 408);
  }
  expect(timedOut.map((r) => [r.reasons, r.decision])).toEqual([
    [['BodyTimeout'], 'error'],
    [['BodyTimeout'], 'error'],
  ]);
}, 15_000);

test('a stalled MCP message: 408 with a JSON-RPC error, closed; the server got nothing; recorded as the Messages route records it', async () => {
  const seen = mcp.received.length;
  const before = (await records()).length;
  const r = await rawHttp(world.url, stalled('/services/crm/mcp'), { waitMs: 8000 });
  recordAttack({
    suite: SUITE,
    attack: 'MCP POST: headers, then 9 of 200 body bytes, then nothing',
    expected: '408, JSON-RPC -32600, closed',
    status: r.status,
    closed: r.closed,
  });
  expect([r.status, r.closed]).toEqual([408, true]);
  expect(JSON.parse(r.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
  expect((JSON.parse(r.body) as { error: { message: string } }).error.message).toContain(
    'did not arrive in time (9 of 200 bytes within 1 s',
  );
  expect(mcp.received.length).toBe(seen);
  // The same refusal, the same record as on the Messages route (before: decision `deny`).
  let rec: { status: number; reasons: string[]; route: string; decision: string } | undefined;
  for (let i = 0; i < 100 && !rec; i++) {
    rec = (await records()).slice(before).find((x) => x.route === 'mcp' && x.status === 408);
    if (!rec) await new Promise((res) => setTimeout(res, 20));
  }
  expect(rec).toMatchObject({ reasons: ['BodyTimeout'], decision: 'error' });
}, 15_000);

test('a stalled upload streamed through to a service: cut by Node’s request timeout, the slot freed, audited', async () => {
  const before = (await records()).length;
  const r = await rawHttp(world.url, stalled('/services/files/upload'), { waitMs: 8000 });
  recordAttack({
    suite: SUITE,
    attack: 'POST to a service (body streamed through unread): headers, then 9 of 200 bytes, then nothing',
    expected: "closed by Node's request timeout; slot freed; one audit record",
    status: r.status,
    closed: r.closed,
  });
  expect(r.closed).toBe(true);
  // Both slots are free again: two requests at once are served without queueing behind anything.
  const [x, y] = await Promise.all([post('/v1/messages', haiku), post('/v1/messages', haiku)]);
  expect([x.status, y.status]).toEqual([200, 200]);
  // The cut request's record follows its connection's close (cancel, refusal, the audit's batch): wait for it.
  let added: Awaited<ReturnType<typeof records>> = [];
  for (let i = 0; i < 40 && added.length === 0; i++) {
    added = (await records()).slice(before).filter((rec) => rec.route === 'service');
    if (added.length === 0) await new Promise((res) => setTimeout(res, 50));
  }
  expect(added).toHaveLength(1);
  expect(added[0]!.status).toBeGreaterThanOrEqual(400);
  expect(uploadsSeen).toBeGreaterThan(0);
}, 15_000);
