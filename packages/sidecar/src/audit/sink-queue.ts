// One sink's delivery (AuditLog, log.ts, owns the chain and gives every sink the same entries in
// the same order). The queue is written front to back: a sink writes what has queued up during
// the batch window (group commit), and a failed batch is retried with exponential backoff before
// anything behind it, so the sink's log never has a hole that later lines skip over. Only a full
// queue (sink-backlog.ts holds it) drops a record, for this sink alone, counted as a failure.
import type { ChainHead } from '@scopekeeper/core';
import { Backoff } from './backoff.ts';
import { release, settle, type Entry } from './entry.ts';
import { Backlog, type BacklogLimits } from './sink-backlog.ts';
import type { AuditSink } from './sink.ts';

export interface AuditSinkStatus {
  name: string;
  queued: number;
  failing: boolean;
  lastError?: string;
  written: number;
  dropped: number;
}

/** AuditLogOptions' limits, defaults applied. */
export interface QueueSettings extends BacklogLimits {
  batchMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

/** What a queue tells its AuditLog. Each call is already guarded: a hook that throws does not break delivery. */
export interface QueueEvents {
  failure(sink: string, err: Error): void;
  /** n records are now written to every sink. */
  written(n: number): void;
  notice(sink: string, message: string): void;
  /** Entries were written or settled: flush() looks again. */
  progressed(): void;
  /** flush() is waiting: write batch after batch without waiting for the window. */
  hurrying(): boolean;
}

export class SinkQueue {
  readonly sink: AuditSink;
  readonly #settings: QueueSettings;
  readonly #events: QueueEvents;
  readonly #backlog: Backlog;
  #opened: boolean;
  #running: Promise<void> | undefined;
  #batchTimer: NodeJS.Timeout | undefined;
  readonly #backoff: Backoff;
  #failing = false;
  #lastError: Error | undefined;
  #written = 0;
  #dropped = 0;
  #stopped = false;

  constructor(sink: AuditSink, settings: QueueSettings, events: QueueEvents) {
    this.sink = sink;
    this.#settings = settings;
    this.#events = events;
    this.#opened = !sink.open;
    this.#backlog = new Backlog(settings);
    this.#backoff = new Backoff(settings.minBackoffMs, settings.maxBackoffMs);
  }

  get queued(): number {
    return this.#backlog.length;
  }

