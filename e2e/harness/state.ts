// State that global setup leaves for global teardown and the reporter. jest runs all three in
// its main process, loading each module on its own, so the state lives on globalThis.
import type { LocalControlPlane } from './controlplane.ts';

export interface HarnessState {
  runDir: string;
  logDir?: string;
  plane?: LocalControlPlane;
  /** Removes the exit/signal handlers global setup installed. */
  removeExitHandlers: () => void;
}

export interface RunOutcome {
  success: boolean;
}

const STATE = Symbol.for('scopekeeper.e2e.state');
const OUTCOME = Symbol.for('scopekeeper.e2e.outcome');
const g = globalThis as unknown as Record<symbol, unknown>;

export const setState = (s: HarnessState | undefined): void => {
  g[STATE] = s;
};
export const getState = (): HarnessState | undefined => g[STATE] as HarnessState | undefined;
export const setOutcome = (o: RunOutcome): void => {
  g[OUTCOME] = o;
};
export const getOutcome = (): RunOutcome | undefined => g[OUTCOME] as RunOutcome | undefined;

/**
 * Runs `cleanup` (synchronously) when the process exits or is told to stop, so a control plane
 * never outlives the run. Returns a function that removes the handlers again.
 */
export function onExit(fn: () => void): () => void {
  let done = false;
  const cleanup = (): void => {
    if (done) return;
    done = true;
    fn();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const handlers = signals.map((sig) => {
    const h = (): void => {
      cleanup();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  process.on('exit', cleanup);
  return () => {
    process.off('exit', cleanup);
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
