// `npm run mutate:ci`: the incremental mutation run CI can afford, then the score of EACH file.
//
// StrykerJS starts from the committed reports/stryker-incremental.json (the last full run) and
// tests again only the mutants whose code or covering tests changed since. The files it mutates
// are the files of that report, so a file is checked in CI once a full run of it was committed
// (`npm run mutate -- --mutate <file> --incremental` adds one). Then every file must score at
// least 90% (Stryker's own thresholds.break looks at all files together, so one file could sink
// while the others carry it).
//
//   node scripts/mutation-ci.ts [--min 90] [--check-only]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const INCREMENTAL = 'reports/stryker-incremental.json';
const REPORT = 'reports/mutation/mutation.json';

interface Report {
  files: Record<string, { mutants: { status: string }[] }>;
}

const args = process.argv.slice(2);
const minAt = args.indexOf('--min');
const min = minAt >= 0 ? Number(args[minAt + 1]) : 90;
if (!Number.isFinite(min)) throw new Error(`--min must be a percentage, got ${args[minAt + 1]}`);

if (!args.includes('--check-only')) {
  const files = Object.keys((JSON.parse(readFileSync(INCREMENTAL, 'utf8')) as Report).files).sort();
  const run = spawnSync(
    'node_modules/.bin/stryker',
    ['run', '--incremental', '--incrementalFile', INCREMENTAL, '--mutate', files.join(',')],
    {
      stdio: 'inherit',
    },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
}

// Stryker's definition: detected = killed + timeout; valid = detected + survived + no coverage
// (compile and runtime errors and ignored mutants are not counted).
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const report = JSON.parse(readFileSync(REPORT, 'utf8')) as Report;
let failed = 0;
const rows = Object.entries(report.files).map(([path, { mutants }]) => {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const valid = detected + mutants.filter((m) => UNDETECTED.has(m.status)).length;
  const score = valid === 0 ? 100 : (100 * detected) / valid;
  if (score < min) failed++;
  return `${score >= min ? 'ok  ' : 'FAIL'} ${score.toFixed(2).padStart(6)}%  ${String(valid - detected).padStart(3)} undetected of ${String(valid).padStart(4)}  ${path}`;
});
console.log(rows.sort().join('\n'));
if (rows.length === 0) {
  console.error(`${REPORT} holds no files: did Stryker run?`);
  process.exit(1);
}
if (failed > 0) {
  console.error(
    `${failed} file(s) under the mutation score of ${min}%: kill the survivors (${REPORT} lists them) or list them in docs/testing.md with why they are equivalent.`,
  );
  process.exit(1);
}
