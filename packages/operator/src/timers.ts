// One timer for any number of deadlines: a min-heap of (instant, key) and a single setTimeout
// armed for the earliest. schedule() replaces a key's instant; superseded heap entries are
// skipped when they surface (and the heap is compacted when they pile up). No polling: the
// process wakes only at the next deadline.

/** setTimeout's limit (~24.8 days); a later deadline re-arms when this one fires. */
const MAX_DELAY = 2 ** 31 - 1;

interface Entry {
  at: number;
  key: string;
}

export interface TimerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: TimerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class TimerHeap {
  private readonly heap: Entry[] = [];
  private readonly due = new Map<string, number>();
  private readonly onFire: (key: string, at: number) => void;
  private readonly clock: TimerClock;
  private handle: unknown;
  private armedAt: number | undefined;

  constructor(onFire: (key: string, at: number) => void, clock: TimerClock = realClock) {
    this.onFire = onFire;
    this.clock = clock;
  }

  get size(): number {
    return this.due.size;
  }

  /** When `key` fires next, if scheduled. */
  get(key: string): number | undefined {
    return this.due.get(key);
  }

  /** Fire `key` at `at` (ms since epoch), replacing any earlier schedule of it. */
  schedule(key: string, at: number): void {
    if (this.due.get(key) === at) return;
    this.due.set(key, at);
    this.push({ at, key });
    if (this.heap.length > 2 * this.due.size + 64) this.compact();
    this.arm();
  }

  cancel(key: string): void {
    this.due.delete(key);
    if (this.due.size === 0) this.clear();
  }

  clear(): void {
    this.due.clear();
    this.heap.length = 0;
    this.disarm();
  }

  private disarm(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.armedAt = undefined;
  }

  private arm(): void {
    this.dropStale();
    const top = this.heap[0];
    if (!top) return this.disarm();
    if (this.armedAt !== undefined && this.armedAt <= top.at) return;
    this.disarm();
    this.armedAt = top.at;
    this.handle = this.clock.setTimeout(() => this.fire(), Math.min(MAX_DELAY, Math.max(0, top.at - this.clock.now())));
  }

  private fire(): void {
    this.handle = undefined;
    this.armedAt = undefined;
    // Timers run on a monotonic clock, deadlines on the wall clock: fire only what is due by the
    // wall clock; anything a millisecond early re-arms.
    const now = this.clock.now();
    const fired: Entry[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.at > now) break;
      this.pop();
      this.due.delete(top.key);
      fired.push(top);
    }
    this.arm();
    for (const e of fired) this.onFire(e.key, e.at);
  }

  private dropStale(): void {
    for (let top = this.heap[0]; top && this.due.get(top.key) !== top.at; top = this.heap[0]) this.pop();
  }

  private compact(): void {
    const live = this.heap.filter((e) => this.due.get(e.key) === e.at);
    const seen = new Set<string>();
    this.heap.length = 0;
    for (const e of live) {
      if (seen.has(e.key)) continue; // the same key at the same instant, pushed twice
      seen.add(e.key);
      this.push(e);
    }
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= e.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let mAt = last.at;
      if (l < h.length && h[l]!.at < mAt) {
        m = l;
        mAt = h[l]!.at;
      }
      if (r < h.length && h[r]!.at < mAt) m = r;
      if (m === i) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
  }
}
