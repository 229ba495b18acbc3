// `scopekeeper reviews list|due|approve|revoke|export`: the reviewer's and the auditor's view.
// Approve and revoke write through the API server as the person running the command, so the
// validating webhook sees the real user.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import {
  dueRows,
  parseDuration,
  reviewRows,
  toCsv,
  usageByReview,
  REVIEW_COLUMNS,
  DEFAULT_GRANT,
  DEFAULT_PERIOD,
  type AccessReview,
  type AuditEvent,
  type ModelScope,
} from '@scopekeeper/core';
import type { KubeConfig } from '@scopekeeper/kube';
import { UsageError } from '@scopekeeper/sidecar';
import {
  formatRecommendation,
  formatUsage,
  parseMinUses,
  readVerifiedAudit,
  recommendFlags,
  scopeFromFile,
  usageFor,
  type UsageFlags,
} from './usage.ts';

interface Common {
  namespace?: string;
  allNamespaces?: boolean;
  kubeconfig?: string;
  context?: string;
}

const common = (c: Command) =>
  c
    .option('-n, --namespace <ns>', "one namespace (default: the kubeconfig context's, or all with -A)")
    .option('-A, --all-namespaces', 'every namespace you can read', false)
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file').env('KUBECONFIG'))
    .option('--context <name>', 'kubeconfig context');

// The Kubernetes client is loaded only by the commands that talk to a cluster.
const kubeLib = () => import('@scopekeeper/kube');

async function kube(o: Common): Promise<{ kc: KubeConfig; namespace?: string }> {
  const { loadKubeConfig } = await kubeLib();
  const kc = loadKubeConfig({ kubeconfig: o.kubeconfig?.split(':')[0], context: o.context });
  if (o.allNamespaces) return { kc };
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return { kc, namespace: o.namespace ?? ctx?.namespace ?? 'default' };
}

async function load(o: Common): Promise<{ kc: KubeConfig; namespace?: string; scopes: ModelScope[]; reviews: AccessReview[] }> {
  const { kc, namespace } = await kube(o);
  const { modelScopes, accessReviews } = await kubeLib();
  const [scopes, reviews] = await Promise.all([modelScopes(kc).list(namespace), accessReviews(kc).list(namespace)]);
  return { kc, namespace, scopes: scopes.items, reviews: reviews.items };
}

async function readAudit(files: string[]): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (const f of files) {
    const lines = createInterface({ input: createReadStream(f), crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as AuditEvent);
      } catch {
        throw new UsageError(`${f}:${n} is not an audit record (JSON line); pass the sidecar's audit log with --audit`);
      }
    }
  }
  return out;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

async function askJustification(given: string | undefined, what: string): Promise<string> {
  if (given?.trim()) return given.trim();
  if (!process.stdin.isTTY)
    throw new UsageError(`${what} needs a justification: pass --justification "why" (the reason is part of the audit evidence)`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`Justification for ${what}: `, resolve));
    if (!answer.trim()) throw new UsageError('a justification is required');
    return answer.trim();
  } finally {
    rl.close();
  }
}

function apiMessage(e: unknown): string {
  const body = (e as { body?: unknown }).body;
  const text = typeof body === 'string' ? body : body ? JSON.stringify(body) : '';
  try {
    return (JSON.parse(text) as { message?: string }).message ?? (e as Error).message;
  } catch {
    return (e as Error).message;
  }
}

/** Before a Periodic approval: what the ending period used, and what could be dropped (stderr, so stdout stays the result). */
async function showUsageBeforeApproval(
  review: AccessReview,
  scope: ModelScope | undefined,
  reviews: AccessReview[],
  audit: string[],
): Promise<void> {
  if (!audit.length || review.spec.type !== 'Periodic' || !scope) return;
  // The period that is ending: since the newest approved Periodic review of the scope before this one.
  const previous = reviews
    .filter(
      (r) =>
        r.spec.scopeRef.name === scope.metadata.name &&
        r.spec.type === 'Periodic' &&
        r.spec.decision === 'Approved' &&
        r.metadata.name !== review.metadata.name &&
        r.spec.reviewedAt,
    )
    .map((r) => r.spec.reviewedAt!)
    .sort()
    .pop();
  const input = await readVerifiedAudit(audit, false);
  const flags: UsageFlags = { audit, since: previous, allowBroken: false, minUses: '1' };
  const u = usageFor(scope, input, flags);
  process.stderr.write(`Usage of the period that is ending:\n${formatUsage(u)}\nRecommendation:\n${formatRecommendation(scope, u, 1)}\n`);
}

