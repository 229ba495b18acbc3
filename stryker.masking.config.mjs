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
    'packages/core/src/masking/builtin-contact.ts',
    'packages/core/src/masking/builtin-ip.ts',
    'packages/core/src/masking/builtin-keys.ts',
    'packages/core/src/masking/builtin-numbers.ts',
    'packages/core/src/masking/builtin-secrets.ts',
    'packages/core/src/masking/builtin.ts',
    'packages/core/src/masking/checks.ts',
    'packages/core/src/masking/custom-charset.ts',
    'packages/core/src/masking/custom-parser.ts',
    'packages/core/src/masking/custom-program.ts',
    'packages/core/src/masking/custom-reader.ts',
    'packages/core/src/masking/custom-vm.ts',
    'packages/core/src/masking/custom.ts',
    'packages/core/src/masking/detector.ts',
    'packages/core/src/masking/engine.ts',
    'packages/core/src/masking/json-body.ts',
    'packages/core/src/masking/json-message.ts',
    'packages/core/src/masking/json-stream.ts',
    'packages/core/src/masking/json-values.ts',
    'packages/core/src/masking/policy.ts',
    'packages/core/src/masking/sse-content.ts',
    'packages/core/src/masking/sse-events.ts',
    'packages/core/src/masking/sse-framing.ts',
    'packages/core/src/masking/sse-masker.ts',
    'packages/core/src/masking/sse-text-run.ts',
    'packages/core/src/masking/text-stream.ts',
  ],
  incrementalFile: 'reports/stryker-masking.json',
  jsonReporter: { fileName: 'reports/mutation/masking.json' },
};
