// The wait between a failing sink's attempts: exponential with ±20% jitter, from minMs doubling
// up to maxMs, reset by a success; wake() ends a wait at once (flush, close).
export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  #attempt = 0;
  #waiting: (() => void) | undefined;

  constructor(minMs: number, maxMs: number) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
  }

  /** Waits the next, longer delay. */
  sleep(): Promise<void> {
    const base = Math.min(this.#maxMs, this.#minMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    const delay = base * (0.8 + 0.4 * Math.random());
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiting = undefined;
        resolve();
      };
      const timer = setTimeout(wake, delay);
      this.#waiting = wake;
    });
  }

  /** Ends the wait under way, if any. */
  wake(): void {
    this.#waiting?.();
  }

  /** The sink succeeded: the next failure waits minMs again. */
  reset(): void {
    this.#attempt = 0;
  }
}
