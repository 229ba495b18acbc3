// Where the sidecar's policy comes from: YAML files (local mode) or the Kubernetes API.
// Either way the data path only ever sees a compiled snapshot, or none (fail closed).
import type { ApprovalRequest, PolicySnapshot } from '@scopekeeper/core';

export interface PolicyStatus {
  ready: boolean;
  /** Why the last load or update failed, naming the file or resource and the fix. */
  lastError?: string;
  /** When the source lost its connection to where policy lives (ms since epoch). */
  staleSince?: number;
  scopes: number;
  invalidScopes: number;
  /** Counts load attempts (good or bad), so a test can wait for the reload after a change. */
  loads?: number;
}

export interface PolicySource {
  start(): Promise<void>;
  /** The snapshot to decide with, or undefined when none may be used (never loaded, or stale for too long). */
  current(): PolicySnapshot | undefined;
  status(): PolicyStatus;
  /** Records a held request as a Pending JustInTime AccessReview; returns "<namespace>/<name>". */
  requestApproval?(a: ApprovalRequest, reason: string | undefined): Promise<string>;
  stop(): Promise<void>;
}
