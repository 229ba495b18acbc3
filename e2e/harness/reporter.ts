// Tells global teardown whether the run passed, so it keeps the control plane's logs of a
// failed run and deletes those of a passing one. Listed in jest.e2e.config.js `reporters`.
import { setOutcome } from './state.ts';

interface Aggregated {
  numFailedTests: number;
  numFailedTestSuites: number;
  numRuntimeErrorTestSuites: number;
  wasInterrupted: boolean;
}

export default class OutcomeReporter {
  onRunComplete(_contexts: unknown, results: Aggregated): void {
    setOutcome({
      success:
        results.numFailedTests === 0 &&
        results.numFailedTestSuites === 0 &&
        results.numRuntimeErrorTestSuites === 0 &&
        !results.wasInterrupted,
    });
  }
}
