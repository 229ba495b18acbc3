// AuditLog: turns events into chained lines and delivers them to every sink, in order.
//
// The chain lives here, so `seq` is assigned in the order record() is called and every sink
// receives the lines in that order (each sink has its own queue, sink-queue.ts, written front to
// back; a failed batch is retried before anything behind it). Lines are batched: a sink writes what
// has queued up during the batch window (group commit); only a backlog of a full batch, a
// flush() or close() makes it write the next batch at once.
//
// Nothing is dropped while a sink fails: its batch is retried with exponential backoff and
// its queue grows up to `maxQueue` records and `maxQueueChars` characters of lines (records are
// up to ~20 KB each: a caller that names 128 long tools fills them); only beyond that are records
// dropped for that sink, each counted as a failure (its chain then shows the gap, honestly).
//
// required = true (--audit-required): record() resolves once the record is durably written to
// every sink, and rejects when it may not be (a sink failed on its batch, a sink is failing
// already, or its queue is full): the caller fails the request closed. The record itself stays
// queued and is still delivered when the sink recovers.
// required = false: record() resolves at once and delivery happens in the background.
import { AuditChain, GENESIS_HASH, type AuditEvent, type ChainedLine, type ChainHead } from '@scopekeeper/core';
import type { AuditSink } from './sink.ts';
import { settle, type Entry, type Waiter } from './entry.ts';
import { SinkQueue, type AuditSinkStatus, type QueueEvents } from './sink-queue.ts';

export type { AuditSinkStatus } from './sink-queue.ts';

export interface AuditLogOptions {
  sinks: AuditSink[];
  /** --audit-required: record() waits for durable delivery to all sinks and rejects otherwise. */
  required: boolean;
  /** A sink failed (a write, an open, or a record dropped on a full queue): count it. */
  onFailure?: (sink: string, err: Error) => void;
  /** n records are now written to every sink (scopekeeper_audit_events_total). */
  onWritten?: (n: number) => void;
  /** Something an operator should read (a resumed chain, a repaired file). */
  onNotice?: (sink: string, message: string) => void;
  /**
   * Batch window in ms (default 10). The record is written after its response has gone, so the
   * window costs no request any latency; what it buys is fewer write + fdatasync pairs (at 1,000
   * req/s, 2 ms → 10 ms saved ~7% of the sidecar's CPU, docs/benchmarks.md). A crash loses at most
   * the records of the last window and of the write in progress, as it did with 2 ms.
   */
  batchMs?: number;
  /** Most lines per write (default 1000). */
  maxBatch?: number;
  /** Most characters of lines per write (default 1 Mi; a write takes one line at least). */
  maxBatchChars?: number;
  /** Most records queued per sink (default 100,000). */
  maxQueue?: number;
  /** Most characters of lines queued per sink (default 64 Mi). */
  maxQueueChars?: number;
  /** Backoff between retries of a failing sink (default 100 ms doubling to 5 s, ±20% jitter). */
  retry?: { minMs?: number; maxMs?: number };
  /** Continue the chain after this record; default: after the highest record a sink already holds, else genesis. */
  resumeFrom?: ChainHead;
}

export class AuditLog {
  readonly #required: boolean;
  readonly #queues: SinkQueue[];
  readonly #onFailure: AuditLogOptions['onFailure'];
  readonly #onWritten: AuditLogOptions['onWritten'];
  readonly #onNotice: AuditLogOptions['onNotice'];
  #chain: AuditChain | undefined;
  #early: { e: AuditEvent; waiter: Waiter | undefined }[] = [];
  readonly #ready: Promise<void>;
  #closing = false;
  #closed: Promise<void> | undefined;
  #progress: (() => void)[] = [];
  /** flush() calls under way: while > 0 a sink writes batch after batch without waiting for the window. */
  #hurry = 0;

  constructor(opts: AuditLogOptions) {
    this.#required = opts.required;
    this.#onFailure = opts.onFailure;
    this.#onWritten = opts.onWritten;
    this.#onNotice = opts.onNotice;
    const minBackoffMs = opts.retry?.minMs ?? 100;
    const settings = {
      batchMs: opts.batchMs ?? 10,
      maxBatch: Math.max(1, opts.maxBatch ?? 1000),
      maxBatchChars: Math.max(1, opts.maxBatchChars ?? 1024 * 1024),
      maxQueue: Math.max(1, opts.maxQueue ?? 100_000),
      maxQueueChars: Math.max(1, opts.maxQueueChars ?? 64 * 1024 * 1024),
      minBackoffMs,
      maxBackoffMs: Math.max(minBackoffMs, opts.retry?.maxMs ?? 5000),
    };
    if (opts.resumeFrom) new AuditChain(opts.resumeFrom.hash, opts.resumeFrom.seq); // validates it now, not in the background
    const names = new Set<string>();
    for (const s of opts.sinks) {
      if (names.has(s.name)) throw new Error(`audit sink ${s.name} is configured twice`);
      names.add(s.name);
    }
    const events: QueueEvents = {
      failure: (sink, err) => this.#safe(() => this.#onFailure?.(sink, err)),
      written: (n) => this.#safe(() => this.#onWritten?.(n)),
      notice: (sink, message) => this.#notice(sink, message),
      progressed: () => this.#progressed(),
      hurrying: () => this.#hurry > 0,
    };
    this.#queues = opts.sinks.map((sink: AuditSink) => new SinkQueue(sink, settings, events));
    this.#ready = this.#start(opts.resumeFrom);
  }

