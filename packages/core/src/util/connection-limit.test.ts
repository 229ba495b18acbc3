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
