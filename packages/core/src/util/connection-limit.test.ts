import { EventEmitter } from 'node:events';
import { ConnectionLimit, limitConnections, type Connection, type ConnectionServer } from './connection-limit.ts';

/** A connection as a socket is one: destroy() closes it, and 'close' follows a moment later. */
class FakeSocket extends EventEmitter implements Connection {
  destroyed = false;
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.emit('close'));
  }
}
type Socket = FakeSocket;
const sockets = (n: number): Socket[] => Array.from({ length: n }, () => new FakeSocket());
const tick = () => new Promise((r) => setImmediate(r));
const destroyed = (list: Socket[]) => list.map((s) => s.destroyed);

test('past the limit, the connection waiting longest without a request is closed, not one in a request', async () => {
  const limit = new ConnectionLimit(3);
  const [a, b, c, d] = sockets(4) as [Socket, Socket, Socket, Socket];
  for (const s of [a, b, c]) expect(limit.opened(s)).toBe(true);
  limit.busy(a); // a is in a request: b has waited longest
  expect(limit.opened(d)).toBe(true);
  expect(destroyed([a, b, c, d])).toEqual([false, true, false, false]);
  await tick();
  expect([limit.open, limit.closed]).toEqual([3, 1]);
});

test('a connection whose request ended waits again, behind those already waiting', () => {
  const limit = new ConnectionLimit(2);
  const [a, b, c] = sockets(3) as [Socket, Socket, Socket];
  limit.opened(a);
  limit.opened(b);
  limit.busy(a);
  limit.free(a); // a is now newest in line
  limit.opened(c);
  expect(destroyed([a, b])).toEqual([false, true]);
});

test('two requests on one connection (pipelined): it waits again only once both are over', async () => {
  const limit = new ConnectionLimit(1);
  const [a, b, c] = sockets(3) as [Socket, Socket, Socket];
  limit.opened(a);
  limit.busy(a);
  limit.busy(a);
  limit.free(a);
  expect(limit.opened(b)).toBe(false); // a is still in a request
  limit.free(a);
  await tick();
  expect(limit.opened(c)).toBe(true);
  expect(a.destroyed).toBe(true);
});

test('when every connection is in a request, the new one is closed at once', async () => {
  const limit = new ConnectionLimit(2);
  const [a, b, c, d] = sockets(4) as [Socket, Socket, Socket, Socket];
  for (const s of [a, b]) {
    limit.opened(s);
    limit.busy(s);
  }
  expect(limit.opened(c)).toBe(false);
  expect(destroyed([a, b, c])).toEqual([false, false, true]);
  await tick();
  expect([limit.open, limit.closed]).toEqual([2, 1]);
  // A closed connection's late free() changes nothing; one closing makes room.
  limit.free(c);
  a.destroy();
  await tick();
  expect(limit.opened(d)).toBe(true);
  expect(limit.closed).toBe(1);
});

test('a connection that closed is out of the line: the next one past the limit closes a live one', async () => {
  const limit = new ConnectionLimit(2);
  const [a, b, c, d] = sockets(4) as [Socket, Socket, Socket, Socket];
  limit.opened(a);
  limit.opened(b);
  a.destroy();
  await tick();
  limit.opened(c);
  limit.opened(d); // past the limit: b has waited longest (a is gone)
  expect(destroyed([b, c, d])).toEqual([true, false, false]);
  expect(limit.open).toBe(3); // b's close is still to come
  await tick();
  expect(limit.open).toBe(2);
});

test("a closed connection's late free() does not put it back in line", async () => {
  const limit = new ConnectionLimit(2);
  const [a, b, c, d] = sockets(4) as [Socket, Socket, Socket, Socket];
  limit.opened(a);
  limit.busy(a);
  a.destroy();
  await tick();
  limit.free(a); // its response closed after the socket did
  expect([limit.open, limit.tracked]).toEqual([0, 0]);
  limit.opened(b);
  limit.opened(c);
  limit.opened(d); // past the limit: b, not the closed a
  expect(destroyed([b, c, d])).toEqual([true, false, false]);
});

test('connections arriving in one tick each close another one, not the same one twice', () => {
  const limit = new ConnectionLimit(1);
  const [a, b, c] = sockets(3) as [Socket, Socket, Socket];
  limit.opened(a);
  limit.opened(b); // closes a (its close event is still to come)
  limit.opened(c); // closes b
  expect(destroyed([a, b, c])).toEqual([true, true, false]);
  expect(limit.closed).toBe(2);
});