  /** Resolves once the sinks are opened and the chain's start is known (record() may be called before). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The last record appended (seq 0 and the genesis hash for a new, empty chain); undefined before ready. */
  get head(): ChainHead | undefined {
    return this.#chain?.head;
  }

  /** False while any sink is failing (its last write or open failed, or it dropped a record). */
  get healthy(): boolean {
    return !this.#queues.some((q) => q.failing);
  }

  status(): AuditSinkStatus[] {
    return this.#queues.map((q) => q.status());
  }

  record(e: AuditEvent): Promise<void> {
    if (this.#closing) return Promise.reject(new Error('audit log is closed: the record was not written'));
    let waiter: Waiter | undefined;
    let result = Promise.resolve();
    if (this.#required && this.#queues.length > 0) {
      result = new Promise<void>((resolve, reject) => {
        waiter = { resolve, reject, settled: false };
      });
    }
    if (this.#chain) this.#append(e, waiter);
    else this.#early.push({ e, waiter });
    return result;
  }

  /** Resolves when every record so far is written to every sink; rejects after timeoutMs (default 10 s) saying what is still queued. */
  async flush(timeoutMs = 10_000): Promise<void> {
    this.#hurry++;
    try {
      await this.#flush(timeoutMs);
    } finally {
      this.#hurry--;
    }
  }

  async #flush(timeoutMs: number): Promise<void> {
    await this.#ready;
    const target = this.#chain!.head.seq;
    const pending = () => this.#queues.filter((q) => q.holds(target));
    if (pending().length === 0) return;
    for (const q of pending()) q.hurry();
    const deadline = Date.now() + timeoutMs;
    while (pending().length > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || pending().every((q) => q.stopped)) {
        const what = pending()
          .map((q) => q.status())
          .map((st) => `${st.name}: ${st.queued} records queued${st.lastError ? `, last error: ${st.lastError}` : ''}`)
          .join('; ');
        throw new Error(`audit records not yet written after ${timeoutMs} ms (${what})`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.#progress = this.#progress.filter((f) => f !== done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, 1000));
        this.#progress.push(done);
      });
    }
  }

  /**
   * Stops taking records, delivers what is queued (up to timeoutMs, default 10 s) and closes the
   * sinks. Rejects, naming what was not delivered, if something could not be written.
   */
  close(timeoutMs = 10_000): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    let failure: Error | undefined;
    try {
      await this.flush(timeoutMs);
    } catch (err) {
      failure = err as Error;
    }
    for (const q of this.#queues) q.stop();
    for (const closed of await Promise.all(this.#queues.map((q) => q.close()))) failure ??= closed;
    if (failure) throw failure;
  }

  async #start(resumeFrom: ChainHead | undefined): Promise<void> {
    const opened = await Promise.all(this.#queues.map((q) => q.open()));
    let start = resumeFrom;
    let from = 'the resumeFrom option';
    if (!start) {
      opened.forEach((head, i) => {
        if (head && (!start || head.seq > start.seq)) {
          start = head;
          from = this.#queues[i]!.sink.name;
        }
      });
    }
    opened.forEach((head, i) => {
      if (head && start && (head.seq !== start.seq || head.hash !== start.hash)) {
        this.#notice(
          this.#queues[i]!.sink.name,
          `ends at record ${head.seq} but the chain continues after record ${start.seq} (from ${from}): this sink's log will show a gap`,
        );
      }
    });
    if (start) this.#notice(from, `the audit chain continues after record ${start.seq} (hash ${start.hash})`);
    this.#chain = new AuditChain(start?.hash ?? GENESIS_HASH, start?.seq ?? 0);
    const early = this.#early;
    this.#early = [];
    for (const { e, waiter } of early) this.#append(e, waiter);
    for (const q of this.#queues) q.retryOpen();
  }

  #append(e: AuditEvent, waiter: Waiter | undefined): void {
    let chained: ChainedLine;
    try {
      chained = this.#chain!.appendLine(e);
    } catch (err) {
      const error = new Error(`audit event cannot be serialised: ${(err as Error).message}`);
      this.#safe(() => this.#onFailure?.('chain', error));
      settle(waiter, error);
      return;
    }
    const entry: Entry = {
      seq: chained.record.seq,
      line: flat(chained.line),
      remaining: this.#queues.length,
      dropped: false,
      waiter,
      allowed: e.decision === 'allow',
    };
    if (this.#queues.length === 0) {
      this.#safe(() => this.#onWritten?.(1));
      return;
    }
    for (const q of this.#queues) q.offer(entry);
    if (entry.remaining === 0) this.#progressed();
  }

  #progressed(): void {
    const waiting = this.#progress;
    this.#progress = [];
    for (const f of waiting) f();
  }

  #notice(sink: string, message: string): void {
    this.#safe(() => this.#onNotice?.(sink, message));
  }

  #safe(f: () => void): void {
    try {
      f();
    } catch {
      /* a metrics or logging hook must not break delivery */
    }
  }
}

/**
 * A line built by concatenation is a tree of its pieces until something reads it whole, and a
 * queued line is read only when it is written: as a tree it takes ~3 KB of heap instead of its
 * ~0.7 KB, which a backlog (a slow disk, a flood of refusals) multiplies. Matching a regular
 * expression flattens the string it is matched against, once, in place.
 */
const FLATTEN = /^/;
function flat(line: string): string {
  FLATTEN.test(line);
  return line;
}
