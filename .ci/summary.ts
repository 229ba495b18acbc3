// Adds up the jest JSON reports of every suite run into the one line CI reads, and names every
// failure with the start of its message: CI keeps only the tail of a long log, and a count alone
// leaves a flake that does not repeat on a quiet machine with nothing to go on.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numRuntimeErrorTestSuites: number;
  testResults?: {
    name: string;
    message?: string;
    assertionResults?: { fullName: string; status: string; failureMessages?: string[] }[];
  }[];
}

/** Lines of a failure message worth reading in a log tail: no colours, no blank lines, at most `max`. */
function excerpt(message: string, max = 12): string[] {
  // eslint-disable-next-line no-control-regex
  const lines = message.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  return lines.filter((l) => l.trim() !== '').slice(0, max);
}

const dir = process.argv[2]!;
let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
  const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Report;
  passed += r.numPassedTests;
  // A suite that fails to load counts as a failure even though it ran no test.
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  skipped += r.numPendingTests + r.numTodoTests;
  console.log(`${f.replace(/\.json$/, '')}: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);
  for (const file of r.testResults ?? []) {
    const bad = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of bad)
      failures.push(`✕ ${file.name} › ${a.fullName}`, ...excerpt((a.failureMessages ?? []).join('\n')).map((l) => `    ${l}`));
    // A suite that failed outside any test (a throw in beforeAll, a file that does not load).
    if (!bad.length && file.message) failures.push(`✕ ${file.name}`, ...excerpt(file.message).map((l) => `    ${l}`));
  }
}
if (failures.length) console.log(`\nfailures:\n${failures.join('\n')}\n`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