test('busy() and free() of a connection the limit never saw change nothing', () => {
  const limit = new ConnectionLimit(1);
  const [stranger, a, b] = sockets(3) as [Socket, Socket, Socket];
  limit.busy(stranger);
  limit.free(stranger);
  limit.free(stranger);
  expect(limit.tracked).toBe(0);
  limit.opened(a);
  limit.opened(b); // closes a, never the stranger
  expect(destroyed([stranger, a, b])).toEqual([false, true, false]);
});

/** A server as node:http's is one, for limitConnections. */
class FakeServer extends EventEmitter {
  request(s: Socket): EventEmitter {
    const res = new EventEmitter();
    this.emit('request', { socket: s }, res);
    return res;
  }
}

test('limitConnections counts what the server reports and marks a connection busy for the length of each request', async () => {
  const server = new FakeServer();
  const closedBy: number[] = [];
  const limit: ConnectionLimit<Socket> = limitConnections(server as unknown as ConnectionServer<Socket>, 2, {
    onClosed: (): void => void closedBy.push(limit.closed),
  });
  const [a, b, c, d] = sockets(4) as [Socket, Socket, Socket, Socket];
  server.emit('connection', a);
  server.emit('connection', b);
  const res = server.request(a); // a is in a request
  server.emit('connection', c); // past the limit: b, not a
  expect(destroyed([a, b, c])).toEqual([false, true, false]);
  expect(closedBy).toEqual([1]);
  res.emit('close'); // a waits again
  server.request(c); // c is in a request: a is the only one waiting
  await tick();
  server.emit('connection', d);
  expect(destroyed([a, c, d])).toEqual([true, false, false]);
  expect(closedBy).toEqual([1, 2]);
});

test("limitConnections with on: 'secureConnection' counts only connections past their handshake", () => {
  const server = new FakeServer();
  const limit = limitConnections(server as unknown as ConnectionServer<Socket>, 1, { on: 'secureConnection' });
  const [raw, a, b] = sockets(3) as [Socket, Socket, Socket];
  server.emit('connection', raw);
  server.emit('secureConnection', a);
  expect(limit.open).toBe(1);
  server.emit('secureConnection', b);
  expect(destroyed([raw, a, b])).toEqual([false, true, false]);
});

