import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ConnectionLimit } from './connection-limit.ts';

/** Enough of a Socket for the limit: destroy() closes it, as a real one does a moment later. */
function sockets(n: number): Socket[] {
  return Array.from({ length: n }, () => {
    const s = new EventEmitter() as EventEmitter & { destroyed: boolean; destroy(): void };
    s.destroyed = false;
    s.destroy = () => {
      if (s.destroyed) return;
      s.destroyed = true;
      queueMicrotask(() => s.emit('close'));
    };
    return s as unknown as Socket;
  });
}
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
