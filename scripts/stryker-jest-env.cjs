// Jest test environment for StrykerJS mutant runs only (jest.stryker.config.js): once one test
// has failed, the mutant is killed, so the tests after it (in this file and the next) are
// skipped instead of run. Jest itself cannot stop early when called as a library (its `bail`
// exits the process). scripts/stryker-jest-by-file.js arms it for each mutant run (not for the
// dry run, whose coverage needs every test, nor when Stryker asks for all failures).
/* global require, module -- CommonJS: StrykerJS require()s the environment it wraps */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { TestEnvironment } = require('jest-environment-node');

const BAIL = Symbol.for('scopekeeper.stryker.bail');

class BailingEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    const bail = globalThis[BAIL];
    if (!bail) return;
    if (event.name === 'test_start' && bail.failed) event.test.mode = 'skip';
    else if (event.name === 'test_done' && event.test.errors.length > 0) bail.failed = true;
  }
}

module.exports = BailingEnvironment;
