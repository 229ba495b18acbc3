// Jest test sequencer for StrykerJS runs only (jest.stryker.config.js): the fastest test files
// first (jest's default runs the slowest first). A mutant run stops at its first failing test
// (scripts/stryker-jest-env.cjs), so a mutant the quick unit tests kill never waits for the
// property tests of a slower file.
/* global require, module -- CommonJS, as jest's own sequencer */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Sequencer = require('@jest/test-sequencer').default;

class FastestFirst extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests); // sets test.duration from jest's cache
    return [...sorted].sort((a, b) => (a.duration ?? Infinity) - (b.duration ?? Infinity));
  }
}

module.exports = FastestFirst;
