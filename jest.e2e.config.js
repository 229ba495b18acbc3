// e2e against real clusters, two jest projects with a cluster each. jest runs a project's global
// setup only when one of its specs is selected, so `npm run test:e2e -- e2e/x.e2e.test.ts` starts
// the control plane alone.
//  - controlplane (e2e/*.e2e.test.ts): etcd + kube-apiserver on loopback (or the cluster of
//    $KUBECONFIG), see e2e/harness/global-setup.ts and cluster.ts;
//  - pods (e2e/pods/*.e2e.test.ts): the one-node cluster in its own network namespace, with the
//    image of `npm run image` in its containerd, see e2e/harness/node-setup.ts and pods.ts (root).
// Each global teardown stops its cluster; the outcome reporter tells them whether to keep logs.
// `npm run test:all` runs the two one after the other (--selectProjects), so the idle node does not
// load the machine under the control plane's timing tests.
const common = {
  testEnvironment: 'node',
  // dist/ (npm run build) holds a second copy of every workspace package: not for jest.
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.stryker-tmp/'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } }],
  },
};

export default {
  projects: [
    {
      ...common,
      displayName: 'controlplane',
      testMatch: ['<rootDir>/e2e/*.e2e.test.ts'],
      globalSetup: '<rootDir>/e2e/harness/global-setup.ts',
      globalTeardown: '<rootDir>/e2e/harness/global-teardown.ts',
    },
    {
      ...common,
      displayName: 'pods',
      testMatch: ['<rootDir>/e2e/pods/*.e2e.test.ts'],
      globalSetup: '<rootDir>/e2e/harness/node-setup.ts',
      globalTeardown: '<rootDir>/e2e/harness/node-teardown.ts',
    },
  ],
  reporters: ['default', '<rootDir>/e2e/harness/reporter.ts'],
  testTimeout: 120000,
  // One cluster per project, shared: spec files run one after another.
  maxWorkers: 1,
};