async function decideReview(
  name: string,
  o: Common & { justification?: string; evidence: string[]; for?: string; audit?: string[] },
  decision: 'Approved' | 'Revoked',
): Promise<void> {
  const { kc, namespace } = await kube(o);
  if (!namespace) throw new UsageError('name the namespace with -n');
  const { accessReviews, modelScopes, whoAmI } = await kubeLib();
  const client = accessReviews(kc);
  const review = await client.get(namespace, name);
  if (!review)
    throw new UsageError(`AccessReview ${namespace}/${name} does not exist; list them with: scopekeeper reviews list -n ${namespace}`);
  const scope = await modelScopes(kc).get(namespace, review.spec.scopeRef.name);
  if (decision === 'Approved' && o.audit?.length)
    await showUsageBeforeApproval(review, scope, (await client.list(namespace)).items, o.audit);
  const justification = await askJustification(
    o.justification,
    `${decision === 'Approved' ? 'approving' : 'revoking'} ${namespace}/${name}`,
  );
  const me = await whoAmI(kc);
  const now = new Date();
  const spec: Record<string, unknown> = {
    decision,
    reviewer: me.username,
    reviewedAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    justification,
  };
  if (o.evidence.length) spec.evidence = [...(review.spec.evidence ?? []), ...o.evidence];
  if (decision === 'Approved') {
    const fallback =
      review.spec.type === 'JustInTime'
        ? (scope?.spec.approval?.grantDuration ?? DEFAULT_GRANT)
        : (scope?.spec.review?.period ?? DEFAULT_PERIOD);
    const ms = parseDuration(o.for ?? fallback);
    spec.expiresAt = new Date(now.getTime() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  try {
    const updated = await client.patch(namespace, name, { spec });
    process.stdout.write(
      `${namespace}/${name}: ${updated.spec.decision} by ${updated.spec.reviewer}${updated.spec.expiresAt && decision === 'Approved' ? ` until ${updated.spec.expiresAt}` : ''}\n`,
    );
  } catch (e) {
    throw new Error(`the API server refused the change: ${apiMessage(e)}`);
  }
}

export function reviewsCommand(): Command {
  const reviews = new Command('reviews').description('List, approve, revoke and export AccessReviews.');
  common(reviews.command('list').description('Every review with its state.'))
    .option('--pending', 'only reviews waiting for a decision', false)
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (o: Common & { pending: boolean; output: string }) => {
      const { scopes, reviews: items } = await load(o);
      let rows = reviewRows(items, scopes, Date.now());
      if (o.pending) rows = rows.filter((r) => r.decision === 'Pending');
      if (o.output === 'json') process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else
        process.stdout.write(
          table(rows as unknown as Record<string, unknown>[], [
            'namespace',
            'review',
            'scope',
            'type',
            'decision',
            'state',
            'reviewer',
            'expiresAt',
            'requestSubject',
          ]),
        );
    });
  common(reviews.command('due').description('Scopes whose review expires within the window, or that have no valid review.'))
    .option('--within <duration>', 'the window, e.g. 14d', '14d')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (o: Common & { within: string; output: string }) => {
      const { scopes, reviews: items } = await load(o);
      const rows = dueRows(items, scopes, Date.now(), parseDuration(o.within));
      if (o.output === 'json') process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else
        process.stdout.write(
          table(rows as unknown as Record<string, unknown>[], [
            'namespace',
            'scope',
            'review',
            'reviewers',
            'expiresAt',
            'daysLeft',
            'state',
          ]),
        );
    });
  for (const [verb, decision] of [
    ['approve', 'Approved'],
    ['revoke', 'Revoked'],
  ] as const) {
    common(
      reviews
        .command(verb)
        .description(`${verb === 'approve' ? 'Approve' : 'Revoke'} a review as yourself (the API server checks you may).`),
    )
      .argument('<review>', 'the AccessReview name')
      .option('--justification <text>', 'why (asked for when omitted on a terminal)')
      .addOption(
        new Option('--evidence <url>', 'a link backing the decision (repeatable)')
          .argParser((v: string, p: string[] = []) => [...p, v])
          .default([]),
      )
      .option(
        '--for <duration>',
        verb === 'approve'
          ? "how long the approval lasts (default: the scope's review period, or grantDuration for held requests)"
          : 'unused',
      )
      .addOption(
        new Option('--audit <file>', 'approve: sidecar audit log(s) whose usage of the ending period is shown first (repeatable)')
          .argParser((v: string, p: string[] = []) => [...p, v])
          .default([]),
      )
      .action((name: string, o: Common & { justification?: string; evidence: string[]; for?: string; audit: string[] }) =>
        decideReview(name, o, decision),
      );
  }
  common(reviews.command('export').description('Every review and decision, for auditors; with --audit, the access used under each.'))
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .option('--since <date>', 'only reviews decided or valid since this date (RFC 3339 or YYYY-MM-DD)')
    .addOption(
      new Option('--audit <file>', 'a sidecar audit log (repeatable)').argParser((v: string, p: string[] = []) => [...p, v]).default([]),
    )
    .action(async (o: Common & { format: string; since?: string; audit: string[] }) => {
      const since = o.since ? Date.parse(o.since) : undefined;
      if (since !== undefined && Number.isNaN(since))
        throw new UsageError(`--since "${o.since}" is not a date; write 2026-01-01 or an RFC 3339 time`);
      const { scopes, reviews: items } = await load(o);
      const records = await readAudit(o.audit);
      const rows = reviewRows(items, scopes, Date.now(), {
        usage: usageByReview(records),
        since,
        records: o.audit.length ? records : undefined,
      });
      process.stdout.write(o.format === 'json' ? JSON.stringify(rows, null, 2) + '\n' : toCsv(rows, REVIEW_COLUMNS));
    });
  for (const verb of ['usage', 'recommend'] as const) {
    recommendFlags(
      common(
        reviews
          .command(verb)
          .description(
            verb === 'usage'
              ? "What a scope's grants were used for, from audit logs whose chain verifies; unused grants listed."
              : 'A tightened ModelScope (YAML for kubectl apply) that keeps what was used, with a diff and why each grant goes.',
          )
          .argument('<scope>', 'the ModelScope name'),
      ),
    ).action(async (name: string, o: Common & UsageFlags & { scopeFile?: string; output: string }) => {
      const scope = o.scopeFile ? await scopeFromFile(o.scopeFile, name, o.namespace) : await clusterScope(o, name);
      const input = await readVerifiedAudit(o.audit, o.allowBroken);
      for (const w of input.warnings) process.stderr.write(`${w}\n`);
      const u = usageFor(scope, input, o);
      if (verb === 'usage')
        process.stdout.write(o.output === 'json' ? JSON.stringify({ ...u, warnings: input.warnings }, null, 2) + '\n' : formatUsage(u));
      else process.stdout.write(formatRecommendation(scope, u, parseMinUses(o.minUses)));
    });
  }
  return reviews;
}

async function clusterScope(o: Common, name: string): Promise<ModelScope> {
  const { kc, namespace } = await kube(o);
  if (!namespace) throw new UsageError('name the namespace with -n (or give the scope with --scope-file)');
  const { modelScopes } = await kubeLib();
  const scope = await modelScopes(kc).get(namespace, name);
  if (!scope) throw new UsageError(`ModelScope ${namespace}/${name} does not exist; list them with: kubectl get ms -n ${namespace}`);
  return scope;
}
