// Connections the data port keeps open are bounded (--max-connections, http/connections.ts), and
// the admin port's too (64: it is the port other pods reach).
// Before: a connection kept alive after its answer stayed open for keepAliveTimeout (65 s) and
// each cost the sidecar ~13 KB; 18,000 of them took the compiled sidecar to 273 MB of RSS, past its
// container's 256Mi. The concurrency gate counts requests, not connections.
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { startWorld, type World } from '../../src/testing/world.ts';
import { runSidecar } from '../../src/run.ts';
import { silentLogger } from '../../src/log.ts';
import { assertHealthy, completeJsonLines, recordAttack } from './support.ts';
import { until } from '@scopekeeper/kube/testing/until';

const SUITE = 'bursts and overload';

interface Conn {
  socket: Socket;
  /** Status of each answer read on it, in order. */
  statuses: number[];
  /** What it read (latin1). */
  text: string;
  closed: boolean;
}

/**
 * A connection that sends `request` and keeps what comes back; it is not closed from this side
 * (with `halfOpen`, not even once the sidecar closes its side: the sidecar must close it).
 */
function open(url: string, request: string, halfOpen = false): Promise<Conn> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const c: Conn = {
      socket: connect({ port: Number(port), host: hostname, allowHalfOpen: halfOpen }),
      statuses: [],
      text: '',
      closed: false,
    };
    c.socket.on('error', () => undefined);
    c.socket.on('close', () => (c.closed = true));
    c.socket.on('data', (d: Buffer) => {
      c.text += d.toString('latin1');
      for (const m of d.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)) c.statuses.push(Number(m[1]));
    });
    c.socket.once('connect', () => {
      if (request) c.socket.write(request);
      resolve(c);
    });
  });
}

/** Connections the data port's limit counts as open now. */
const openConnections = (world: World) => (world.sidecar as unknown as { connections: { open: number } }).connections.open;

