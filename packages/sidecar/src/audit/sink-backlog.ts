// What one sink has still to write, oldest first (SinkQueue, sink-queue.ts, writes it and retries
// it): bounded by records and by characters, since a caller decides how large the records of its
// refusals are, and held so that written records die young rather than being promoted.
import type { Entry } from './entry.ts';

/** The bounds of a sink's queue and of one write to it (QueueSettings, sink-queue.ts, holds them). */
export interface BacklogLimits {
  maxBatch: number;
  maxBatchChars: number;
  maxQueue: number;
  maxQueueChars: number;
}

export class Backlog {
  readonly #limits: BacklogLimits;
  #queue: Entry[] = [];
  #head = 0;
  /** Characters of the lines queued (from head on). */
  #chars = 0;

  constructor(limits: BacklogLimits) {
    this.#limits = limits;
  }

  get length(): number {
    return this.#queue.length - this.#head;
  }

  get chars(): number {
    return this.#chars;
  }

  /** The oldest record not written yet. */
  get first(): Entry | undefined {
    return this.#queue[this.#head];
  }

  /** The limit the entry would pass (as its drop is reported), or undefined when it fits. */
  full(entry: Entry): string | undefined {
    const s = this.#limits;
    const size = entry.line.length;
    // A quarter of the queue is kept for records of allowed requests: refusals are what a caller
    // can make without bound (a flood of them, or of requests past the limits), and filling the
    // queue with them would drop the record of a request that was served meanwhile.
    const room = entry.allowed ? 1 : 0.75;
    if (this.length >= s.maxQueue * room || this.#chars + size > s.maxQueueChars * room) {
      const kept = entry.allowed ? '' : ', the quarter left kept for records of allowed requests';
      return this.length >= s.maxQueue * room
        ? `${s.maxQueue * room} records${kept}`
        : `${this.#chars} of at most ${s.maxQueueChars * room} characters${kept}`;
    }
    return undefined;
  }

  push(entry: Entry): void {
    this.#queue.push(entry);
    this.#chars += entry.line.length;
  }

  /** The next write: from the head, up to maxBatch lines and maxBatchChars characters (one line at least). */
  batch(): { batch: Entry[]; chars: number } {
    const end = Math.min(this.#queue.length, this.#head + this.#limits.maxBatch);
    let chars = this.#queue[this.#head]!.line.length;
    let i = this.#head + 1;
    for (; i < end; i++) {
      const next = this.#queue[i]!.line.length;
      if (chars + next > this.#limits.maxBatchChars) break;
      chars += next;
    }
    return { batch: this.#queue.slice(this.#head, i), chars };
  }

  /** The batch from the head is written: it leaves the backlog. */
  shift(count: number, chars: number): void {
    this.#head += count;
    this.#chars -= chars;
    // Written lines are let go at once when the queue is drained (the usual case), so they die
    // young instead of being promoted to the old generation while thousands pile up behind head.
    // The queue is emptied in place: V8 may allocate a fresh array straight into the old
    // generation, and a dead old array still points at what it held until the next mark-compact,
    // so every scavenge in between keeps those records alive and promotes them.
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The records not written, oldest first. */
  *[Symbol.iterator](): IterableIterator<Entry> {
    for (let i = this.#head; i < this.#queue.length; i++) yield this.#queue[i]!;
  }
}
