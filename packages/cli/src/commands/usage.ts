// `scopekeeper reviews usage|recommend <scope>`: what a scope's grants were used for, from audit
// logs whose hash chain verifies, and the tightened scope that keeps only that.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { parse } from 'yaml';
import {
  parseDuration,
  recommend,
  scopeUsage,
  formatVerifyResult,
  type AuditEvent,
  type ModelScope,
  type ScopeUsage,
  type Counted,
} from '@scopekeeper/core';
import { UsageError, verifyAuditFile } from '@scopekeeper/sidecar';

export interface UsageFlags {
  audit: string[];
  since?: string;
  allowBroken: boolean;
  minUses: string;
}

export interface AuditInput {
  records: AuditEvent[];
  /** One line per file whose chain did not verify (only with --allow-broken). */
  warnings: string[];
}

/** Reads audit logs whose chains verify; a broken chain is refused with where it breaks, unless allowBroken. */
export async function readVerifiedAudit(files: string[], allowBroken: boolean): Promise<AuditInput> {
  if (!files.length) throw new UsageError('name the sidecar audit log(s) with --audit FILE (repeatable)');
  const out: AuditInput = { records: [], warnings: [] };
  for (const f of files) {
    const v = await verifyAuditFile(f).catch((e: Error) => {
      throw new UsageError(e.message);
    });
    if (!v.ok) {
      const where = `${f}: the audit chain is broken: ${formatVerifyResult(v)}`;
      if (!allowBroken)
        throw new UsageError(
          `${where}. Usage from a tampered log is not evidence; find out what happened (scopekeeper audit verify ${f}), or pass --allow-broken to count the records anyway`,
        );
      out.warnings.push(`WARNING ${where}; the counts below include records that could not be verified (--allow-broken)`);
    }
    const lines = createInterface({ input: createReadStream(f), crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (!line.trim()) continue;
      try {
        out.records.push(JSON.parse(line) as AuditEvent);
      } catch {
        if (!allowBroken) throw new UsageError(`${f}:${n} is not an audit record (JSON line)`);
      }
    }
  }
  return out;
}

/** The flags `reviews usage` and `reviews recommend` share. */
export function recommendFlags(c: Command): Command {
  return c
    .addOption(
      new Option('--audit <file>', 'a sidecar audit log (repeatable); its hash chain must verify')
        .argParser((v: string, p: string[] = []) => [...p, v])
        .default([]),
    )
    .option('--since <when>', 'the window: a duration back from now (90d) or a date (2026-09-01)')
    .option('--allow-broken', 'count records of a log whose chain does not verify (the output says so)', false)
    .option('--min-uses <n>', 'a name used fewer times than this counts as unused', '1')
    .option('--scope-file <path>', 'read the ModelScope from this YAML file instead of the cluster (GitOps, offline review)')
    .addOption(new Option('-o, --output <format>', 'usage: table or json').choices(['table', 'json']).default('table'));
}

/** `--since 90d` (a duration back from now) or a date. */
export function parseSince(since: string | undefined, now: number): number | undefined {
  if (since === undefined) return undefined;
  if (/^([0-9]+(s|m|h|d|w))+$/.test(since)) return now - parseDuration(since);
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new UsageError(`--since "${since}" is neither a duration (90d) nor a date (2026-01-01 or RFC 3339)`);
  return t;
}

export function parseMinUses(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--min-uses "${v}" must be a whole number of 1 or more`);
  return n;
}

/** The scope from a YAML file (for GitOps repos and offline review), checked to be the one asked for. */
export async function scopeFromFile(path: string, name: string, namespace: string | undefined): Promise<ModelScope> {
  let docs: unknown[];
  try {
    docs = (await readFile(path, 'utf8')).split(/^---\s*$/m).map((d) => parse(d) as unknown);
  } catch (e) {
    throw new UsageError(`cannot read --scope-file ${path}: ${(e as Error).message}`);
  }
  const s = docs.find((d): d is ModelScope => (d as ModelScope)?.kind === 'ModelScope' && (d as ModelScope).metadata?.name === name);
  if (!s) throw new UsageError(`${path} holds no ModelScope named ${name}`);
  return { ...s, metadata: { ...s.metadata, namespace: s.metadata.namespace ?? namespace ?? 'default' } };
}

export function usageFor(scope: ModelScope, input: AuditInput, flags: UsageFlags, now = Date.now()): ScopeUsage {
  return scopeUsage(input.records, scope, { now, since: parseSince(flags.since, now) }, parseMinUses(flags.minUses));
}

const list = (cs: Counted[], max = 8) =>
  cs.length
    ? cs
        .slice(0, max)
        .map((c) => `${c.name} (${c.count})`)
        .join(', ') + (cs.length > max ? `, … ${cs.length - max} more` : '')
    : '-';

/** The usage report for people. */
export function formatUsage(u: ScopeUsage): string {
  const lines = [
    `ModelScope ${u.namespace}/${u.scope}, ${u.since ? `${u.since.slice(0, 16).replace('T', ' ')}` : 'whole log'} to ${u.until.slice(0, 16).replace('T', ' ')} UTC`,
    `requests   ${u.requests} (allowed ${u.allowed}, denied ${u.denied}, held ${u.held})`,
    `callers    ${u.callers.map((c) => `${c.subject} (${c.requests}${c.denied ? `, ${c.denied} denied` : ''})`).join(', ') || '-'}`,
    `models     ${u.models.map((m) => `${m.name} (${m.count}, last ${m.lastUse.slice(0, 10)})`).join(', ') || '-'}`,
    `offered    ${list(u.toolsOffered)}`,
    `used       ${list(u.toolsUsed)}`,
    `endpoints  ${list(u.endpoints)}`,
    `masked     ${list(u.masked)}${u.blocked.length ? `; blocked ${list(u.blocked)}` : ''}`,
    `denials    ${list(u.denials)}`,
    `held       ${u.holds.map((h) => `${h.approval} ${h.model}${h.tools.length ? ` [${h.tools.join(', ')}]` : ''}: ${h.outcome}`).join('; ') || '-'}`,
    '',
    u.unused.length ? `Unused grants (${u.unused.length}):` : 'Every grant was used.',
    ...u.unused.map((x) => `  ${x.field}  ${x.grant}  — ${x.why}`),
  ];
  return lines.join('\n') + '\n';
}

/** The recommendation for people: removals with reasons, the diff, and the YAML to apply. */
export function formatRecommendation(scope: ModelScope, u: ScopeUsage, minUses: number): string {
  const r = recommend(scope, u, minUses);
  if (r.unusedScope) return `${r.unusedScope}\n`;
  const notes = r.notes.map((n) => `# note: ${n}`);
  if (!r.removed.length)
    return [`# ModelScope ${u.namespace}/${u.scope}: every grant was used; nothing to remove.`, ...notes, r.yaml].join('\n');
  return (
    [
      `# ModelScope ${u.namespace}/${u.scope}: ${r.removed.length} grant(s) unused ${u.since ? `since ${u.since.slice(0, 10)}` : 'in the audit log'}`,
      ...r.removed.map((x) => `#   remove ${x.field} ${x.grant}: ${x.why}`),
      ...notes,
      '#',
      '# diff against the current scope:',
      ...r.diff
        .trimEnd()
        .split('\n')
        .map((l) => `#   ${l}`),
      r.yaml.trimEnd(),
    ].join('\n') + '\n'
  );
}
