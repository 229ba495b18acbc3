// Bounds what the sidecar takes on at once. Up to `limit` requests run; up to `maxQueued` more
// wait (at most `maxWaitMs`); past that a request is turned away at once, so that a burst costs a
// bounded amount of memory and every caller gets an answer (529 overloaded_error with retry-after,
// which the Anthropic SDKs retry) instead of a reset.
//
// The slots are shared between callers (a caller is the credential it sends: see callerKey), as
// Kubernetes' API Priority and Fairness shares a level between flows. Served first come, first
// served, one agent of the pod that sends hundreds of slow requests held every slot and filled the
// queue: every other caller got 529 until the flood ended (docs/SECURITY.md, "Bursts and
// overload"). Now:
//   - a slot that frees goes to the waiting caller with the fewest requests running (among equals,
//     to the request that has waited longest);
//   - a full queue makes room for a caller with fewer requests waiting than the caller with the
//     most: that caller's newest waiting request is turned away instead (529, `share`);
//   - one caller holds at most all slots but a sixteenth (at least one): a request can hold its
//     slot for minutes or for good (a long generation, an MCP server's event stream), and a slot
//     is never taken back, so without that another caller could find none free however fair the
//     queue. Its requests past that wait, as past the limit.
// A caller alone may use the whole queue.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface GateLimits {
  limit: number;
  maxQueued: number;
  maxWaitMs: number;
}

/** Why a request was turned away: the queue was full, it waited too long, its caller went, or it gave way to another caller. */
export type Turnaway = 'full' | 'waited' | 'closed' | 'share';

/** What the 529 of a request turned away says (http/refusals.ts `overloaded`). */
export interface Overload {
  inFlight: number;
  queued: number;
  retryAfterSeconds: number;
  why: Exclude<Turnaway, 'closed'>;
  /** share: the requests this caller had waiting, the most of any caller. */
  callerQueued?: number;
  /** waited, when this caller holds the most slots one caller may (perCallerLimit). */
  callerRunning?: number;
}

export function overloadMessage(a: Overload): string {
  const retry = `retry after ${a.retryAfterSeconds} s`;
  if (a.why === 'full') return `scopekeeper is at its concurrency limit (${a.inFlight} requests in flight, ${a.queued} queued); ${retry}.`;
  if (a.why === 'share')
    return `scopekeeper is at its concurrency limit (${a.inFlight} requests in flight, ${a.queued} queued, ${a.callerQueued} of them this caller's, the most of any caller): this request gave way to another caller's; ${retry}, or send fewer requests at once.`;
  if (a.callerRunning !== undefined)
    return `scopekeeper could not start this request: this caller has ${a.callerRunning} requests in flight, the most one caller may have (all of --max-concurrent but a sixteenth, left to other callers); ${retry}, or send fewer requests at once.`;
  return `scopekeeper could not start this request while ${a.inFlight} others were in flight; ${retry}.`;
}

interface Waiter {
  res: ServerResponse;
  caller: Caller;
  /** Arrival order: among callers with as many requests running, the longest waiting goes first. */
  seq: number;
  start: () => void;
  turnAway: (why: Turnaway) => void;
  timer: NodeJS.Timeout;
  onClose: () => void;
}

/** One caller's share: its requests running and waiting (oldest first). Kept while it has either. */
interface Caller {
  key: string;
  running: number;
  waiting: Waiter[];
}

/**
 * Whose share a request takes: the token it sends, as the verifier will read it (the last word of
 * `Authorization: Bearer <token>`, or `x-api-key`), so that spacing or the choice of header does
 * not make one token several callers. Read before the token is verified: a caller with several
 * valid tokens gets a share for each; a token that does not verify gets one too, and its requests
 * are refused 401 as soon as they run, before their bodies are read. Requests without a credential
 * share one.
 */
export function callerKey(req: IncomingMessage): string {
  const h = req.headers;
  const sent = h.authorization ?? h['x-api-key'];
  if (typeof sent !== 'string') return '';
  return sent.slice(sent.lastIndexOf(' ') + 1);
}

/** The most slots one caller may hold: all but a sixteenth of them, at least one left to others when there are two or more. */
export function perCallerLimit(limit: number): number {
  return limit < 2 ? limit : limit - Math.max(1, Math.floor(limit / 16));
}

