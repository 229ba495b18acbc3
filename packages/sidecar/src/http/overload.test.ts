import { EventEmitter } from 'node:events';
import { jest } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { callerKey, ConcurrencyGate, overloadMessage, perCallerLimit, type Turnaway } from './overload.ts';

/** A response that closes when told to: all the gate reads of it. */
class FakeRes extends EventEmitter {
  close(): void {
    this.emit('close');
  }
}

interface Req {
  name: string;
  res: FakeRes;
  outcome?: 'started' | Turnaway;
}

/** Every request of the test, closed after it so that no waiter's timer outlives it. */
const open: Req[] = [];
afterEach(() => {
  for (const r of open.splice(0)) r.res.close();
});

function harness(limits: { limit: number; maxQueued: number; maxWaitMs?: number }) {
  const gate = new ConcurrencyGate({ maxWaitMs: 60_000, ...limits });
  const started: string[] = [];
  const turned: string[] = [];
  const reqs = new Map<string, Req>();
  const send = (key: string, name: string): Req => {
    const r: Req = { name, res: new FakeRes() };
    reqs.set(name, r);
    open.push(r);
    gate.enter(
      r.res as unknown as ServerResponse,
      key,
      () => {
        r.outcome = 'started';
        started.push(name);
      },
      (why) => {
        r.outcome = why;
        turned.push(`${name}:${why}`);
      },
    );
    return r;
  };
  const finish = (name: string) => reqs.get(name)!.res.close();
  return { gate, send, finish, started, turned };
}

