// `npm run mutate:ci` (after an incremental Stryker run): the mutation score of EACH file of the
// report, failing when one is under its bar. Stryker's own `thresholds.break` looks at the score
// of all files together, so a file could sink while the others carry it.
//
//   node scripts/mutation-check.ts [report.json] [--min 90]
import { readFileSync } from 'node:fs';

interface Mutant {
  status: string;
}
interface Report {
  files: Record<string, { mutants: Mutant[] }>;
}

const args = process.argv.slice(2);
const minAt = args.indexOf('--min');
const min = minAt >= 0 ? Number(args[minAt + 1]) : 90;
const file = args.find((a, i) => !a.startsWith('--') && i !== minAt + 1) ?? 'reports/mutation/mutation.json';
if (!Number.isFinite(min)) throw new Error(`--min must be a number (a percentage), got ${args[minAt + 1]}`);

const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
// Stryker's definition: detected = killed + timeout; valid = detected + survived + no coverage
// (compile and runtime errors and ignored mutants are not counted).
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

let failed = 0;
const rows = Object.entries(report.files).map(([path, { mutants }]) => {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const valid = detected + mutants.filter((m) => UNDETECTED.has(m.status)).length;
  const score = valid === 0 ? 100 : (100 * detected) / valid;
  const ok = score >= min;
  if (!ok) failed++;
  return `${ok ? 'ok  ' : 'FAIL'} ${score.toFixed(2).padStart(6)}%  ${String(valid - detected).padStart(3)} undetected of ${String(valid).padStart(4)}  ${path}`;
});
console.log(rows.sort().join('\n'));
if (rows.length === 0) {
  console.error(`${file} holds no files: did Stryker run?`);
  process.exit(1);
}
if (failed > 0) {
  console.error(
    `${failed} file(s) under the mutation score of ${min}%: kill the survivors (reports/mutation/mutation.json lists them) or list them in docs/testing.md with why they are equivalent.`,
  );
  process.exit(1);
}
