// Bodies the sidecar holds whole and parses: what they cost in memory is bounded, per body and
// all together. Before: 5 MB of `{},` in one authenticated request took the heap past its bound
// (--max-old-space-size=96) and V8 aborted the process; a few large bodies in flight at once took
// it past its container's memory limit. Now a JSON text of more than MAX_JSON_VALUES values is
// refused before it is parsed (core util/json-size.ts), and bodies held whole share one budget
// (http/body-budget.ts, --max-buffered-bytes): past it, 529 with retry-after.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { MAX_JSON_VALUES } from '@scopekeeper/core';
import { startWorld, type World } from '../../src/testing/world.ts';
import { McpCrm } from '../../src/testing/mcp-crm.ts';
import { runSidecar } from '../../src/run.ts';
import { silentLogger } from '../../src/log.ts';
import { addScope, waitForPolicy } from '../helpers.ts';
import { addCrmScope } from '../mcp-helpers.ts';
import {
  anthropicError,
  completeJsonLines,
  errorTypeOf,
  heldBytes,
  rawHttp,
  recordAttack,
  startContainerSidecar,
  type ContainerSidecar,
} from './support.ts';
import { until } from '@scopekeeper/kube/testing/until';

const SUITE = 'bursts and overload';

/** A Messages request whose metadata holds `n` empty objects: ~3n bytes, ~67n bytes once parsed. */
function manyObjects(n: number, prompt = 'hi'): string {
  return `{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"${prompt}"}],"metadata":[${'{},'.repeat(n - 1)}{}]}`;
}

/** A valid Messages request of about `bytes` bytes (one long text). */
function sized(bytes: number, prompt = ''): string {
  const head = `{"model":"claude-haiku-4-5","max_tokens":16,"messages":[{"role":"user","content":"${prompt}`;
  return `${head}${'a'.repeat(bytes - head.length - 4)}"}]}`;
}

async function records(world: World): Promise<{ status: number; reasons: string[]; route: string; error?: string }[]> {
  return completeJsonLines(await readFile(world.auditFile, 'utf8'));
}