describe('ConcurrencyGate', () => {
  test('the most slots one caller holds: all but a sixteenth, at least one left to others when there are two or more', () => {
    expect([1, 2, 3, 16, 17, 32, 256].map(perCallerLimit)).toEqual([1, 1, 2, 15, 16, 30, 240]);
  });

  test('one caller alone: runs up to its most, queues first come first served, then turns away (full)', () => {
    const h = harness({ limit: 4, maxQueued: 2 });
    for (const n of ['a0', 'a1', 'a2', 'a3', 'a4', 'a5']) h.send('A', n);
    expect(h.started).toEqual(['a0', 'a1', 'a2']);
    expect(h.turned).toEqual(['a5:full']);
    expect([h.gate.inFlight, h.gate.queued]).toEqual([3, 2]);
    h.finish('a2');
    h.finish('a1');
    expect(h.started).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect([h.gate.inFlight, h.gate.queued]).toEqual([3, 0]);
  });

  test('a caller at its most waits with a slot free; another caller takes that slot at once; a slot the other frees stays free', () => {
    const h = harness({ limit: 4, maxQueued: 8 });
    for (const n of ['a0', 'a1', 'a2', 'a3']) h.send('A', n);
    expect([h.started, h.gate.inFlight, h.gate.queued]).toEqual([['a0', 'a1', 'a2'], 3, 1]);
    expect([h.gate.atMost('A'), h.gate.atMost('B')]).toEqual([true, false]);
    h.send('B', 'b0');
    expect(h.started.at(-1)).toBe('b0');
    h.finish('b0');
    expect([h.gate.inFlight, h.gate.queued]).toEqual([3, 1]); // a3 still waits: A holds its most
    h.finish('a0');
    expect([h.started.at(-1), h.gate.inFlight, h.gate.queued]).toEqual(['a3', 3, 0]);
  });

  test("a caller's flood does not shut out another caller: one slot is left to it, the flood's newest waiter gives way, and the next free slot is the other's", () => {
    const h = harness({ limit: 4, maxQueued: 8 });
    for (let i = 0; i < 20; i++) h.send('flood', `f${i}`);
    expect(h.started).toEqual(['f0', 'f1', 'f2']);
    expect(h.turned).toHaveLength(9); // f11…f19: full
    expect(h.turned.every((t) => t.endsWith(':full'))).toBe(true);
    h.turned.length = 0;
    h.send('other', 'o1'); // the slot the flood may not take
    h.send('other', 'o2');
    h.send('other', 'o3');
    // The flood's two newest waiters (f10, f9) made room.
    expect([h.started.at(-1), h.turned]).toEqual(['o1', ['f10:share', 'f9:share']]);
    expect(h.gate.shareOf('flood')).toEqual({ running: 3, waiting: 6 });
    expect(h.gate.shareOf('other')).toEqual({ running: 1, waiting: 2 });
    h.finish('f0');
    // A free slot goes to the caller with the fewest running (other: 1, flood 2), ahead of f3…f8, which came first.
    expect(h.started.at(-1)).toBe('o2');
    h.finish('f1'); // flood 1, other 2
    expect(h.started.at(-1)).toBe('f3');
  });

  test('a full queue turns a newcomer away when no caller has more waiting than it (no thrash between equals)', () => {
    const h = harness({ limit: 1, maxQueued: 2 });
    h.send('A', 'a0');
    h.send('A', 'a1');
    h.send('B', 'b1');
    expect(h.turned).toEqual([]);
    h.send('B', 'b2'); // A 1 waiting, B 1: equal, so b2 is the one turned away
    h.send('C', 'c1'); // C has none waiting, A and B one each: the first of them with the most (A) gives way
    expect(h.turned).toEqual(['b2:full', 'a1:share']);
    expect(h.gate.queued).toBe(2);
  });

  test('among callers with as many running, the request waiting longest starts first', () => {
    const h = harness({ limit: 2, maxQueued: 10 });
    h.send('A', 'a0');
    h.send('B', 'b0');
    h.send('B', 'b1');
    h.send('A', 'a1');
    h.send('C', 'c1');
    h.finish('a0'); // A 0 running, B 1, C 0: A's a1 and C's c1 tie at 0, and a1 came first
    expect(h.started).toEqual(['a0', 'b0', 'a1']);
    h.finish('b0'); // A 1, B 0, C 0: b1 came before c1
    expect(h.started.at(-1)).toBe('b1');
    h.finish('a1');
    expect(h.started.at(-1)).toBe('c1');
  });

  test('a waiter that times out or whose caller hangs up leaves the queue; nothing of a caller is kept once it has no request', async () => {
    const h = harness({ limit: 1, maxQueued: 4, maxWaitMs: 5 });
    h.send('A', 'a0');
    h.send('A', 'a1');
    const b = h.send('B', 'b1');
    b.res.close();
    expect(h.turned).toEqual(['b1:closed']);
    expect(h.gate.shareOf('B')).toEqual({ running: 0, waiting: 0 });
    await new Promise((r) => setTimeout(r, 30));
    expect(h.turned).toEqual(['b1:closed', 'a1:waited']);
    expect([h.gate.inFlight, h.gate.queued]).toEqual([1, 0]);
    h.finish('a0');
    expect([h.gate.inFlight, h.gate.queued]).toEqual([0, 0]);
    expect(h.gate.shareOf('A')).toEqual({ running: 0, waiting: 0 });
    // A slot freed with nobody waiting starts nothing, and a new caller then runs at once.
    h.send('C', 'c1');
    expect(h.started).toEqual(['a0', 'c1']);
  });

  test('the caller that gives way is the one with the most waiting, wherever it stands among the callers', () => {
    const h = harness({ limit: 1, maxQueued: 4 });
    h.send('A', 'a0'); // A runs
    h.send('B', 'b1');
    h.send('C', 'c1');
    h.send('C', 'c2');
    h.send('C', 'c3'); // queue full: B 1, C 3
    h.send('D', 'd1');
    expect(h.turned).toEqual(['c3:share']);
    expect([h.gate.shareOf('B').waiting, h.gate.shareOf('C').waiting, h.gate.shareOf('D').waiting]).toEqual([1, 2, 1]);
  });

  test('ties go by arrival, not by the order in which the callers were first seen', () => {
    const h = harness({ limit: 2, maxQueued: 10 });
    h.send('A', 'a0');
    h.send('C', 'c0');
    h.send('C', 'c1'); // waits first
    h.send('A', 'a1'); // waits second; A was seen before C
    h.finish('a0'); // A 0 running, C 1: a1
    h.finish('c0'); // A 1, C 0: c1
    expect(h.started).toEqual(['a0', 'c0', 'a1', 'c1']);
    const g = harness({ limit: 3, maxQueued: 10 });
    g.send('A', 'a0');
    g.send('C', 'c0');
    g.send('B', 'b0');
    g.send('C', 'c1'); // waits first
    g.send('A', 'a1'); // waits second; A was seen before C
    g.finish('b0'); // A and C 1 running each: c1, which came first
    expect(g.started.at(-1)).toBe('c1');
  });

  test('a caller with fewer running but nothing waiting does not take the slot from one that waits', () => {
    const h = harness({ limit: 3, maxQueued: 4 });
    h.send('B', 'b0');
    h.send('B', 'b1');
    h.send('C', 'c0'); // C: 1 running, nothing waiting, seen after B
    h.send('B', 'b2'); // waits
    h.finish('b0');
    expect(h.started).toEqual(['b0', 'b1', 'c0', 'b2']);
    expect([h.gate.inFlight, h.gate.queued]).toEqual([3, 0]);
  });

  test('what the gate keeps of a caller: its running and waiting counts while it has a request, nothing after', () => {
    const h = harness({ limit: 1, maxQueued: 4 });
    h.send('A', 'a0');
    const a1 = h.send('A', 'a1');
    a1.res.close(); // A still runs a0: it stays counted
    expect(h.gate.shareOf('A')).toEqual({ running: 1, waiting: 0 });
    h.send('B', 'b1');
    h.send('B', 'b2');
    expect(h.gate.callerCount).toBe(2);
    h.finish('a0'); // A gone; b1 runs
    expect([h.gate.callerCount, h.gate.shareOf('B').running, h.gate.shareOf('B').waiting]).toEqual([1, 1, 1]);
    h.finish('b1');
    h.finish('b2');
    expect([h.gate.callerCount, h.gate.inFlight, h.gate.queued]).toEqual([0, 0, 0]);
    // A request turned away at once (full: a new caller finds room unless nothing waits) leaves nothing behind either.
    const g = harness({ limit: 1, maxQueued: 0 });
    g.send('A', 'a0');
    g.send('B', 'b1');
    expect(g.turned).toEqual(['b1:full']);
    expect(g.gate.callerCount).toBe(1);
  });

  test('a wait takes its timer and its close listener with it when it ends: by starting, by giving way, or by a hang-up', () => {
    jest.useFakeTimers();
    try {
      const h = harness({ limit: 1, maxQueued: 2 });
      h.send('A', 'a0');
      const a1 = h.send('A', 'a1');
      const a2 = h.send('A', 'a2');
      expect([jest.getTimerCount(), a1.res.listenerCount('close')]).toEqual([2, 1]);
      const b1 = h.send('B', 'b1'); // a2 gives way
      expect([a2.outcome, a2.res.listenerCount('close'), jest.getTimerCount()]).toEqual(['share', 0, 2]);
      b1.res.close();
      expect([b1.outcome, jest.getTimerCount(), h.gate.callerCount]).toEqual(['closed', 1, 1]);
      h.finish('a0');
      // a1 runs: only the slot's listener is left on it, and no timer
      expect([a1.outcome, a1.res.listenerCount('close'), jest.getTimerCount()]).toEqual(['started', 1, 0]);
    } finally {
      jest.useRealTimers();
    }
  });

  test("a response closing twice, or a waiter's close after it started, frees one slot only", () => {
    const h = harness({ limit: 1, maxQueued: 2 });
    h.send('A', 'a0');
    const a1 = h.send('A', 'a1');
    h.finish('a0');
    expect(h.started).toEqual(['a0', 'a1']);
    a1.res.close();
    a1.res.close();
    expect([h.gate.inFlight, h.gate.queued]).toEqual([0, 0]);
  });
});

