import { WorkQueue } from './queue.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  test('a key queued many times is processed once; never twice at the same time; re-run when added meanwhile', async () => {
    const runs: string[] = [];
    let inFlight = 0;
    let maxSameKey = 0;
    const release: (() => void)[] = [];
    const q = new WorkQueue({
      concurrency: 4,
      process: async (key) => {
        inFlight++;
        maxSameKey = Math.max(maxSameKey, inFlight);
        runs.push(key);
        await new Promise<void>((r) => release.push(r));
        inFlight--;
      },
    });
    q.add('a');
    q.add('a');
    q.add('a');
    await tick();
    expect(runs).toEqual(['a']);
    q.add('a'); // while processing: once more afterwards
    q.add('a');
    release.shift()!();
    await tick();
    expect(runs).toEqual(['a', 'a']);
    release.shift()!();
    await q.idle();
    expect(runs).toEqual(['a', 'a']);
    expect(maxSameKey).toBe(1);
  });

  test('processes up to `concurrency` keys at once', async () => {
    let active = 0;
    let peak = 0;
    const q = new WorkQueue({
      concurrency: 3,
      process: async () => {
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      },
    });
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    await q.idle();
    expect(peak).toBe(3);
  });

  test('failures back off per key, exponentially; success resets; retryNow ends every backoff', async () => {
    const delays: number[] = [];
    const timers: { fn: () => void; ms: number }[] = [];
    let fail = true;
    let calls = 0;
    const q = new WorkQueue({
      backoff: { initialMs: 100, maxMs: 1000, jitter: 0 },
      process: async () => {
        calls++;
        if (fail) throw new Error('API down');
      },
      onError: (_k, _e, ms) => delays.push(ms),
      setTimeout: (fn, ms) => {
        timers.push({ fn, ms });
        return timers.length;
      },
      clearTimeout: () => {},
    });
    q.add('k');
    for (let i = 0; i < 5; i++) {
      await q.idle();
      timers.shift()!.fn();
    }
    await q.idle();
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(q.backingOff).toBe(1);
    fail = false;
    q.retryNow();
    await q.idle();
    expect(q.backingOff).toBe(0);
    expect(calls).toBe(7);
    fail = true;
    q.add('k');
    await q.idle();
    expect(delays.at(-1)).toBe(100); // success forgot the failures
  });

  test('clear() drops queued keys and backoffs', async () => {
    const seen: string[] = [];
    let gate!: () => void;
    const q = new WorkQueue({
      concurrency: 1,
      process: async (k) => {
        seen.push(k);
        if (k === 'first') await new Promise<void>((r) => (gate = r));
      },
    });
    q.add('first');
    q.add('second');
    await tick();
    q.clear();
    gate();
    await q.idle();
    expect(seen).toEqual(['first']);
  });
});
