// HTTP/1.1 pipelining: a connection may send requests ahead of their answers. Node's parser hands
// on every request of a read at once and keeps each one's request and response until it is
// answered; the sidecar now feeds it each connection's bytes a slice at a time, only while the
// requests read and not yet answered stay within bounds (http/read-gate.ts).
// Before: 600 connections that each pipelined 64 KB of bodiless requests and read nothing took the
// compiled sidecar (its container's 96 MB heap bound) past its heap limit (bench/pipelining.ts;
// 150 in one probe): V8 aborted it, with its requests in flight and their queued audit records.
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addScope, waitForPolicy } from '../helpers.ts';
import { startWorld, type World } from '../../src/testing/world.ts';
import { assertHealthy, completeJsonLines, recordAttack } from './support.ts';
import { until } from '@scopekeeper/kube/testing/until';

const SUITE = 'bursts and overload';
const BARE = 'GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n';

interface Pipe {
  socket: Socket;
  statuses: number[];
  closed: boolean;
}

/** A connection that writes `data` at once and reads nothing until `read()`. */
function pipe(url: string, data: string): Promise<Pipe> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const p: Pipe = { socket: connect({ port: Number(port), host: hostname }), statuses: [], closed: false };
    let tail = '';
    p.socket.on('error', () => undefined);
    p.socket.on('close', () => (p.closed = true));
    p.socket.on('data', (d: Buffer) => {
      // A status line cut between two reads is counted once, in the read where it ends.
      const text = tail + d.toString('latin1');
      for (const m of text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) if (m.index + m[0].length > tail.length) p.statuses.push(Number(m[1]));
      tail = text.slice(-16);
    });
    p.socket.pause();
    p.socket.once('connect', () => {
      p.socket.write(data);
      resolve(p);
    });
  });
}

/** The most requests the data server had read and not yet answered at once, from now on: in all, and on one connection. */
function watchOpen(world: World): { peak: () => number; peakOnOne: () => number } {
  const server = (world.sidecar as unknown as { dataServer: Server }).dataServer;
  let open = 0;
  let peak = 0;
  let peakOnOne = 0;
  const onSocket = new Map<Socket, number>();
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const s = req.socket;
    const n = (onSocket.get(s) ?? 0) + 1;
    onSocket.set(s, n);
    peakOnOne = Math.max(peakOnOne, n);
    peak = Math.max(peak, ++open);
    res.once('close', () => {
      open--;
      onSocket.set(s, onSocket.get(s)! - 1);
    });
  });
  return { peak: () => peak, peakOnOne: () => peakOnOne };
}

describe('pipelined requests', () => {
  let world: World;
  /** An internal service that reads an upload only once `reading` is set. */
  let files: Server;
  let reading = false;
  const readers: IncomingMessage[] = [];
  beforeAll(async () => {
    world = await startWorld();
    files = createServer((req, res) => {
      readers.push(req);
      if (reading) req.resume();
      else req.pause();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    await addScope(
      world,
      'uploader',
      'upload-bot',
      `  models: ["claude-haiku-*"]\n  endpoints:\n    - {name: files, url: "${url}", methods: [POST], paths: ["/upload"]}`,
    );
    const bot = await world.saToken('upload-bot');
    reading = true;
    await waitForPolicy(
      world,
      async () =>
        (await fetch(`${world.url}/services/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${bot}` }, body: '{}' }))
          .status === 200,
    );
    reading = false;
  });
  afterAll(async () => {
    await world?.close();
    files?.closeAllConnections();
    files?.close();
  });

  test('10 connections each pipeline 1,700 requests and read nothing: node is given them as the sidecar answers, all are answered in order and recorded', async () => {
    const before = completeJsonLines(readFileSync(world.auditFile, 'utf8')).length;
    const open = watchOpen(world);
    const pipes = await Promise.all(Array.from({ length: 10 }, () => pipe(world.url, BARE.repeat(1700))));
    await new Promise((r) => setTimeout(r, 500));
    const peakUnread = open.peak();
    for (const p of pipes) p.socket.resume();
    await until(
      () => `answers: ${pipes.map((p) => p.statuses.length).join(', ')}`,
      () => pipes.every((p) => p.statuses.length === 1700),
      60_000,
    );
    // Room for the gate (256 + 512) twice over, and one 4 KB slice of 38-byte requests past it;
    // on one connection, MAX_PIPELINED (16) and that slice.
    const slice = Math.ceil((4 * 1024) / BARE.length);
    const bound = 2 * (256 + 512) + slice;
    const boundOnOne = 16 + slice;
    recordAttack({
      suite: SUITE,
      attack: '10 connections, each 1,700 pipelined requests without a token, answers not read for 0.5 s',
      expected: `at most ${bound} requests read and unanswered at once, ${boundOnOne} on one connection; every request answered (401, or 529 past the gate), one record each`,
      status: 401,
      note: `peak ${open.peak()} read and unanswered, ${open.peakOnOne()} on one connection (${peakUnread} before reading)`,
    });
    expect(open.peakOnOne()).toBeLessThanOrEqual(boundOnOne);
    expect(open.peak()).toBeLessThanOrEqual(bound);
    for (const p of pipes) expect([...new Set(p.statuses)].filter((s) => s !== 401 && s !== 529)).toEqual([]);
    await until('the records', () => completeJsonLines(readFileSync(world.auditFile, 'utf8')).length >= before + 17_000, 30_000);
    for (const p of pipes) p.socket.destroy();
    await assertHealthy(world);
  }, 120_000);

  test('40 pipelined requests with 3 KB bodies (reads and slices cut across bodies): each answered 200, in order', async () => {
    const token = await world.saToken('support-bot');
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'x'.repeat(3000) }] });
    const one = `POST /v1/messages HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const p = await pipe(world.url, one.repeat(40));
    p.socket.resume();
    await until(
      () => `answers: ${p.statuses.length}`,
      () => p.statuses.length >= 40,
      30_000,
    );
    expect(p.statuses).toEqual(Array.from({ length: 40 }, () => 200));
    p.socket.destroy();
  }, 60_000);

  test('an upload streamed through to a service that reads none of it for 1.5 s: the sidecar takes only what its buffers hold meanwhile, then the rest', async () => {
    const bot = await world.saToken('upload-bot');
    const size = 48 * 1024 * 1024;
    const { hostname, port } = new URL(world.url);
    const c = connect({ host: hostname, port: Number(port) });
    c.on('error', () => undefined);
    await new Promise((r) => c.once('connect', r));
    let flushed = 0;
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    let answer = '';
    c.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    c.write(
      `POST /services/files/upload HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${bot}\r\ncontent-type: application/octet-stream\r\ncontent-length: ${size}\r\n\r\n`,
    );
    for (let i = 0; i < size / chunk.length; i++) c.write(chunk, () => (flushed += chunk.length));
    await new Promise((r) => setTimeout(r, 1500));
    const taken = flushed;
    reading = true;
    for (const r of readers) r.resume();
    await until(
      () => `answer: ${answer.slice(0, 40)}, flushed ${flushed}`,
      () => /^HTTP\/1\.1 200 /.test(answer),
      30_000,
    );
    c.destroy();
    // Loopback's socket buffers hold a few MB each way; before the fix (the sidecar resumed the
    // socket node had paused for the body), all 48 MiB went into the sidecar's memory.
    expect(taken).toBeLessThan(24 * 1024 * 1024);
    expect(flushed).toBe(size);
  }, 60_000);
});
