// Jest setup for StrykerJS runs only (jest.stryker.config.js). A property that fails has killed
// its mutant; shrinking the counterexample (often thousands more runs) would only cost time.
// Passing runs are unchanged: every property keeps its own numRuns.
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true });
