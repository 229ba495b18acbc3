// Renders the attack log of a hardening run as the Markdown table in docs/SECURITY.md:
//
//   SCOPEKEEPER_ATTACK_LOG=/tmp/attacks.jsonl npm test -- packages/sidecar/test/hardening
//   node_modules/.bin/node packages/sidecar/test/hardening/attack-table.ts /tmp/attacks.jsonl
//
// Rows are the results the tests observed (and asserted), grouped by suite in a stable order.
import { readFileSync } from 'node:fs';
import type { AttackRecord } from './support.ts';

const file = process.argv[2] ?? process.env.SCOPEKEEPER_ATTACK_LOG;
if (!file) {
  process.stderr.write('usage: attack-table.ts ATTACK_LOG.jsonl\n');
  process.exit(2);
}

const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as AttackRecord);
const order = ['bad input', 'upstream and IdP faults', 'sidecar faults', 'bursts and overload', 'held requests', 'SAML assertions'];
const seen = new Set<string>();
const unique = rows.filter((r) => {
  const key = `${r.suite}|${r.attack}`;
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
});
unique.sort((a, b) => order.indexOf(a.suite) - order.indexOf(b.suite));

const cell = (s: string | number | undefined) =>
  String(s ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const out: string[] = [];
let suite = '';
for (const r of unique) {
  if (r.suite !== suite) {
    suite = r.suite;
    out.push('', `**${suite}**`, '', '| Attack | Expected | Observed | Error type | Connection | Note |', '|---|---|---|---|---|---|');
  }
  const observed = r.status === 0 ? 'no response' : String(r.status);
  const conn = r.closed === undefined ? '' : r.closed ? 'closed' : 'kept';
  out.push(`| ${cell(code(r.attack))} | ${cell(r.expected)} | ${observed} | ${cell(r.errorType ?? '—')} | ${conn} | ${cell(r.note)} |`);
}
process.stdout.write(`${out.join('\n').trim()}\n\n${unique.length} attacks.\n`);
