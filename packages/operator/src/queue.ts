// A work queue as client-go's: a key is queued at most once; a key added while it is being
// processed is processed again afterwards (never twice at the same time); a failed key comes
// back after a per-key exponential backoff that success resets.
import { backoffDelay, type BackoffOptions } from '@scopekeeper/kube';

export interface WorkQueueOptions {
  process: (key: string) => Promise<void>;
  /** Keys processed at the same time. Default 8. */
  concurrency?: number;
  /** Backoff after failures: default 100 ms doubling to 60 s, 20% jitter. */
  backoff?: BackoffOptions;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  /** Timers, for tests. */
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

export class WorkQueue {
  private readonly opts: WorkQueueOptions;
  private readonly concurrency: number;
  private readonly backoff: BackoffOptions;
  private ready: string[] = [];
  private head = 0;
  /** Keys waiting in `ready`, or to be re-queued when their processing ends. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly waiting = new Map<string, unknown>();
  private running = true;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions) {
    this.opts = opts;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
    this.backoff = { initialMs: 100, maxMs: 60_000, jitter: 0.2, ...opts.backoff };
  }

  /** Keys queued or being processed. */
  get length(): number {
    return this.ready.length - this.head + this.processing.size;
  }

  /** Keys waiting out a backoff. */
  get backingOff(): number {
    return this.waiting.size;
  }

  add(key: string): void {
    if (!this.running || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.ready.push(key);
    this.pump();
  }

  /** Queues the key after its backoff (which grows with each failure). */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = backoffDelay(n, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  addAfter(key: string, ms: number): void {
    if (!this.running || this.waiting.has(key)) return;
    const set = this.opts.setTimeout ?? ((fn: () => void, d: number) => setTimeout(fn, d).unref());
    this.waiting.set(
      key,
      set(() => {
        this.waiting.delete(key);
        this.add(key);
      }, ms),
    );
  }

  /** Forgets the key's failures: its next failure waits the initial delay again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Ends every backoff now (the API is back after an outage: retry at once). */
  retryNow(): void {
    for (const [key, handle] of this.waiting) {
      this.cancelTimer(handle);
      this.waiting.delete(key);
      this.add(key);
    }
  }

  /** Drops queued keys and backoffs (keys being processed finish). */
  clear(): void {
    for (const handle of this.waiting.values()) this.cancelTimer(handle);
    this.waiting.clear();
    this.failures.clear();
    this.ready = [];
    this.head = 0;
    this.dirty.clear();
  }

  /** Stops taking keys; resolves when the keys being processed are done. */
  async shutdown(): Promise<void> {
    this.running = false;
    this.clear();
    await this.idle();
  }

  /** Resolves when nothing is queued or being processed. */
  idle(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private cancelTimer(handle: unknown): void {
    (this.opts.clearTimeout ?? ((h: unknown) => clearTimeout(h as NodeJS.Timeout)))(handle);
  }

  private pump(): void {
    while (this.processing.size < this.concurrency && this.head < this.ready.length) {
      const key = this.ready[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.head);
        this.head = 0;
      }
      this.dirty.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
    if (this.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async run(key: string): Promise<void> {
    try {
      await this.opts.process(key);
      this.forget(key);
    } catch (err) {
      if (this.running) {
        const delay = this.addRateLimited(key);
        this.opts.onError?.(key, err, delay);
      }
    } finally {
      this.processing.delete(key);
      if (this.dirty.has(key)) this.ready.push(key);
      this.pump();
    }
  }
}
