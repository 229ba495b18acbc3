// A record on its way to the sinks: its chained line, shared by every sink's queue (sink-queue.ts),
// and the record() promise of an --audit-required record, settled once.

/** Resolves or rejects the record() of an --audit-required record, once. */
export interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  settled: boolean;
}

/** One chained line, shared by the queues of every sink. */
export interface Entry {
  seq: number;
  line: string;
  /** Sinks that still have to write it. */
  remaining: number;
  dropped: boolean;
  waiter: Waiter | undefined;
  /** The record of an allowed request: kept in the room its queue keeps back from refusals (sink-backlog.ts). */
  allowed: boolean;
}

/**
 * A record written to every sink keeps only its seq. Something long-lived may still point at the
 * entry (an array V8 put in the old generation, dead but not yet collected): without its line
 * (~0.7 KB) and its waiter it costs a few bytes there instead of being promoted with them. With
 * both kept, every record was promoted: twice the bytes promoted per run, and more mark-compacts
 * (bench/NOTES.md).
 */
export function release(entry: Entry): void {
  entry.line = '';
  entry.waiter = undefined;
}

export function settle(waiter: Waiter | undefined, err?: Error): void {
  if (!waiter || waiter.settled) return;
  waiter.settled = true;
  if (err) waiter.reject(err);
  else waiter.resolve();
}
