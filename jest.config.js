// Unit and integration tests: everything under packages/ (loopback only).
// ESM mode (node --experimental-vm-modules) because @kubernetes/client-node 2.x is ESM-only.
// SWC strips types; it does not depend on the TypeScript compiler API, so the pinned tsc only typechecks.
export default {
  testEnvironment: 'node',
  // dist/ (npm run build) and StrykerJS's sandbox (npm run mutate) hold second copies of the
  // workspace packages: not for jest.
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.stryker-tmp/'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } }],
  },
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/packages/*/test/**/*.test.ts'],
  testTimeout: 30000,
};
