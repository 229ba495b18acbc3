// Lets Stryker's incremental run follow code that moved to another file.
//
// Stryker reuses a mutant's result when its code and the tests that covered it are unchanged,
// found by diffing a file's source in the incremental report against the file now. It matches
// files by name, so code moved to a new file would lose every result and cost a full run. This
// copies the entry of the file the code came from to each file it went to: Stryker then diffs
// the old file against each new one, keeps the results of the code that arrived there verbatim
// and runs every mutant whose code (or whose covering tests) changed on the way, as it would had
// the file only shrunk in place. The old entry is dropped when its file is gone.
//
//   node scripts/mutation-seed.ts <incremental report> <old file> <new file>...
//   then: npm run mutate[:masking] -- --incremental --incrementalFile <report> --mutate <the new files,old file>
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

interface Report {
  files: Record<string, { source: string; mutants: unknown[] }>;
}

const [reportPath, from, ...to] = process.argv.slice(2);
if (reportPath === undefined || from === undefined || to.length === 0) {
  console.error('usage: node scripts/mutation-seed.ts <incremental report> <old file> <new file>...');
  process.exit(2);
}
const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
const entry = report.files[from];
if (entry === undefined) {
  console.error(`${reportPath} has no entry for ${from}; its files: ${Object.keys(report.files).join(', ')}`);
  process.exit(1);
}
for (const file of to) {
  if (!existsSync(file)) {
    console.error(`${file} does not exist: name the files the code moved to`);
    process.exit(1);
  }
  if (report.files[file] !== undefined) {
    console.error(`${reportPath} already has an entry for ${file}; seeding would overwrite its results`);
    process.exit(1);
  }
  report.files[file] = entry;
}
if (!existsSync(from)) delete report.files[from];
writeFileSync(reportPath, JSON.stringify(report, null, 2));
console.log(
  `${reportPath}: ${to.join(', ')} seeded from ${from} (${entry.mutants.length} mutants)${existsSync(from) ? '' : `; ${from} dropped`}`,
);
