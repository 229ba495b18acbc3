// Used only by StrykerJS (npm run mutate, stryker.config.json): the fast unit tests. The
// security core must be killed by unit tests; the sidecar's integration tests (packages/sidecar/test)
// import the whole sidecar, and under ESM jest every one of them was loaded again for every
// mutant of a file they depend on (findRelatedTests), about 7 s per mutant. (The runner,
// scripts/stryker-jest-by-file.js, also loads only the files whose tests cover the mutant.)
import { fileURLToPath } from 'node:url';
import base from './jest.config.js';

export default {
  ...base,
  roots: ['<rootDir>/packages'],
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/packages/core/test/**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/scripts/stryker-jest-setup.js'],
  // a mutant run stops at its first failing test (StrykerJS wraps this environment with its own)
  testEnvironment: fileURLToPath(new URL('./scripts/stryker-jest-env.cjs', import.meta.url)),
  testSequencer: '<rootDir>/scripts/stryker-jest-sequencer.cjs',
  // CPU-time ratios of the masking engine on adversarial input (seconds per run, covering every
  // masking mutant): a performance property, not a behaviour a mutant changes.
  testPathIgnorePatterns: ['/node_modules/', '/packages/core/src/masking/adversarial\\.test\\.ts$'],
};
