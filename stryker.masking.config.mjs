// Mutation testing of the masking engine (docs/testing.md): stryker.config.json, except that the
// mutants are killed by the masking unit tests alone (jest.stryker.masking.config.js) and the
// results go to their own incremental report. `npm run mutate:masking -- --mutate <file>`;
// CI: `npm run mutate:ci` runs both configurations.
// (masking/jsonpath.ts stays in stryker.config.json: it was measured there, against every unit test.)
import { readFileSync } from 'node:fs';

const base = JSON.parse(readFileSync(new URL('./stryker.config.json', import.meta.url), 'utf8'));

export default {
  ...base,
  jest: { ...base.jest, configFile: 'jest.stryker.masking.config.js' },
  mutate: [
    'packages/core/src/masking/engine.ts',
    'packages/core/src/masking/detector.ts',
    'packages/core/src/masking/builtin.ts',
    'packages/core/src/masking/checks.ts',
    'packages/core/src/masking/custom.ts',
    'packages/core/src/masking/json.ts',
    'packages/core/src/masking/sse-masker.ts',
  ],
  incrementalFile: 'reports/stryker-masking.json',
  jsonReporter: { fileName: 'reports/mutation/masking.json' },
};