describe('callerKey', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  test('the token as the verifier reads it: spacing and the header it comes in do not make it another caller', () => {
    const keys = [
      callerKey(req({ authorization: 'Bearer eyJa.b.c' })),
      callerKey(req({ authorization: 'Bearer    eyJa.b.c' })),
      callerKey(req({ 'x-api-key': 'eyJa.b.c' })),
    ];
    expect(new Set(keys)).toEqual(new Set(['eyJa.b.c']));
    expect(callerKey(req({ authorization: 'Bearer eyJx.y.z' }))).toBe('eyJx.y.z');
    expect(callerKey(req({}))).toBe('');
  });
});

describe('overloadMessage', () => {
  const base = { inFlight: 16, queued: 64, retryAfterSeconds: 1 };
  test('says which bound turned the request away, and what to do', () => {
    expect(overloadMessage({ ...base, why: 'full' })).toBe(
      'scopekeeper is at its concurrency limit (16 requests in flight, 64 queued); retry after 1 s.',
    );
    expect(overloadMessage({ ...base, why: 'share', callerQueued: 60 })).toBe(
      "scopekeeper is at its concurrency limit (16 requests in flight, 64 queued, 60 of them this caller's, the most of any caller): this request gave way to another caller's; retry after 1 s, or send fewer requests at once.",
    );
    expect(overloadMessage({ ...base, why: 'waited', retryAfterSeconds: 2, callerRunning: 15 })).toBe(
      'scopekeeper could not start this request: this caller has 15 requests in flight, the most one caller may have (all of --max-concurrent but a sixteenth, left to other callers); retry after 2 s, or send fewer requests at once.',
    );
    expect(overloadMessage({ ...base, why: 'waited', retryAfterSeconds: 2 })).toBe(
      'scopekeeper could not start this request while 16 others were in flight; retry after 2 s.',
    );
  });
});