describe('JSON the sidecar parses is counted first', () => {
  let world: World;
  let svc: Server;
  let mcp: McpCrm;
  /** The masked service's answer: a list of `answerItems` small objects. */
  let answerItems = 10;

  beforeAll(async () => {
    svc = createServer((req, res) => {
      req.resume();
      const list = `[${Array.from({ length: answerItems }, (_, i) => `{"id":${i}}`).join(',')}]`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(list);
    });
    await new Promise<void>((r) => svc.listen(0, '127.0.0.1', r));
    mcp = await new McpCrm({ json: true }).start();
    world = await startWorld();
    const url = `http://127.0.0.1:${(svc.address() as AddressInfo).port}`;
    await addScope(
      world,
      'big-masked',
      'big-bot',
      `  models: ["claude-haiku-*"]\n  data: {mask: [email]}\n  endpoints:\n    - {name: list, url: "${url}", methods: [GET], paths: ["/**"]}`,
    );
    await addCrmScope(world, 'big-crm', 'big-crm-bot', mcp.url);
    const token = await world.saToken('big-bot');
    await waitForPolicy(world, async () => (await get('/services/list/all', token)).status === 200);
  });
  afterAll(async () => {
    await world.close();
    await mcp.close();
    svc.closeAllConnections();
    await new Promise<void>((r) => svc.close(() => r()));
  });

  const get = (path: string, token: string) => fetch(`${world.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  test('a Messages body of 300,000 empty objects (0.9 MB, ~20 MB once parsed) is refused before it is parsed', async () => {
    const before = world.stub!.total;
    const r = await fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await world.saToken('big-bot')}`, 'content-type': 'application/json' },
      body: manyObjects(300_000),
    });
    const text = await r.text();
    recordAttack({
      suite: SUITE,
      attack: 'a Messages body of 300,000 empty objects (5 MB of them aborted the heap-bounded process)',
      expected: '400 invalid_request_error naming the limit; nothing forwarded',
      status: r.status,
      errorType: anthropicError(text).error.type,
    });
    expect(r.status).toBe(400);
    expect(anthropicError(text).error).toEqual({
      type: 'invalid_request_error',
      message: `The request body is not inspected: it holds more than ${MAX_JSON_VALUES.toLocaleString('en-US')} JSON values (objects, arrays, members and elements). Send fewer, larger values (a long text rather than many small objects).`,
    });
    expect(world.stub!.total).toBe(before);
    // A body just under the bound is inspected as before.
    const ok = await fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await world.saToken('big-bot')}`, 'content-type': 'application/json' },
      body: manyObjects(100_000),
    });
    await ok.arrayBuffer();
    expect(ok.status).toBe(200);
  });

  test('an MCP message of 300,000 values is refused whole (413, -32600), nothing reaches the server', async () => {
    const token = await world.saToken('big-crm-bot');
    const seen = mcp.received.length;
    const args = `[${'{},'.repeat(299_999)}{}]`;
    const r = await fetch(`${world.url}/services/crm/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup_customer","arguments":{"x":${args}}}}`,
    });
    const body = (await r.json()) as { error: { code: number; message: string } };
    recordAttack({
      suite: SUITE,
      attack: 'an MCP tools/call whose arguments hold 300,000 empty objects',
      expected: '413, JSON-RPC -32600 naming the limit; nothing reaches the MCP server',
      status: r.status,
    });
    expect(r.status).toBe(413);
    expect(body.error.code).toBe(-32600);
    expect(body.error.message).toContain(`more than ${MAX_JSON_VALUES.toLocaleString('en-US')} JSON values`);
    expect(mcp.received.length).toBe(seen);
  });

  test('a masked service answer of 300,000 values is not parsed and not delivered (502, says to ask for less)', async () => {
    answerItems = 150_000; // each {"id":n} is an object and a member
    try {
      const r = await get('/services/list/all', await world.saToken('big-bot'));
      const text = await r.text();
      recordAttack({
        suite: SUITE,
        attack: 'a masking endpoint answers a list of 150,000 objects (300,000 values)',
        expected: '502 api_error "could not mask this answer (it holds more than 250,000 JSON values)"; nothing of the body',
        status: r.status,
        errorType: anthropicError(text).error.type,
      });
      expect(r.status).toBe(502);
      expect(anthropicError(text).error.message).toBe(
        `scopekeeper could not mask this answer (it holds more than ${MAX_JSON_VALUES.toLocaleString('en-US')} JSON values), so it was not delivered; ask for less at a time (a page of results, a shorter answer).`,
      );
      expect(text).not.toContain('"id":');
    } finally {
      answerItems = 10;
    }
  });
});

