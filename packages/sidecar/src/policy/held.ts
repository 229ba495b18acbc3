// Held requests become Pending JustInTime AccessReviews, and this is the one place that writes
// them (the Messages route and the MCP route both come here). A caller chooses what it asks
// for, so without a bound one caller could have the sidecar write a review for every model
// name it can make up (`claude-opus-1`, `claude-opus-2`, …): objects every sidecar and the
// operator of the namespace then watch and hold in memory, or files every reload of the policy
// folder parses. So one caller may have at most MAX_PENDING_PER_CALLER reviews waiting per
// scope; past that a held request is still refused, with no new review, saying what to do.
import type { ApprovalRequest, PolicySnapshot, SubjectRef } from '@scopekeeper/core';
import type { PolicySource } from './source.ts';

/** How many Pending JustInTime reviews one caller may have waiting in one scope (docs/SECURITY.md). */
export const MAX_PENDING_PER_CALLER = 10;
/** How long a review this sidecar wrote counts for its caller before the snapshot shows it. */
const UNSEEN_TTL_MS = 10 * 60_000;

/** The review a held request names, or why none was written (a sentence that ends with what to do). */
export type HeldOutcome =
  | { ref: string; problem?: undefined; limited?: undefined }
  /** `limited`: the caller has MAX_PENDING_PER_CALLER reviews waiting (its doing, not the sidecar's: not logged). */
  | { ref?: undefined; problem: string; limited?: boolean };

export class HeldRequests {
  readonly #source: PolicySource;
  readonly #now: () => number;
  readonly #max: number;
  /** Reviews this process wrote that the snapshot may not show yet: caller key → fingerprint → when. */
  readonly #unseen = new Map<string, Map<string, number>>();
  #sweptAt = 0;

  constructor(source: PolicySource, opts: { now?: () => number; maxPendingPerCaller?: number } = {}) {
    this.#source = source;
    this.#now = opts.now ?? Date.now;
    this.#max = opts.maxPendingPerCaller ?? MAX_PENDING_PER_CALLER;
  }

  async record(a: ApprovalRequest, reason: string | undefined): Promise<HeldOutcome> {
    if (!this.#source.requestApproval) return { problem: 'this policy source cannot record held requests' };
    const now = this.#now();
    this.#sweep(now);
    const key = callerKey(a.namespace, a.scope, a.subject);
    const visible = pendingOf(this.#source.current(), key);
    const unseen = this.#unseen.get(key) ?? new Map<string, number>();
    for (const [fp, at] of unseen) if (visible.all.has(fp) || now - at > UNSEEN_TTL_MS) unseen.delete(fp);
    const waiting = new Set([...visible.pending.keys(), ...unseen.keys()]);
    // The same request shape again names the review already waiting: nothing new is written.
    const known = waiting.has(a.fingerprint);
    if (!known && waiting.size >= this.#max) {
      const names = [...visible.pending.values()].slice(0, 3).map((n) => `${a.namespace}/${n}`);
      const listed = names.length ? ` (${names.join(', ')}${waiting.size > names.length ? ', …' : ''})` : '';
      return {
        limited: true,
        problem: `${describeSubject(a.subject)} already has ${waiting.size} Pending JustInTime AccessReviews for ModelScope ${a.scope}${listed}, the most one caller may have waiting: ask an approver to decide them, or delete those no longer needed, then retry`,
      };
    }
    // Counted before the write: held requests of a burst arrive together, and each must see the others.
    if (!known) unseen.set(a.fingerprint, now);
    if (unseen.size > 0) this.#unseen.set(key, unseen);
    else this.#unseen.delete(key);
    try {
      return { ref: await this.#source.requestApproval(a, reason) };
    } catch (e) {
      if (!known) unseen.delete(a.fingerprint);
      if (unseen.size === 0) this.#unseen.delete(key);
      return { problem: (e as Error).message };
    }
  }

  /** How many callers have reviews written here that the snapshot does not show yet. */
  get tracking(): number {
    return this.#unseen.size;
  }

  /** At most once per UNSEEN_TTL_MS, every caller's old entries go (callers that never come back included). */
  #sweep(now: number): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: sweeping more often changes only what the sweep costs
    if (now - this.#sweptAt < UNSEEN_TTL_MS) return;
    this.#sweptAt = now;
    for (const [key, unseen] of this.#unseen) {
      for (const [fp, at] of unseen) if (now - at > UNSEEN_TTL_MS) unseen.delete(fp);
      if (unseen.size === 0) this.#unseen.delete(key);
    }
  }
}

/** The caller's JustInTime reviews of this scope in the snapshot: every fingerprint, and the Pending ones with their names. */
function pendingOf(snap: PolicySnapshot | undefined, key: string): { all: Set<string>; pending: Map<string, string> } {
  const all = new Set<string>();
  const pending = new Map<string, string>();
  for (const s of snap?.scopes ?? []) {
    for (const { review } of s.justInTime) {
      const req = review.spec.request;
      if (!req || callerKey(s.namespace, s.name, req.subject) !== key) continue;
      // A review a person wrote has no fingerprint: it counts under its name.
      const fp = req.fingerprint ?? `name:${review.metadata.name}`;
      all.add(fp);
      if (review.spec.decision === 'Pending') pending.set(fp, review.metadata.name);
    }
  }
  return { all, pending };
}

function callerKey(namespace: string, scope: string, s: SubjectRef): string {
  // Stryker disable next-line StringLiteral: any separator that no name holds gives the same keys
  return [namespace, scope, s.kind, s.namespace ?? '', s.name, s.issuer ?? ''].join('\u0000');
}

function describeSubject(s: SubjectRef): string {
  return `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`;
}
