// `npm run mutate:ci`: the incremental mutation run CI can afford, then the score of EACH file.
//
// StrykerJS starts from a committed incremental report (the last full run) and tests again only
// the mutants whose code or covering tests changed since. There are two configurations, each
// with its own report: stryker.config.json (policy, identity, audit, inspection, admission,
// JSONPath; every unit test) and stryker.masking.config.mjs (the masking engine; the masking unit
// tests). The files each one mutates are the files of its report, so a file is checked in CI once
// a full run of it was committed (`npm run mutate -- --mutate <file> --incremental`, or
// `npm run mutate:masking -- ...`, adds one). Then every file must score at least 90% (Stryker's
// own thresholds.break looks at all files together, so one file could sink while the others
// carry it).
//
//   node scripts/mutation-ci.ts [--min 90] [--check-only]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const RUNS = [
  { config: 'stryker.config.json', incremental: 'reports/stryker-incremental.json', report: 'reports/mutation/mutation.json' },
  { config: 'stryker.masking.config.mjs', incremental: 'reports/stryker-masking.json', report: 'reports/mutation/masking.json' },
];

interface Report {
  files: Record<string, { mutants: { status: string }[] }>;
}

const args = process.argv.slice(2);
const minAt = args.indexOf('--min');
const min = minAt >= 0 ? Number(args[minAt + 1]) : 90;
if (!Number.isFinite(min)) throw new Error(`--min must be a percentage, got ${args[minAt + 1]}`);

const runs = RUNS.filter((r) => existsSync(r.incremental));
if (!args.includes('--check-only')) {
  for (const { config, incremental } of runs) {
    const files = Object.keys((JSON.parse(readFileSync(incremental, 'utf8')) as Report).files).sort();
    const run = spawnSync(
      'node_modules/.bin/stryker',
      ['run', config, '--incremental', '--incrementalFile', incremental, '--mutate', files.join(',')],
      { stdio: 'inherit' },
    );
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
}

// Stryker's definition: detected = killed + timeout; valid = detected + survived + no coverage
// (compile and runtime errors and ignored mutants are not counted).
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
let failed = 0;
const rows = runs
  .flatMap(({ report }) => Object.entries((JSON.parse(readFileSync(report, 'utf8')) as Report).files))
  .map(([path, { mutants }]) => {
    const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
    const valid = detected + mutants.filter((m) => UNDETECTED.has(m.status)).length;
    const score = valid === 0 ? 100 : (100 * detected) / valid;
    if (score < min) failed++;
    return `${score >= min ? 'ok  ' : 'FAIL'} ${score.toFixed(2).padStart(6)}%  ${String(valid - detected).padStart(3)} undetected of ${String(valid).padStart(4)}  ${path}`;
  });
console.log(rows.sort().join('\n'));
if (rows.length === 0) {
  console.error(`${runs.map((r) => r.report).join(' and ')} hold no files: did Stryker run?`);
  process.exit(1);
}
if (failed > 0) {
  console.error(
    `${failed} file(s) under the mutation score of ${min}%: kill the survivors (reports/mutation/*.json list them) or list them in docs/testing.md with why they are equivalent.`,
  );
  process.exit(1);
}
