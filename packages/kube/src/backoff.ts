// Exponential backoff with jitter, capped: the delay before retry number `attempt` (0-based).

export interface BackoffOptions {
  /** First delay (ms). Default 250. */
  initialMs?: number;
  /** Largest delay (ms). Default 10 000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay that is random (0 = none, 1 = "full jitter"). Default 0.5. */
  jitter?: number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = opts.initialMs ?? 250;
  const max = opts.maxMs ?? 10_000;
  const factor = opts.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
  const base = Math.min(max, initial * factor ** Math.min(attempt, 64));
  return Math.round(base * (1 - jitter * random()));
}
