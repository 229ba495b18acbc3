// The contract every audit sink (stdout, file, HTTP) fulfils.
import type { ChainHead } from '@scopekeeper/core';

export interface SinkOpenResult {
  /** The last record the sink already holds (a file written before a restart): the chain continues after it. */
  resumeFrom?: ChainHead;
  /** Something an operator should know (e.g. a torn final write was set aside). */
  notice?: string;
}

export interface AuditSink {
  /** How the sink is named in logs and metrics; never contains credentials. */
  name: string;
  /**
   * Writes complete lines (no newlines inside, none at the end) in order, durably: it resolves
   * only once the lines are stored, and rejects if any may not be. The log retries a rejected
   * batch as a whole, so a sink must not leave part of a failed batch behind.
   */
  write(lines: string[]): Promise<void>;
  close(): Promise<void>;
  /** Optional preparation before the first write; AuditLog calls it once at start and retries it on failure. */
  open?(): Promise<SinkOpenResult | void>;
}