describe('--max-connections', () => {
  let world: World;
  let token: string;
  /** A second caller: one caller holds at most all slots but a sixteenth (http/overload.ts). */
  let other: string;
  const conns: Conn[] = [];

  beforeAll(async () => {
    world = await startWorld({ flags: { maxConnections: 40, maxConcurrent: 24, maxQueued: 16, maxQueueWait: 5 } });
    token = await world.saToken('support-bot');
    other = await world.saToken('ops-bot');
  });
  afterAll(async () => {
    for (const c of conns) c.socket.destroy();
    await world.close();
  });

  const messages = (content: string, as = token) => {
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content }] });
    return `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${as}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };

  test('60 connections kept alive after their answer, limit 40: the oldest idle ones are closed, the sidecar serves on', async () => {
    const idle: Conn[] = [];
    for (let i = 0; i < 60; i++) {
      const c = await open(world.url, messages('hi'));
      conns.push(c);
      idle.push(c);
      await until('its answer', () => c.statuses.length === 1 || c.closed);
    }
    await until('the 20 idle longest to close', () => idle.filter((c) => c.closed).length >= 20, 2000);
    const closed = idle.filter((c) => c.closed).length;
    recordAttack({
      suite: SUITE,
      attack: '60 connections kept alive after one request each, --max-connections 40',
      expected: 'every request answered; the 20 idle longest closed (before: all kept for 65 s, ~13 KB each)',
      status: 200,
      note: `${closed} closed; answered ${idle.filter((c) => c.statuses[0] === 200).length} of 60`,
    });
    expect(idle.every((c) => c.statuses[0] === 200)).toBe(true);
    expect(closed).toBe(20);
    // The oldest went first: the last 40 are still open.
    expect(idle.slice(0, 20).every((c) => c.closed)).toBe(true);
    expect(idle.slice(20).some((c) => c.closed)).toBe(false);
    await assertHealthy(world);
  });

  test('with every connection in a request, new ones are answered 529 and closed; past twice the limit answered before they are read; past three times closed; once they end, requests are served', async () => {
    for (const c of conns.splice(0)) c.socket.destroy();
    // (one may stay: assertHealthy's fetch keeps its connection alive in undici's pool, which the
    // limit closes as the idle longest once it needs the room)
    await until('the previous connections to close', () => openConnections(world) <= 1);
    const busy: Conn[] = [];
    // (from two callers, so that together they take all 24 slots and the 16 places in the queue)
    for (let i = 0; i < 40; i++) busy.push(await open(world.url, messages('STUB:slow:4000 wait', i % 2 ? other : token)));
    conns.push(...busy);
    // (each in its request: read, and waiting for the slow upstream)
    await until('the 40 slow requests to be read', () => world.sidecar.openRequests === 40);
    // Kept past the limit only to be told: 529 with retry-after, then closed (before: closed unread).
    const told = await open(world.url, messages('hi'));
    conns.push(told);
    await until('the 41st to be answered and closed', () => told.closed, 2000);
    expect([told.closed, told.statuses, told.text]).toEqual([true, [529], expect.stringMatching(/\r\nretry-after: 1\r\n/i)]);
    expect(told.text).toMatch(/more than --max-connections \(40\); retry after 1 s on a new connection/);
    // 40 more that send nothing yet fill the band past the limit (80 open): the next is answered
    // the same 529 at once, before its request is read (before: closed unread, a reset to its caller).
    const silent: Conn[] = [];
    for (let i = 0; i < 40; i++) silent.push(await open(world.url, ''));
    conns.push(...silent);
    const extra = await open(world.url, messages('hi'));
    conns.push(extra);
    await until('the 82nd to be answered and closed', () => extra.closed, 3000);
    expect([extra.closed, extra.statuses]).toEqual([true, [529]]);
    const [head, body] = extra.text.split('\r\n\r\n');
    expect(head).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(head).toMatch(/\r\nconnection: close(\r\n|$)/i);
    expect(JSON.parse(body!)).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error', message: expect.stringMatching(/more than --max-connections \(40\)/) },
    });
    // Its request, read after the answer, is recorded once, under the request id it was told.
    const toldId = /\r\nx-scopekeeper-request-id: (\S+)\r\n/i.exec(extra.text)?.[1];
    expect(toldId).toMatch(/^req_sk_/);
    const recordOf = async (id: string) => {
      let found: { requestId: string; status: number; reasons: string[] }[] = [];
      await until(`the record of ${id}`, () => {
        found = completeJsonLines<{ requestId: string; status: number; reasons: string[] }>(readFileSync(world.auditFile, 'utf8')).filter(
          (r) => r.requestId === id,
        );
        return found.length > 0;
      });
      return found;
    };
    expect((await recordOf(toldId!)).map((r) => [r.status, r.reasons])).toEqual([[529, ['Connections']]]);
    // Two requests pipelined on such a connection: one answer, neither served, two records under two ids.
    const refusedIds = () =>
      completeJsonLines<{ requestId: string; reasons: string[] }>(readFileSync(world.auditFile, 'utf8'))
        .filter((r) => r.reasons[0] === 'Connections')
        .map((r) => r.requestId);
    const refusedBefore = refusedIds().length;
    const piped = await open(world.url, messages('hi') + messages('hi'));
    conns.push(piped);
    await until('the pipelining connection to be answered and closed', () => piped.closed, 3000);
    expect(piped.statuses).toEqual([529]);
    const pipedId = /\r\nx-scopekeeper-request-id: (\S+)\r\n/i.exec(piped.text)?.[1];
    await until('both pipelined requests recorded', () => refusedIds().length >= refusedBefore + 2);
    const pipedRecords = refusedIds().slice(refusedBefore);
    expect(pipedRecords).toHaveLength(2);
    expect(pipedRecords).toContain(pipedId);
    expect(new Set(pipedRecords).size).toBe(2);
    // Callers that neither send nor close fill that band too (40 more, each answered at once);
    // past three times the limit a new one is closed before anything is sent or read.
    const unread: Conn[] = [];
    for (let i = 0; i < 40; i++) unread.push(await open(world.url, '', true));
    conns.push(...unread);
    await until('the 40 silent callers to be answered', () => unread.every((c) => c.statuses.length === 1));
    expect(unread.map((c) => c.statuses[0])).toEqual(Array(40).fill(529));
    const past = await open(world.url, messages('hi'));
    conns.push(past);
    await until('the connection past three times the limit to close', () => past.closed, 2000);
    expect([past.closed, past.statuses]).toEqual([true, []]);
    // The sidecar closes them soon (they bound its memory) though their callers keep them open.
    expect(openConnections(world)).toBe(120);
    await until('the band past the limit to empty', () => openConnections(world) === 80, 5000);
    expect(openConnections(world)).toBe(80);
    // One of the silent ones sends its request now: told, too.
    silent[0]!.socket.write(messages('hi'));
    await until('the silent caller that sent its request to be answered', () => silent[0]!.closed, 2000);
    expect(silent[0]!.statuses).toEqual([529]);
    await until('the 40 slow requests answered', () => busy.every((c) => c.statuses.length === 1), 15_000);
    expect(busy.map((c) => c.statuses[0])).toEqual(Array(40).fill(200));
    await assertHealthy(world);
  }, 30_000);

  test('the admin port (other pods reach it, no token needed): 100 connections holding half their headers, a probe still gets in', async () => {
    const held: Conn[] = [];
    for (let i = 0; i < 100; i++) held.push(await open(world.adminUrl, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
    conns.push(...held);
    await until('the 36 admin connections held longest to close', () => held.filter((c) => c.closed).length >= 36, 2000);
    const probe = await fetch(`${world.adminUrl}/readyz`);
    const closed = held.filter((c) => c.closed).length;
    recordAttack({
      suite: SUITE,
      attack: '100 connections to the admin port, each holding half its headers (before: all kept until the 60 s headers timeout)',
      expected: 'at most 64 open, the oldest closed; /readyz still 200',
      status: probe.status,
      note: `${closed} of 100 closed`,
    });
    expect(probe.status).toBe(200);
    expect(closed).toBeGreaterThanOrEqual(37); // 36 to make room for the rest, one more for the probe
    expect(held.slice(0, 36).every((c) => c.closed)).toBe(true);
  });

  test('a start whose --max-connections could not hold the requests the queue answers is refused, saying what to raise', async () => {
    await expect(runSidecar({ ...world.flags, maxConnections: 100, maxConcurrent: 256, maxQueued: 512 }, silentLogger())).rejects.toThrow(
      /--max-connections 100 is less than --max-concurrent \+ --max-queued \(768\): requests the queue would answer with 529 would find their connection closed instead; raise --max-connections or lower the other two/,
    );
  });
});
