// AuditLog: turns events into chained lines and delivers them to every sink, in order.
//
// The chain lives here, so `seq` is assigned in the order record() is called and every sink
// receives the lines in that order (each sink has its own queue, written front to back; a
// failed batch is retried before anything behind it). Lines are batched: a sink writes what
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

export interface AuditSinkStatus {
  name: string;
  queued: number;
  failing: boolean;
  lastError?: string;
  written: number;
  dropped: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  settled: boolean;
}

interface Entry {
  seq: number;
  line: string;
  /** Sinks that still have to write it. */
  remaining: number;
  dropped: boolean;
  waiter: Waiter | undefined;
}

interface SinkState {
  sink: AuditSink;
  queue: Entry[];
  head: number;
  /** Characters of the lines queued (from head on). */
  chars: number;
  opened: boolean;
  running: Promise<void> | undefined;
  batchTimer: NodeJS.Timeout | undefined;
  backoff: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  attempt: number;
  failing: boolean;
  lastError: Error | undefined;
  written: number;
  dropped: number;
  stopped: boolean;
}

const queued = (s: SinkState) => s.queue.length - s.head;

export class AuditLog {
  readonly #required: boolean;
  readonly #states: SinkState[];
  readonly #onFailure: AuditLogOptions['onFailure'];
  readonly #onWritten: AuditLogOptions['onWritten'];
  readonly #onNotice: AuditLogOptions['onNotice'];
  readonly #batchMs: number;
  readonly #maxBatch: number;
  readonly #maxBatchChars: number;
  readonly #maxQueue: number;
  readonly #maxQueueChars: number;
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
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
    this.#batchMs = opts.batchMs ?? 10;
    this.#maxBatch = Math.max(1, opts.maxBatch ?? 1000);
    this.#maxQueue = Math.max(1, opts.maxQueue ?? 100_000);
    this.#maxBatchChars = Math.max(1, opts.maxBatchChars ?? 1024 * 1024);
    this.#maxQueueChars = Math.max(1, opts.maxQueueChars ?? 64 * 1024 * 1024);
    this.#minBackoff = opts.retry?.minMs ?? 100;
    this.#maxBackoff = Math.max(this.#minBackoff, opts.retry?.maxMs ?? 5000);
    if (opts.resumeFrom) new AuditChain(opts.resumeFrom.hash, opts.resumeFrom.seq); // validates it now, not in the background
    const names = new Set<string>();
    for (const s of opts.sinks) {
      if (names.has(s.name)) throw new Error(`audit sink ${s.name} is configured twice`);
      names.add(s.name);
    }
    this.#states = opts.sinks.map((sink) => ({
      sink,
      queue: [],
      head: 0,
      chars: 0,
      opened: !sink.open,
      running: undefined,
      batchTimer: undefined,
      backoff: undefined,
      attempt: 0,
      failing: false,
      lastError: undefined,
      written: 0,
      dropped: 0,
      stopped: false,
    }));
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
    return !this.#states.some((s) => s.failing);
  }

  status(): AuditSinkStatus[] {
    return this.#states.map((s) => ({
      name: s.sink.name,
      queued: queued(s),
      failing: s.failing,
      ...(s.lastError ? { lastError: s.lastError.message } : {}),
      written: s.written,
      dropped: s.dropped,
    }));
  }

  record(e: AuditEvent): Promise<void> {
    if (this.#closing) return Promise.reject(new Error('audit log is closed: the record was not written'));
    let waiter: Waiter | undefined;
    let result = Promise.resolve();
    if (this.#required && this.#states.length > 0) {
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
    const pending = () => this.#states.filter((s) => queued(s) > 0 && s.queue[s.head]!.seq <= target);
    if (pending().length === 0) return;
    for (const s of pending()) {
      if (s.batchTimer) {
        clearTimeout(s.batchTimer);
        s.batchTimer = undefined;
        this.#pump(s);
      }
      this.#wake(s);
    }
    const deadline = Date.now() + timeoutMs;
    while (pending().length > 0) {
      const left = deadline - Date.now();
      if (left <= 0 || pending().every((s) => s.stopped)) {
        const what = pending()
          .map((s) => `${s.sink.name}: ${queued(s)} records queued${s.lastError ? `, last error: ${s.lastError.message}` : ''}`)
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
    for (const s of this.#states) {
      s.stopped = true;
      if (s.batchTimer) clearTimeout(s.batchTimer);
      s.batchTimer = undefined;
      this.#wake(s);
    }
    const closing = this.#states.map(async (s) => {
      try {
        await s.sink.close();
      } catch (err) {
        failure ??= new Error(`closing audit sink ${s.sink.name} failed: ${(err as Error).message}`);
      }
      await s.running;
    });
    await Promise.all(closing);
    for (const s of this.#states) {
      for (let i = s.head; i < s.queue.length; i++)
        settle(s.queue[i]!.waiter, new Error(`audit log closed before record ${s.queue[i]!.seq} was written to ${s.sink.name}`));
    }
    if (failure) throw failure;
  }

  async #start(resumeFrom: ChainHead | undefined): Promise<void> {
    const opened = await Promise.all(
      this.#states.map(async (s) => {
        if (!s.sink.open) return undefined;
        try {
          const r = (await s.sink.open()) ?? {};
          s.opened = true;
          if (r.notice) this.#notice(s.sink.name, r.notice);
          return r.resumeFrom;
        } catch (err) {
          this.#failed(s, err as Error);
          return undefined;
        }
      }),
    );
    let start = resumeFrom;
    let from = 'the resumeFrom option';
    if (!start) {
      opened.forEach((head, i) => {
        if (head && (!start || head.seq > start.seq)) {
          start = head;
          from = this.#states[i]!.sink.name;
        }
      });
    }
    opened.forEach((head, i) => {
      if (head && start && (head.seq !== start.seq || head.hash !== start.hash)) {
        this.#notice(
          this.#states[i]!.sink.name,
          `ends at record ${head.seq} but the chain continues after record ${start.seq} (from ${from}): this sink's log will show a gap`,
        );
      }
    });
    if (start) this.#notice(from, `the audit chain continues after record ${start.seq} (hash ${start.hash})`);
    this.#chain = new AuditChain(start?.hash ?? GENESIS_HASH, start?.seq ?? 0);
    const early = this.#early;
    this.#early = [];
    for (const { e, waiter } of early) this.#append(e, waiter);
    for (const s of this.#states) if (!s.opened) this.#pump(s);
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
    const seq = chained.record.seq;
    const entry: Entry = { seq, line: flat(chained.line), remaining: this.#states.length, dropped: false, waiter };
    if (this.#states.length === 0) {
      this.#safe(() => this.#onWritten?.(1));
      return;
    }
    const size = entry.line.length;
    for (const s of this.#states) {
      if (queued(s) >= this.#maxQueue || s.chars + size > this.#maxQueueChars) {
        entry.dropped = true;
        entry.remaining--;
        s.dropped++;
        s.failing = true;
        const full = queued(s) >= this.#maxQueue ? `${this.#maxQueue} records` : `${s.chars} of at most ${this.#maxQueueChars} characters`;
        const err = new Error(`audit queue of ${s.sink.name} is full (${full}): record ${seq} was dropped for this sink`);
        s.lastError = err;
        this.#safe(() => this.#onFailure?.(s.sink.name, err));
        settle(waiter, err);
        continue;
      }
      if (waiter && s.failing) {
        settle(
          waiter,
          new Error(
            `audit sink ${s.sink.name} is failing (${s.lastError?.message ?? 'unknown error'}); record ${seq} is queued and will be retried`,
          ),
        );
      }
      s.queue.push(entry);
      s.chars += size;
      this.#schedule(s);
    }
    if (entry.remaining === 0) this.#progressed();
  }

  #schedule(s: SinkState): void {
    if (s.running || s.batchTimer || s.stopped) return;
    s.batchTimer = setTimeout(() => {
      s.batchTimer = undefined;
      this.#pump(s);
    }, this.#batchMs);
  }

  #pump(s: SinkState): void {
    if (s.running || s.stopped) return;
    s.running = this.#drain(s).finally(() => {
      s.running = undefined;
      this.#progressed();
      if (queued(s) > 0 && !s.stopped) this.#schedule(s);
    });
  }

  async #drain(s: SinkState): Promise<void> {
    while (!s.stopped && (queued(s) > 0 || !s.opened)) {
      if (!s.opened) {
        // Only reached after a failed open (at start or here): wait before trying again.
        await this.#sleep(s);
        if (s.stopped) break;
        try {
          const r = (await s.sink.open!()) ?? {};
          s.opened = true;
          if (r.notice) this.#notice(s.sink.name, r.notice);
        } catch (err) {
          this.#failed(s, err as Error);
          continue;
        }
      }
      if (queued(s) === 0) break;
      const { batch, chars } = this.#batch(s);
      try {
        await s.sink.write(batch.map((b) => b.line));
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.#failed(s, error);
        for (const b of batch)
          settle(b.waiter, new Error(`audit sink ${s.sink.name} failed: ${error.message}; record ${b.seq} is queued and will be retried`));
        await this.#sleep(s);
        continue;
      }
      s.head += batch.length;
      s.chars -= chars;
      // Written lines are let go at once when the queue is drained (the usual case), so they die
      // young instead of being promoted to the old generation while thousands pile up behind head.
      // The queue is emptied in place: V8 may allocate a fresh array straight into the old
      // generation, and a dead old array still points at what it held until the next mark-compact,
      // so every scavenge in between keeps those records alive and promotes them.
      if (s.head === s.queue.length) {
        s.queue.length = 0;
        s.head = 0;
      } else if (s.head > 4096 && s.head * 2 > s.queue.length) {
        s.queue = s.queue.slice(s.head);
        s.head = 0;
      }
      s.failing = false;
      s.attempt = 0;
      s.written += batch.length;
      let done = 0;
      for (const b of batch) {
        if (--b.remaining > 0) continue;
        if (!b.dropped) {
          done++;
          settle(b.waiter);
        }
        release(b);
      }
      if (done > 0) this.#safe(() => this.#onWritten?.(done));
      this.#progressed();
      // What arrived during this write waits for the next window (#pump's finally schedules it),
      // unless a full batch is waiting or flush() (close() too) waits for the queue to empty: writing it at
      // once would make every write + fdatasync carry the 1–3 records of one write's duration.
      if (queued(s) < this.#maxBatch && s.chars < this.#maxBatchChars && this.#hurry === 0) break;
    }
  }

  /** The next write: from the head, up to maxBatch lines and maxBatchChars characters (one line at least). */
  #batch(s: SinkState): { batch: Entry[]; chars: number } {
    const end = Math.min(s.queue.length, s.head + this.#maxBatch);
    let chars = s.queue[s.head]!.line.length;
    let i = s.head + 1;
    for (; i < end; i++) {
      const next = s.queue[i]!.line.length;
      if (chars + next > this.#maxBatchChars) break;
      chars += next;
    }
    return { batch: s.queue.slice(s.head, i), chars };
  }

  #failed(s: SinkState, err: Error): void {
    s.failing = true;
    s.lastError = err;
    this.#safe(() => this.#onFailure?.(s.sink.name, err));
  }

  #sleep(s: SinkState): Promise<void> {
    if (s.stopped) return Promise.resolve();
    const base = Math.min(this.#maxBackoff, this.#minBackoff * 2 ** s.attempt);
    s.attempt = Math.min(s.attempt + 1, 30);
    const delay = base * (0.8 + 0.4 * Math.random());
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        s.backoff = undefined;
        resolve();
      };
      const timer = setTimeout(wake, delay);
      s.backoff = { timer, wake };
    });
  }

  #wake(s: SinkState): void {
    s.backoff?.wake();
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

/**
 * A record written to every sink keeps only its seq. Something long-lived may still point at the
 * entry (an array V8 put in the old generation, dead but not yet collected): without its line
 * (~0.7 KB) and its waiter it costs a few bytes there instead of being promoted with them. With
 * both kept, every record was promoted: twice the bytes promoted per run, and more mark-compacts
 * (bench/NOTES.md).
 */
function release(entry: Entry): void {
  entry.line = '';
  entry.waiter = undefined;
}

function settle(waiter: Waiter | undefined, err?: Error): void {
  if (!waiter || waiter.settled) return;
  waiter.settled = true;
  if (err) waiter.reject(err);
  else waiter.resolve();
}