describe('bodies held whole share one budget (--max-buffered-bytes)', () => {
  let world: World;
  let token: string;
  const MAX_BODY = 600_000;

  beforeAll(async () => {
    world = await startWorld({ flags: { maxBodyBytes: MAX_BODY, maxBufferedBytes: 1_000_000 } });
    token = await world.saToken('support-bot');
  });
  afterAll(() => world.close());

  const post = (body: string) =>
    fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });

  test('a body that does not fit beside one still arriving gets 529 with retry-after; once that one is gone, it is served', async () => {
    // 500 kB of a 590 kB body, then nothing: those bytes stay taken while it arrives.
    const stalled = rawHttp(
      world.url,
      `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 590000\r\n\r\n${sized(590_000).slice(0, 500_000)}`,
      { waitMs: 1500 },
    );
    await until('the 500 kB of the stalled body held', () => heldBytes(world) >= 500_000);
    const before = (await records(world)).length;
    const refused = await post(sized(590_000));
    const text = await refused.text();
    recordAttack({
      suite: SUITE,
      attack: 'a 590 kB body while 500 kB of another are held (budget 1 MB)',
      expected: '529 overloaded_error, retry-after 1 (the body drained, the connection kept); served once the other is gone',
      status: refused.status,
      errorType: anthropicError(text).error.type,
    });
    expect(refused.status).toBe(529);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(anthropicError(text).error).toEqual({
      type: 'overloaded_error',
      message: expect.stringMatching(
        /^scopekeeper did not keep this request's body: the sidecar holds 0\.\d MiB of bodies of requests in flight, of at most 1\.0 MiB \(--max-buffered-bytes\); retry after 1 s\.$/,
      ),
    });
    await stalled; // the client closes the stalled connection: its bytes are given back
    await until('the stalled body given back', () => heldBytes(world) === 0);
    const again = await post(sized(590_000));
    await again.arrayBuffer();
    expect(again.status).toBe(200);
    const budget = async () => (await records(world)).slice(before).filter((r) => r.reasons.includes('BodyBudget')).length;
    await until('the record of the 529', async () => (await budget()) > 0);
    expect(await budget()).toBe(1);
  });

  test('a body goes back to the budget once it is with the upstream, not when the answer ends', async () => {
    // The stand-in reads the whole body, then waits 1.5 s before answering: meanwhile the second body fits.
    const sent = world.stub!.total;
    const slow = post(sized(590_000, 'STUB:slow:1500 '));
    await until('the first body with the upstream', () => world.stub!.total > sent && heldBytes(world) === 0);
    const second = await post(sized(590_000));
    await second.arrayBuffer();
    expect(second.status).toBe(200);
    const first = await slow;
    await first.arrayBuffer();
    expect(first.status).toBe(200);
  });

  test('a model list that does not fit in what is left gets 529 with retry-after (before: 502, "not JSON")', async () => {
    // Two bodies still arriving hold all but 50 bytes of the 1 MB.
    const stall = (length: number, sent: number) =>
      rawHttp(
        world.url,
        `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${sized(length).slice(0, sent)}`,
        { waitMs: 1500 },
      );
    const stalled = [stall(600_000, 590_000), stall(500_000, 409_950)];
    await until('both stalled bodies held', () => heldBytes(world) >= 999_950);
    const refused = await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    const text = await refused.text();
    expect(refused.status).toBe(529);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(anthropicError(text).error.message).toMatch(/^scopekeeper has no room to hold the upstream's answer now \(the sidecar holds/);
    await Promise.all(stalled);
    await until('the stalled bodies given back', () => heldBytes(world) === 0);
    const again = await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    await again.arrayBuffer();
    expect(again.status).toBe(200);
  });

  test('a start that could never read a body of the largest size is refused, saying what to raise', async () => {
    // (runSidecar checks the flags before it opens anything)
    await expect(runSidecar({ ...world.flags, maxBodyBytes: 2_000_000, maxBufferedBytes: 1_000_000 }, silentLogger())).rejects.toThrow(
      /--max-buffered-bytes 1000000 is less than --max-body-bytes 2000000: a body of the largest size could never be read; raise --max-buffered-bytes \(and the sidecar's memory limit with it\) or lower --max-body-bytes/,
    );
  });
});

