// The bytes of bodies the sidecar holds whole at once: requests it reads to inspect (Messages,
// count_tokens, MCP messages, a service's form) and answers it reads to mask or count. Each body
// is bounded on its own (--max-body-bytes, the answer limits), but many at once are not: a few
// large ones in flight together, and their parses, took the process past its container's memory
// limit, where the kernel kills it with every request in it. So they share one budget
// (--max-buffered-bytes); a body that does not fit is not kept (it is read to its end and
// dropped), and its request is answered 529 overloaded_error with retry-after, which the SDKs retry.

/**
 * The default of --max-buffered-bytes: one body of the default --max-body-bytes and room for
 * small ones beside it. In a pod limited to 256Mi, three 15 MiB bodies held at once (a 48 MiB
 * budget) and parsed one after the other got the sidecar OOM-killed (e2e/pods/product.e2e.test.ts).
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 24 * 1024 * 1024;

/**
 * The default of --max-body-bytes, half the Messages API's 32 MB: what the sidecar's 256Mi
 * container holds while it parses one (docs/SECURITY.md, "Bursts and overload").
 */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Seconds a caller is asked to wait before sending a body the budget had no room for. */
export const BODY_BUDGET_RETRY_AFTER_S = 1;

/** The body did not fit; the message says how much was held and what the limit is. */
export class BodyBudgetError extends Error {}

export class BodyBudget {
  readonly max: number;
  #held = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** Bytes held now, by every lease together. */
  get held(): number {
    return this.#held;
  }

  /** A lease for one body: it takes bytes as they arrive and gives them all back once. */
  lease(): BodyLease {
    return new BodyLease(this);
  }

  /** @internal Takes n bytes; false (nothing taken) when they do not fit. */
  take(n: number): boolean {
    if (this.#held + n > this.max) return false;
    this.#held += n;
    return true;
  }

  /** @internal */
  give(n: number): void {
    this.#held -= n;
  }
}

export class BodyLease {
  readonly #budget: BodyBudget;
  #taken = 0;

  constructor(budget: BodyBudget) {
    this.#budget = budget;
  }

  /** Takes n more bytes for this body; throws BodyBudgetError (nothing taken) when they do not fit. */
  take(n: number): void {
    if (this.#budget.take(n)) {
      this.#taken += n;
      return;
    }
    const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
    throw new BodyBudgetError(
      `the sidecar holds ${mib(this.#budget.held)} of bodies of requests in flight, of at most ${mib(this.#budget.max)} (--max-buffered-bytes)`,
    );
  }

  /**
   * For a part that grows and shrinks (an event of a stream, held until its end): the function
   * holds `size` bytes for it in all, taking the growth (throws as take() does) or giving back
   * the rest.
   */
  part(): (size: number) => void {
    let held = 0;
    return (size: number) => {
      if (size > held) this.take(size - held);
      else {
        this.#budget.give(held - size);
        this.#taken -= held - size;
      }
      held = size;
    };
  }

  /** Gives back everything this lease took; safe to call more than once. */
  release(): void {
    this.#budget.give(this.#taken);
    this.#taken = 0;
  }
}