  /** Its last write or open failed, or it dropped a record. */
  get failing(): boolean {
    return this.#failing;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Whether a record at or before `seq` still waits to be written here. */
  holds(seq: number): boolean {
    return this.queued > 0 && this.#backlog.first!.seq <= seq;
  }

  status(): AuditSinkStatus {
    return {
      name: this.sink.name,
      queued: this.queued,
      failing: this.#failing,
      ...(this.#lastError ? { lastError: this.#lastError.message } : {}),
      written: this.#written,
      dropped: this.#dropped,
    };
  }

  /** Opens the sink at start: where its log ends (to continue the chain). A failure is retried once records arrive. */
  async open(): Promise<ChainHead | undefined> {
    if (!this.sink.open) return undefined;
    try {
      return await this.#open();
    } catch (err) {
      this.#failed(err as Error);
      return undefined;
    }
  }

  async #open(): Promise<ChainHead | undefined> {
    const r = (await this.sink.open!()) ?? {};
    this.#opened = true;
    if (r.notice) this.#events.notice(this.sink.name, r.notice);
    return r.resumeFrom;
  }

  /** After start: a sink whose open failed retries it (with backoff) at once, not on its first record. */
  retryOpen(): void {
    if (!this.#opened) this.#pump();
  }

  /**
   * Queues the entry, or drops it for this sink when the queue is full. Its waiter (--audit-required)
   * is rejected when it is dropped, and when the sink is failing already: queued, it would not be
   * written in time for its request.
   */
  offer(entry: Entry): void {
    const full = this.#backlog.full(entry);
    if (full !== undefined) {
      entry.dropped = true;
      entry.remaining--;
      this.#dropped++;
      this.#failing = true;
      const err = new Error(`audit queue of ${this.sink.name} is full (${full}): record ${entry.seq} was dropped for this sink`);
      this.#lastError = err;
      this.#events.failure(this.sink.name, err);
      settle(entry.waiter, err);
      return;
    }
    if (entry.waiter && this.#failing) {
      settle(
        entry.waiter,
        new Error(
          `audit sink ${this.sink.name} is failing (${this.#lastError?.message ?? 'unknown error'}); record ${entry.seq} is queued and will be retried`,
        ),
      );
    }
    this.#backlog.push(entry);
    this.#schedule();
  }

  /** flush(): write what is queued now, without the batch window or the backoff. */
  hurry(): void {
    if (this.#batchTimer) {
      clearTimeout(this.#batchTimer);
      this.#batchTimer = undefined;
      this.#pump();
    }
    this.#backoff.wake();
  }

  /** close(): no more writes after the one under way. */
  stop(): void {
    this.#stopped = true;
    if (this.#batchTimer) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    this.#backoff.wake();
  }

  /** Closes the sink once its write under way is over; what is still queued is rejected. Returns what failed, if anything. */
  async close(): Promise<Error | undefined> {
    let failure: Error | undefined;
    try {
      await this.sink.close();
    } catch (err) {
      failure = new Error(`closing audit sink ${this.sink.name} failed: ${(err as Error).message}`);
    }
    await this.#running;
    for (const e of this.#backlog) settle(e.waiter, new Error(`audit log closed before record ${e.seq} was written to ${this.sink.name}`));
    return failure;
  }

  #schedule(): void {
    if (this.#running || this.#batchTimer || this.#stopped) return;
    this.#batchTimer = setTimeout(() => {
      this.#batchTimer = undefined;
      this.#pump();
    }, this.#settings.batchMs);
  }

  #pump(): void {
    if (this.#running || this.#stopped) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      this.#events.progressed();
      if (this.queued > 0 && !this.#stopped) this.#schedule();
    });
  }

  async #drain(): Promise<void> {
    while (!this.#stopped && (this.queued > 0 || !this.#opened)) {
      if (!this.#opened) {
        // Only reached after a failed open (at start or here): wait before trying again.
        await this.#sleep();
        if (this.#stopped) break;
        try {
          await this.#open();
        } catch (err) {
          this.#failed(err as Error);
          continue;
        }
      }
      if (this.queued === 0) break;
      const { batch, chars } = this.#backlog.batch();
      try {
        await this.sink.write(batch.map((b) => b.line));
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.#failed(error);
        for (const b of batch)
          settle(
            b.waiter,
            new Error(`audit sink ${this.sink.name} failed: ${error.message}; record ${b.seq} is queued and will be retried`),
          );
        await this.#sleep();
        continue;
      }
      this.#written += batch.length;
      this.#backlog.shift(batch.length, chars);
      this.#failing = false;
      this.#backoff.reset();
      let done = 0;
      for (const b of batch) {
        if (--b.remaining > 0) continue;
        if (!b.dropped) {
          done++;
          settle(b.waiter);
        }
        release(b);
      }
      if (done > 0) this.#events.written(done);
      this.#events.progressed();
      // What arrived during this write waits for the next window (#pump's finally schedules it),
      // unless a full batch is waiting or flush() (close() too) waits for the queue to empty: writing it at
      // once would make every write + fdatasync carry the 1–3 records of one write's duration.
      if (this.queued < this.#settings.maxBatch && this.#backlog.chars < this.#settings.maxBatchChars && !this.#events.hurrying()) break;
    }
  }

  #failed(err: Error): void {
    this.#failing = true;
    this.#lastError = err;
    this.#events.failure(this.sink.name, err);
  }

  #sleep(): Promise<void> {
    return this.#stopped ? Promise.resolve() : this.#backoff.sleep();
  }
}
