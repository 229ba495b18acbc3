import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { Backoff } from './backoff.ts';

/** The delay of each setTimeout the backoff starts, each wait ended at once with wake(). */
async function delays(b: Backoff, n: number): Promise<number[]> {
  const timeout = jest.spyOn(globalThis, 'setTimeout');
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const waiting = b.sleep();
    out.push(timeout.mock.calls.at(-1)![1] as number);
    b.wake();
    await waiting;
  }
  timeout.mockRestore();
  return out;
}

describe('Backoff', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  test('each wait doubles from minMs up to maxMs; a success starts again from minMs', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5); // no jitter
    const b = new Backoff(10, 80);
    expect(await delays(b, 6)).toEqual([10, 20, 40, 80, 80, 80]);
    b.reset();
    expect(await delays(b, 2)).toEqual([10, 20]);
  });

  test('the jitter is ±20%', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    expect(await delays(new Backoff(100, 100), 1)).toEqual([80]);
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    const [high] = await delays(new Backoff(100, 100), 1);
    expect(high).toBeGreaterThan(119);
    expect(high).toBeLessThan(120);
  });

  test('wake() ends a long wait at once, and does nothing when no wait is under way', async () => {
    const b = new Backoff(60_000, 60_000);
    b.wake();
    const waiting = b.sleep();
    b.wake();
    await waiting; // (jest's 5 s timeout fails the test if wake() did not end it)
    b.wake();
  });
});
