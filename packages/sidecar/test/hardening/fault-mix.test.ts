// Upstream faults at once: many concurrent requests, JSON and streamed, each meeting another
// behaviour of a raw upstream (an answer, a slow one, a reset, a close, an unasked 101, garbage,
// a body cut short, a stream cut three ways in the middle of an address, a stall past
// --upstream-timeout, conflicting lengths, informational answers first) while some callers hang
// up. upstream-faults.test.ts sends each fault alone; here they share the pool's sockets and the
// gate, so a fault that leaves a request waiting, answers it twice or spills into a neighbour's
// answer shows as a missing or extra record, a request left open, a reset, or an address (or its
// start) in clear. The mix is fixed (request i meets behaviour i mod 15), so a failure replays.
import { createServer, type Server, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { startWorld, type World } from '../../src/testing/world.ts';
import { assertHealthy, completeJsonLines, recordAttack } from './support.ts';
import { until } from '@scopekeeper/kube/testing/until';

const SUITE = 'bursts and overload';
const N = 520;
const AT_ONCE = 130;
const ADDRESS = 'jane.doe@example.com';

const message = JSON.stringify({
  id: 'msg_mix',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [{ type: 'text', text: `write to ${ADDRESS}` }],
  stop_reason: 'end_turn',
  usage: { input_tokens: 3, output_tokens: 2 },
});
const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const events =
  ev('message_start', {
    message: {
      id: 'msg_mix',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      usage: { input_tokens: 1, output_tokens: 0 },
    },
  }) +
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
  // The address split across deltas: only a masker that holds text across them masks it.
  ['write to jane.d', 'oe@exam', 'ple.com today']
    .map((text) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }))
    .join('') +
  ev('content_block_stop', { index: 0 }) +
  ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }) +
  ev('message_stop', {});

/** The stream's events up to the delta that would finish the address (whole events only). */
const beforeLastPart = events.slice(0, events.indexOf('event: content_block_delta', events.indexOf('oe@exam')));

const chunked = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
const answer = (streamed: boolean) =>
  streamed
    ? `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n${chunked(events)}0\r\n\r\n`
    : `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(message)}\r\n\r\n${message}`;
const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n';

type Behaviour = (s: Socket, streamed: boolean) => void;
const BEHAVIOURS: [string, Behaviour][] = [
  ['answer', (s, st) => void s.write(answer(st))],
  ['answer after 0.3 s', (s, st) => void setTimeout(() => !s.destroyed && s.write(answer(st)), 300)],
  ['reset', (s) => void s.resetAndDestroy()],
  ['close', (s) => void s.destroy()],
  ['101', (s) => void s.write(SWITCH)],
  ['101, then an answer', (s, st) => void s.write(SWITCH + answer(st))],
  ['garbage', (s) => void s.write('\x00\x01 not http\r\n\r\n')],
  [
    'JSON cut short',
    (s) => (
      s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n${message.slice(0, 60)}`),
      void setTimeout(() => s.destroy(), 30)
    ),
  ],
  [
    'stream cut in the middle of the address',
    (s) => (
      s.write(
        `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n${chunked(events.slice(0, events.indexOf('ple.com')))}`,
      ),
      void setTimeout(() => s.resetAndDestroy(), 30)
    ),
  ],
  [
    'stream ended cleanly in the middle of the address',
    (s) =>
      void s.write(
        `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n${chunked(beforeLastPart)}0\r\n\r\n`,
      ),
  ],
  [
    'an error event in the middle of the address',
    (s) =>
      void s.write(
        `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n${chunked(beforeLastPart)}${chunked(ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }))}0\r\n\r\n`,
      ),
  ],
  ['silence past --upstream-timeout', () => undefined],
  ['two content-lengths', (s) => void s.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello')],
  [
    '100 and 103 first',
    (s, st) => void s.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n${answer(st)}`),
  ],
  ['an answer, then a second one nobody asked for', (s, st) => void s.write(answer(st) + answer(!st))],
];

interface Outcome {
  status: number;
  streamed: boolean;
  requestId?: string;
  body: string;
  /** The connection failed without an HTTP answer (not a caller that hung up). */
  reset?: string;
  hungUp: boolean;
}

