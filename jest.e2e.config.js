// e2e against a real kube-apiserver + etcd (built from Go modules, see e2e/controlplane).
// Global setup provides the cluster (a local control plane, or the one of $KUBECONFIG) and passes
// it to the specs through $SCOPEKEEPER_E2E_CLUSTER (see e2e/harness/cluster.ts); global teardown
// stops it. The outcome reporter tells teardown whether to keep the control plane's logs.
export default {
  testEnvironment: 'node',
  // dist/ (npm run build) holds a second copy of every workspace package: not for jest.
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.stryker-tmp/'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } }],
  },
  testMatch: ['<rootDir>/e2e/**/*.e2e.test.ts'],
  globalSetup: '<rootDir>/e2e/harness/global-setup.ts',
  globalTeardown: '<rootDir>/e2e/harness/global-teardown.ts',
  reporters: ['default', '<rootDir>/e2e/harness/reporter.ts'],
  testTimeout: 120000,
  // One cluster, shared: spec files run one after another.
  maxWorkers: 1,
};