export class ConcurrencyGate {
  private running = 0;
  private waitingCount = 0;
  private arrivals = 0;
  private readonly callers = new Map<string, Caller>();
  readonly limits: GateLimits;
  private readonly perCaller: number;

  constructor(limits: GateLimits) {
    this.limits = limits;
    this.perCaller = perCallerLimit(limits.limit);
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waitingCount;
  }

  /** Callers with a request running or waiting. */
  get callerCount(): number {
    return this.callers.size;
  }

  /** Whether `key` holds the most slots one caller may. */
  atMost(key: string): boolean {
    return (this.callers.get(key)?.running ?? 0) >= this.perCaller;
  }

  /** Requests running and waiting for `key` (for tests and logs). */
  shareOf(key: string): { running: number; waiting: number } {
    const c = this.callers.get(key);
    return { running: c?.running ?? 0, waiting: c?.waiting.length ?? 0 };
  }

  /** Calls `start` now or once a slot frees (the slot is held until `res` closes), or `turnAway`. */
  enter(res: ServerResponse, key: string, start: () => void, turnAway: (why: Turnaway) => void): void {
    let caller = this.callers.get(key);
    if (caller === undefined) {
      caller = { key, running: 0, waiting: [] };
      this.callers.set(key, caller);
    }
    if (this.running < this.limits.limit && caller.running < this.perCaller) {
      this.hold(res, caller);
      return start();
    }
    if (this.waitingCount >= this.limits.maxQueued && !this.makeRoomFor(caller)) {
      this.forgetIfIdle(caller);
      return turnAway('full');
    }
    const w: Waiter = {
      res,
      caller,
      seq: this.arrivals++,
      start,
      turnAway,
      timer: setTimeout(() => this.leave(w, 'waited'), this.limits.maxWaitMs),
      onClose: () => this.leave(w, 'closed'),
    };
    res.once('close', w.onClose);
    caller.waiting.push(w);
    this.waitingCount++;
  }

  /** The queue is full: turns away the newest waiter of the caller with the most waiting, if it has more than `caller`. */
  private makeRoomFor(caller: Caller): boolean {
    let most = caller;
    for (const c of this.callers.values()) if (c.waiting.length > most.waiting.length) most = c;
    if (most === caller) return false;
    this.leave(most.waiting.at(-1)!, 'share');
    return true;
  }

  /** A waiter leaves the queue without running. */
  private leave(w: Waiter, why: Turnaway): void {
    const list = w.caller.waiting;
    const i = list.lastIndexOf(w);
    // Each waiter leaves once (its timer and close listener go with it); were it called twice,
    // splice(-1) would drop another request, which would then never be answered.
    // Stryker disable next-line ConditionalExpression: unreachable, kept as that guard
    if (i < 0) return;
    list.splice(i, 1);
    this.waitingCount--;
    clearTimeout(w.timer);
    w.res.off('close', w.onClose);
    this.forgetIfIdle(w.caller);
    w.turnAway(why);
  }

  private hold(res: ServerResponse, caller: Caller): void {
    this.running++;
    caller.running++;
    res.once('close', () => this.release(caller));
  }

  private release(caller: Caller): void {
    this.running--;
    caller.running--;
    this.forgetIfIdle(caller);
    const next = this.next();
    if (next === undefined) return;
    next.caller.waiting.shift();
    this.waitingCount--;
    clearTimeout(next.timer);
    next.res.off('close', next.onClose);
    this.hold(next.res, next.caller);
    next.start();
  }

  /** The waiter a free slot goes to: its caller has the fewest running (and fewer than its most); among those, it came first. */
  private next(): Waiter | undefined {
    let best: Waiter | undefined;
    for (const c of this.callers.values()) {
      const head = c.waiting[0];
      if (head === undefined || c.running >= this.perCaller) continue;
      if (best === undefined || c.running < best.caller.running || (c.running === best.caller.running && head.seq < best.seq)) best = head;
    }
    return best;
  }

  /** A caller is kept only while it has a request running or waiting (no closure holds it after that). */
  private forgetIfIdle(caller: Caller): void {
    if (caller.running === 0 && caller.waiting.length === 0) this.callers.delete(caller.key);
  }
}
