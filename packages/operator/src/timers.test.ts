import { TimerHeap, type TimerClock } from './timers.ts';

/** A clock the test moves: timers fire when advance() passes them, in order. */
class FakeClock implements TimerClock {
  t = 1_000_000;
  /** Wall clock minus timer clock (to simulate timers that fire a little early). */
  skew = 0;
  armed = new Map<number, { at: number; fn: () => void }>();
  private id = 0;
  sets = 0;
  now(): number {
    return this.t + this.skew;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.sets++;
    const id = ++this.id;
    this.armed.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.armed.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.armed.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > end) break;
      this.armed.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

describe('TimerHeap', () => {
  test('fires each key at its instant, in order, with one armed timer', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const h = new TimerHeap((k) => fired.push(`${k}@${clock.now() - 1_000_000}`), clock);
    h.schedule('c', clock.now() + 300);
    h.schedule('a', clock.now() + 100);
    h.schedule('b', clock.now() + 200);
    expect(clock.armed.size).toBe(1);
    clock.advance(250);
    expect(fired).toEqual(['a@100', 'b@200']);
    clock.advance(100);
    expect(fired).toEqual(['a@100', 'b@200', 'c@300']);
    expect(h.size).toBe(0);
    expect(clock.armed.size).toBe(0);
  });

  test('rescheduling a key replaces its instant; cancel removes it', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const h = new TimerHeap((k) => fired.push(k), clock);
    h.schedule('a', clock.now() + 100);
    h.schedule('a', clock.now() + 500);
    h.schedule('b', clock.now() + 200);
    h.cancel('b');
    clock.advance(400);
    expect(fired).toEqual([]);
    clock.advance(100);
    expect(fired).toEqual(['a']);
    h.schedule('a', clock.now() + 10);
    h.schedule('a', clock.now() + 5);
    clock.advance(20);
    expect(fired).toEqual(['a', 'a']);
  });

  test('10,000 deadlines: one timer armed at a time, each fired once, never early', () => {
    const clock = new FakeClock();
    const start = clock.now();
    const fired = new Map<string, number>();
    const h = new TimerHeap((k, at) => {
      expect(clock.now()).toBeGreaterThanOrEqual(at);
      fired.set(k, (fired.get(k) ?? 0) + 1);
    }, clock);
    for (let i = 0; i < 10_000; i++) h.schedule(`r${i}`, start + 1000 + ((i * 7919) % 20_000));
    for (let i = 0; i < 10_000; i += 3) h.schedule(`r${i}`, start + 30_000 + i); // moved later
    expect(clock.armed.size).toBe(1);
    clock.advance(50_000);
    expect(fired.size).toBe(10_000);
    expect([...fired.values()].every((n) => n === 1)).toBe(true);
    expect(h.size).toBe(0);
  });

  test('a timer that fires before the wall clock reaches the deadline re-arms instead of firing early', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const h = new TimerHeap(() => fired.push(clock.now()), clock);
    const due = clock.now() + 100;
    h.schedule('a', due);
    clock.skew = -2; // the wall clock lags the timer clock by 2 ms
    clock.advance(100);
    expect(fired).toEqual([]);
    clock.advance(2);
    expect(fired).toEqual([due]);
  });

  test("deadlines beyond setTimeout's ~24.8 days are reached in steps", () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const h = new TimerHeap((k) => fired.push(k), clock);
    h.schedule('far', clock.now() + 90 * 86_400_000);
    clock.advance(89 * 86_400_000);
    expect(fired).toEqual([]);
    clock.advance(86_400_000);
    expect(fired).toEqual(['far']);
  });
});
