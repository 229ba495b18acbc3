// jest globalTeardown: stops the control plane global setup started (also after failed tests),
// deletes the run's temp directory, and keeps the control plane's logs only when the run failed.
import { rmSync } from 'node:fs';
import { log } from './proc.ts';
import { getOutcome, getState, setState } from './state.ts';

export default async function globalTeardown(): Promise<void> {
  const state = getState();
  if (!state) return;
  setState(undefined);
  try {
    await state.plane?.stop();
  } finally {
    state.removeExitHandlers();
    rmSync(state.runDir, { recursive: true, force: true });
  }
  if (state.logDir) {
    if (getOutcome()?.success) rmSync(state.logDir, { recursive: true, force: true });
    else log(`the run failed: etcd and kube-apiserver logs kept in ${state.logDir}`);
  }
}