describe('overflow and the grace of connections not used yet (a burst opens its connections at once)', () => {
  /** A limit of 2 with 2 more kept over it and a 1 s grace, on a clock the test moves. */
  function burstLimit(): { limit: ConnectionLimit<Socket>; clock: { t: number } } {
    const clock = { t: 1_000 };
    return { limit: new ConnectionLimit<Socket>(2, { overflow: 2, freshGraceMs: 1_000, now: () => clock.t }), clock };
  }

  test('a connection not used yet is not closed for room within the grace: the new one is kept over the limit', () => {
    const { limit } = burstLimit();
    const [a, b, c] = sockets(3) as [Socket, Socket, Socket];
    limit.opened(a);
    limit.opened(b);
    expect(limit.opened(c)).toBe(true);
    expect(destroyed([a, b, c])).toEqual([false, false, false]);
    expect([limit.isOver(a), limit.isOver(b), limit.isOver(c)]).toEqual([false, false, true]);
    expect([limit.open, limit.closed, limit.overTotal]).toEqual([3, 0, 1]);
  });

  test('past max + overflow the new one is closed at once', () => {
    const { limit } = burstLimit();
    const s = sockets(5);
    for (const x of s.slice(0, 4)) expect(limit.opened(x)).toBe(true);
    expect(limit.opened(s[4]!)).toBe(false);
    expect(destroyed(s)).toEqual([false, false, false, false, true]);
    expect([limit.closed, limit.overTotal]).toEqual([1, 2]);
  });

  test('past max + overflow, up to `unread` connections are handed to answerUnread instead of closed; past that one is closed at once', async () => {
    const clock = { t: 1_000 };
    const handed: Socket[] = [];
    const limit = new ConnectionLimit<Socket>(2, {
      overflow: 2,
      freshGraceMs: 1_000,
      now: () => clock.t,
      answerUnread: (s) => handed.push(s),
      unread: 2,
    });
    const s = sockets(7);
    for (const x of s.slice(0, 4)) expect(limit.opened(x)).toBe(true);
    expect([limit.opened(s[4]!), limit.opened(s[5]!)]).toEqual([false, false]);
    expect(handed).toEqual([s[4], s[5]]);
    // Open, and counted, until they close; neither closed nor over.
    expect([limit.open, limit.closed, limit.overTotal, limit.unreadTotal]).toEqual([6, 0, 2, 2]);
    expect([limit.isOver(s[4]!), destroyed(s)]).toEqual([false, [false, false, false, false, false, false, false]]);
    // The band of unread answers is full: the next is closed at once.
    expect(limit.opened(s[6]!)).toBe(false);
    expect([s[6]!.destroyed, limit.closed, handed.length]).toEqual([true, 1, 2]);
    // One of them closes: the next past the limits is handed over again.
    s[4]!.destroy();
    await tick();
    const [late] = sockets(1) as [Socket];
    expect(limit.opened(late)).toBe(false);
    expect([late.destroyed, handed.at(-1) === late, limit.unreadTotal]).toEqual([false, true, 3]);
  });

  test('a connection answered unread is never closed for room, even once its request (read after the answer) is over', () => {
    const handed: Socket[] = [];
    const limit = new ConnectionLimit<Socket>(1, { answerUnread: (s) => handed.push(s), unread: 1 });
    const [a, b, c] = sockets(3) as [Socket, Socket, Socket];
    limit.opened(a);
    limit.busy(a);
    limit.opened(b); // a is in a request: b is answered unread
    expect(handed).toEqual([b]);
    limit.busy(b);
    limit.free(b);
    limit.free(a); // a waits for its next request: the one to close for room
    limit.opened(c);
    expect(destroyed([a, b, c])).toEqual([true, false, false]);
  });

  test('without answerUnread, `unread` hands nothing over: past max + overflow the new one is closed', () => {
    const limit = new ConnectionLimit<Socket>(1, { unread: 5 });
    const [a, b] = sockets(2) as [Socket, Socket];
    limit.opened(a);
    limit.busy(a);
    expect(limit.opened(b)).toBe(false);
    expect([b.destroyed, limit.unreadTotal]).toEqual([true, 0]);
  });

  test('once the grace is over, the unused connection waiting longest is closed for room as before', () => {
    const { limit, clock } = burstLimit();
    const [a, b, c, d] = sockets(4) as [Socket, Socket, Socket, Socket];
    limit.opened(a);
    clock.t += 500;
    limit.opened(b);
    clock.t += 999; // a: 1,499 ms, b: 999 ms
    limit.opened(c);
    expect(destroyed([a, b, c])).toEqual([true, false, false]);
    expect(limit.isOver(c)).toBe(false);
    clock.t += 1; // b: exactly the grace
    limit.opened(d);
    expect(destroyed([b, d])).toEqual([true, false]);
    expect(limit.overTotal).toBe(0);
  });

  test('a connection kept alive after its answer is closed for room at once, grace or not', () => {
    const { limit } = burstLimit();
    const [a, b, c] = sockets(3) as [Socket, Socket, Socket];
    limit.opened(a);
    limit.busy(a);
    limit.free(a); // used: kept alive after its answer
    limit.opened(b);
    limit.opened(c);
    expect(destroyed([a, b, c])).toEqual([true, false, false]);
    expect(limit.isOver(c)).toBe(false);
  });

  test('an over connection is never waiting: after its answer it is not closed for room, and its close makes room', async () => {
    const { limit, clock } = burstLimit();
    const [a, b, c, d, e] = sockets(5) as [Socket, Socket, Socket, Socket, Socket];
    limit.opened(a);
    limit.opened(b);
    limit.opened(c); // over
    limit.busy(c);
    limit.free(c); // answered; the server closes it
    clock.t += 5_000;
    limit.opened(d); // past the limit: a (waiting longest, grace over), never the over c
    expect(destroyed([a, b, c, d])).toEqual([true, false, false, false]);
    c.destroy();
    await tick();
    expect([limit.isOver(c), limit.open]).toEqual([false, 2]);
    limit.opened(e); // past the limit again: b
    expect(destroyed([b, e])).toEqual([true, false]);
    expect(limit.isOver(e)).toBe(false);
  });

  test('without overflow or grace (the defaults) the limit behaves as before: the oldest unused one is closed', () => {
    const limit = new ConnectionLimit<Socket>(1);
    const [a, b] = sockets(2) as [Socket, Socket];
    limit.opened(a);
    limit.opened(b);
    expect(destroyed([a, b])).toEqual([true, false]);
    expect([limit.overflow, limit.overTotal, limit.isOver(b)]).toEqual([0, 0, false]);
  });

  test('limitConnections passes overflow and grace on', () => {
    const server = new FakeServer();
    const limit = limitConnections(server as unknown as ConnectionServer<Socket>, 1, { overflow: 1, freshGraceMs: 60_000 });
    const [a, b, c] = sockets(3) as [Socket, Socket, Socket];
    for (const s of [a, b, c]) server.emit('connection', s);
    expect(destroyed([a, b, c])).toEqual([false, false, true]);
    expect(limit.isOver(b)).toBe(true);
  });
});
