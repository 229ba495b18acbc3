// StrykerJS test runner "jest-by-file" (stryker.config.json): the jest runner of
// @stryker-mutator/jest-runner, except that a mutant's run loads only the test FILES that hold
// the tests covering it (perTest coverage of the dry run), not every test file that imports the
// mutated file. The stock runner passes the covering tests as a name pattern but lets jest find
// the files with --findRelatedTests; under ESM jest every related file is then imported and its
// module graph evaluated again for each mutant, even when none of its tests runs. For a file of
// the masking engine that is 33 test files per mutant; here it is the two or three that cover it.
// The dry run and the mutant runs may happen in different worker processes (all in the one
// sandbox, their cwd), so the dry run writes the test -> file map to a file there.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { strykerPlugins as jestPlugins } from '@stryker-mutator/jest-runner';
import { declareFactoryPlugin, PluginKind } from '@stryker-mutator/api/plugin';

const jestFactory = jestPlugins[0].factory;

const MAP_FILE = '.stryker-jest-by-file.json';
/** Shared with scripts/stryker-jest-env.cjs (same process): `{ failed }` while a mutant runs. */
const BAIL = Symbol.for('scopekeeper.stryker.bail');

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function jestByFileFactory(injector) {
  const runner = jestFactory(injector);
  /** test id (jest's full name) -> the files that have a test of that name */
  const filesOf = new Map();
  let covering; // the testFilter of the mutant being run
  let wholeFiles = false; // run every test of the covering files, not only the covering tests

  const dryRun = runner.dryRun.bind(runner);
  runner.dryRun = async (options) => {
    const result = await dryRun(options);
    for (const test of result.tests ?? []) {
      if (!test.fileName) continue;
      if (!filesOf.has(test.id)) filesOf.set(test.id, new Set());
      filesOf.get(test.id).add(test.fileName);
    }
    writeFileSync(MAP_FILE, JSON.stringify([...filesOf].map(([id, files]) => [id, [...files]])));
    return result;
  };

  const mutantRun = runner.mutantRun.bind(runner);
  runner.mutantRun = async (options) => {
    if (filesOf.size === 0) {
      try {
        for (const [id, files] of JSON.parse(readFileSync(MAP_FILE, 'utf8'))) filesOf.set(id, new Set(files));
      } catch {
        // no map (yet): jest's related-file search, as the stock runner does
      }
    }
    covering = options.testFilter;
    // A "hybrid" mutant (ignoreStatic: its code also runs while a test file loads, e.g. a policy
    // compiled at the top of the file) changes what the file's other tests see, though only the
    // tests that ran its code are its "covering" tests. Stryker marks it by asking for a reload.
    wholeFiles = Boolean(options.testFilter && options.reloadEnvironment);
    globalThis[BAIL] = options.disableBail ? undefined : { failed: false };
    try {
      return await mutantRun(options);
    } finally {
      covering = undefined;
      globalThis[BAIL] = undefined;
    }
  };

  const adapter = runner.jestTestAdapter;
  const run = adapter.run.bind(adapter);
  adapter.run = (settings) => {
    if (covering && !settings.testFiles) {
      const files = new Set();
      for (const id of covering) for (const f of filesOf.get(id) ?? []) files.add(f);
      // A test the dry run did not report by file: fall back to jest's related-file search.
      if (files.size > 0 && covering.every((id) => filesOf.has(id))) {
        return run({
          ...settings,
          fileNamesUnderTest: undefined,
          testFiles: [...files].map((f) => `^${escapeRegExp(f)}$`),
          testNamePattern: wholeFiles ? undefined : settings.testNamePattern,
        });
      }
    }
    return run(settings);
  };
  return runner;
}
jestByFileFactory.inject = jestFactory.inject;

/**
 * Reporter "survivors": appends each surviving (or uncovered) mutant to reports/survivors.log as
 * soon as it is tested, so tests can be written while a long run goes on.
 */
function survivorsReporterFactory() {
  const file = 'reports/survivors.log';
  mkdirSync('reports', { recursive: true });
  writeFileSync(file, '');
  return {
    onMutantTested(m) {
      if (m.status !== 'Survived' && m.status !== 'NoCoverage') return;
      const at = `${m.fileName}:${m.location.start.line}:${m.location.start.column + 1}`;
      appendFileSync(file, `${m.status} ${at} ${m.mutatorName}: ${JSON.stringify(m.replacement)}\n`);
    },
  };
}

export const strykerPlugins = [
  declareFactoryPlugin(PluginKind.TestRunner, 'jest-by-file', jestByFileFactory),
  declareFactoryPlugin(PluginKind.Reporter, 'survivors', survivorsReporterFactory),
];
