// e2e against a real kube-apiserver + etcd (built from Go modules, see e2e/controlplane).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } }],
  },
  testMatch: ['<rootDir>/e2e/**/*.e2e.test.ts'],
  globalSetup: '<rootDir>/e2e/harness/global-setup.ts',
  globalTeardown: '<rootDir>/e2e/harness/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 1,
};