describe('an answer read whole is held until its caller has it', () => {
  let world: World;
  let svc: Server;
  const MIB = 1024 * 1024;

  beforeAll(async () => {
    // A masked service whose answer (16 MiB) is more than loopback's socket buffers take in.
    const answer = Buffer.from(JSON.stringify(['x'.repeat(16 * MIB - 4)]));
    svc = createServer((req, res) => (req.resume(), void res.writeHead(200, { 'content-type': 'application/json' }).end(answer)));
    await new Promise<void>((r) => svc.listen(0, '127.0.0.1', r));
    world = await startWorld({ flags: { maxBodyBytes: 10 * MIB, maxBufferedBytes: 24 * MIB } });
    const url = `http://127.0.0.1:${(svc.address() as AddressInfo).port}`;
    await addScope(
      world,
      'big-answer',
      'big-answer-bot',
      `  models: ["claude-haiku-*"]\n  data: {mask: [email]}\n  endpoints:\n    - {name: dump, url: "${url}", methods: [GET], paths: ["/**"]}`,
    );
    const token = await world.saToken('big-answer-bot');
    await waitForPolicy(world, async () => {
      const r = await fetch(`${world.url}/services/dump/all`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      return r.status === 200;
    });
  });
  afterAll(async () => {
    await world.close();
    svc.closeAllConnections();
    await new Promise<void>((r) => svc.close(() => r()));
  });

  test('a caller that does not read its 16 MiB answer keeps it in the budget: a 9 MiB body meanwhile gets 529, and 200 once it is read', async () => {
    const token = await world.saToken('big-answer-bot');
    // Asks, then reads nothing: what the kernel does not take stays in the sidecar.
    const slow = connect(Number(new URL(world.url).port), '127.0.0.1');
    slow.pause();
    slow.write(`GET /services/dump/all HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 500));
    const body = () =>
      fetch(`${world.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: sized(9 * MIB),
      });
    const refused = await body();
    const text = await refused.text();
    recordAttack({
      suite: SUITE,
      attack: 'a caller asks for a 16 MiB masked answer and does not read it, then a 9 MiB body (budget 24 MiB)',
      expected: '529 overloaded_error: the unread answer is still held (before: given back once handed to the socket)',
      status: refused.status,
      errorType: errorTypeOf(text),
    });
    expect(refused.status).toBe(529);
    let got = 0;
    slow.on('data', (c: Buffer) => (got += c.length));
    slow.resume();
    for (let i = 0; i < 100 && got < 16 * MIB; i++) await new Promise((r) => setTimeout(r, 20));
    slow.destroy();
    const again = await body();
    await again.arrayBuffer();
    expect(again.status).toBe(200);
  });

  test('an answer that does not fit beside a body still arriving gets 529 with retry-after, as a body would (before: 502)', async () => {
    // 9 MiB of a Messages body, then nothing: they stay taken while it arrives; the 16 MiB answer
    // has 15 MiB of the 24. (In a pod, four 15 MiB bodies at once hit this race: e2e/pods.)
    const token = await world.saToken('big-answer-bot');
    const whole = sized(10 * MIB - 1024);
    const stalled = rawHttp(
      world.url,
      `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${whole.length}\r\n\r\n${whole.slice(0, 9 * MIB)}`,
      { waitMs: 2500 },
    );
    await new Promise((r) => setTimeout(r, 500));
    const before = completeJsonLines<{ status: number; error?: string }>(await readFile(world.auditFile, 'utf8')).length;
    const refused = await fetch(`${world.url}/services/dump/all`, { headers: { authorization: `Bearer ${token}` } });
    const text = await refused.text();
    recordAttack({
      suite: SUITE,
      attack: 'a 16 MiB masked answer while 9 MiB of a body are held (budget 24 MiB)',
      expected: '529 overloaded_error, retry-after 1, as for a body that does not fit (before: 502 api_error)',
      status: refused.status,
      errorType: errorTypeOf(text),
    });
    expect(refused.status).toBe(529);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(anthropicError(text).error).toEqual({
      type: 'overloaded_error',
      message: expect.stringMatching(
        /^scopekeeper has no room to hold the upstream's answer now \(the sidecar holds \d+\.\d MiB of bodies of requests in flight, of at most 24\.0 MiB \(--max-buffered-bytes\)\); retry after 1 s\.$/,
      ),
    });
    await stalled;
    // The record is written after the answer (batch window, write, fdatasync): read until it is there.
    const added = async () => completeJsonLines<{ status: number; error?: string }>(await readFile(world.auditFile, 'utf8')).slice(before);
    await until('the record of the 529', async () => (await added()).some((r) => r.status === 529));
    expect((await added()).find((r) => r.status === 529)?.error).toMatch(/^body budget: the sidecar holds/);
    const again = await fetch(`${world.url}/services/dump/all`, { headers: { authorization: `Bearer ${token}` } });
    await again.arrayBuffer();
    expect(again.status).toBe(200);
  });
});

describe('the sidecar as its container runs it (heap bounded by SIDECAR_NODE_OPTIONS)', () => {
  let sidecar: ContainerSidecar | undefined;
  afterAll(() => sidecar?.stop());

  test('5 MB of `{},` in one request: 400, and the process lives on (before: V8 aborted it, out of heap)', async () => {
    sidecar = await startContainerSidecar();
    const token = await sidecar.token('support-bot');
    const answer = fetch(`${sidecar.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: manyObjects(1_750_000),
    }).then(
      (r) => r.status,
      (e: Error) => `no answer: ${e.message}`,
    );
    const outcome = await Promise.race([answer, sidecar.exited]);
    expect(outcome).toBe(400);
    const health = await fetch(`${sidecar.adminUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(sidecar.alive()).toBe(true);
  }, 30_000);
});