describe('upstream faults at once', () => {
  let world: World;
  let upstream: Server;
  let healthy = false;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    upstream = createServer((s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      let head = '';
      s.on('data', (d: Buffer) => {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(head.slice(0, end))?.[1] ?? 0);
        if (head.length < end + 4 + length) return;
        const body = head.slice(end + 4);
        head = '';
        const i = Number(/"content":"mix (\d+)"/.exec(body)?.[1] ?? -1);
        const streamed = body.includes('"stream":true');
        if (healthy || i < 0) return void s.write(answer(streamed));
        BEHAVIOURS[i % BEHAVIOURS.length]![1](s, streamed);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    world = await startWorld({
      flags: { upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, upstreamConnections: 16, upstreamTimeout: 2 },
    });
  });
  afterAll(async () => {
    await world.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  test(`${N} requests, ${AT_ONCE} at once, each meeting one of ${BEHAVIOURS.length} upstream behaviours, some callers hanging up: each answered or cut once, one record each, none left open, no address in clear`, async () => {
    const token = await world.saToken('support-bot'); // a masking scope
    const { hostname, port } = new URL(world.url);
    const agent = new Agent({ keepAlive: true, maxSockets: AT_ONCE });
    const one = (i: number) =>
      new Promise<Outcome>((resolve) => {
        const streamed = i % 2 === 1;
        // Every tenth caller hangs up, at a time of its own within the upstream's 2 s.
        const hangUpAt = i % 10 === 3 ? (i * 37) % 2000 : undefined;
        const body = JSON.stringify({
          model: 'claude-sonnet-4-5',
          max_tokens: 32,
          stream: streamed,
          messages: [{ role: 'user', content: `mix ${i}` }],
        });
        const req = request(
          {
            host: hostname,
            port,
            method: 'POST',
            path: '/v1/messages',
            agent,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            const done = (reset?: string) =>
              resolve({
                status: res.statusCode ?? 0,
                streamed,
                requestId: res.headers['x-scopekeeper-request-id'] as string | undefined,
                body: text,
                reset,
                hungUp: hangUpAt !== undefined,
              });
            res.on('end', () => done());
            res.on('error', (e) => done(e.message));
          },
        );
        req.on('error', (e) => resolve({ status: 0, streamed, body: '', reset: e.message, hungUp: hangUpAt !== undefined }));
        if (hangUpAt !== undefined) setTimeout(() => req.destroy(new Error('the caller hung up')), hangUpAt);
        req.end(body);
      });
    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        while (next < N) outcomes.push(await one(next++));
      }),
    );
    agent.destroy();

    const stayed = outcomes.filter((o) => !o.hungUp);
    const counts = new Map<string, number>();
    for (const o of stayed) {
      const key = `${o.status}${o.streamed ? ' streamed' : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const statuses = [...counts.keys()].sort();
    const cut = stayed.filter((o) => o.reset !== undefined);
    const clear = outcomes.filter((o) => o.body.includes(ADDRESS) || o.body.includes('oe@exam'));
    // Deadlines far past any busy machine (the full suite runs two files at once): they only bound a failure.
    await until('every request ended in the sidecar', () => world.sidecar.openRequests === 0, 60_000);
    let records: { requestId: string }[] = [];
    await until(
      () => `${N} audit records (${records.length} written)`,
      async () => (records = completeJsonLines<{ requestId: string }>(await readFile(world.auditFile, 'utf8'))).length >= N,
      60_000,
    );
    healthy = true;
    await assertHealthy(world);
    recordAttack({
      suite: SUITE,
      attack: `${N} requests (${AT_ONCE} at once, JSON and streamed, a masking scope), each meeting one of ${BEHAVIOURS.length} upstream behaviours (${BEHAVIOURS.map(([n]) => n).join('; ')}), every tenth caller hanging up`,
      expected: 'every caller that stayed answered (200, 502, 504), none reset; one record each; none left open; no address in clear',
      status: cut.length ? 0 : 200,
      note: `${[...counts].map(([k, n]) => `${n} × ${k}`).join(', ')}; ${outcomes.length - stayed.length} hung up; ${records.length} records`,
    });
    expect(cut.map((o) => o.reset)).toEqual([]);
    expect(statuses.every((s) => /^(200|502|504)( streamed)?$/.test(s))).toBe(true);
    expect(clear.map((o) => o.body.slice(o.body.indexOf('content_block_delta') - 20))).toEqual([]);
    // One record per request (the health check's is the one more), each request id once.
    const ids = records.map((r) => r.requestId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(records.length).toBe(N);
    for (const o of stayed) expect(ids).toContain(o.requestId);
  }, 90_000);
});
