// Used only by StrykerJS for the masking files (stryker.masking.config.mjs): the masking unit tests
// alone. Nearly every test file of the sidecar and of core's policy builds a masking engine when it
// loads, so a masking mutant is "hybrid" (its code runs while test files load) and Stryker runs
// every related test file for it: 33 files under jest.stryker.config.js. The masking engine must be
// killed by its own tests; these are them.
import base from './jest.stryker.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/packages/core/src/masking/**/*.test.ts'],
};
