// Bounds what the sidecar takes on at once. Up to `limit` requests run; up to `maxQueued` more
// wait (first come, first served, at most `maxWaitMs`); past that a request is turned away at
// once, so that a burst costs a bounded amount of memory and every caller gets an answer
// (529 overloaded_error with retry-after, which the Anthropic SDKs retry) instead of a reset.
import type { ServerResponse } from 'node:http';

export interface GateLimits {
  limit: number;
  maxQueued: number;
  maxWaitMs: number;
}

export type Turnaway = 'full' | 'waited' | 'closed';

interface Waiter {
  res: ServerResponse;
  start: () => void;
  turnAway: (why: Turnaway) => void;
  timer: NodeJS.Timeout;
  onClose: () => void;
}

export class ConcurrencyGate {
  private running = 0;
  private readonly waiting = new Set<Waiter>();
  readonly limits: GateLimits;

  constructor(limits: GateLimits) {
    this.limits = limits;
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.size;
  }

  /** Calls `start` now or once a slot frees (the slot is held until `res` closes), or `turnAway`. */
  enter(res: ServerResponse, start: () => void, turnAway: (why: Turnaway) => void): void {
    if (this.running < this.limits.limit) {
      this.hold(res);
      return start();
    }
    if (this.waiting.size >= this.limits.maxQueued) return turnAway('full');
    const w: Waiter = {
      res,
      start,
      turnAway,
      timer: setTimeout(() => this.leave(w, 'waited'), this.limits.maxWaitMs),
      onClose: () => this.leave(w, 'closed'),
    };
    res.once('close', w.onClose);
    this.waiting.add(w);
  }

  private leave(w: Waiter, why: Turnaway): void {
    if (!this.waiting.delete(w)) return;
    clearTimeout(w.timer);
    w.res.off('close', w.onClose);
    w.turnAway(why);
  }

  private hold(res: ServerResponse): void {
    this.running++;
    res.once('close', () => this.release());
  }

  private release(): void {
    this.running--;
    for (const w of this.waiting) {
      this.waiting.delete(w);
      clearTimeout(w.timer);
      w.res.off('close', w.onClose);
      this.hold(w.res);
      return w.start();
    }
  }
}
