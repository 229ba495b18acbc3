import { Command, Option } from 'commander';
import { decide, serviceAccountFromSubject, type Identity, type PolicySnapshot } from '@scopekeeper/core';
import { FilePolicySource, UsageError } from '@scopekeeper/sidecar';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** "system:serviceaccount:ns:name", "serviceaccount:ns/name", "user:alice@x", or a bare user name. */
export function identityFor(as: string, groups: string[], namespace: string): Identity {
  const short = /^(?:sa|serviceaccount):([^/]+)\/(.+)$/i.exec(as);
  const sa = serviceAccountFromSubject(as) ?? (short ? { namespace: short[1]!, name: short[2]! } : undefined);
  if (sa) return { issuer: 'can-i', primary: true, subject: `system:serviceaccount:${sa.namespace}:${sa.name}`, groups, serviceAccount: sa };
  if (/^(?:sa|serviceaccount):[^/]+$/i.test(as)) return identityFor(`serviceaccount:${namespace}/${as.split(':')[1]}`, groups, namespace);
  const user = as.replace(/^user:/i, '');
  if (!user) throw new UsageError('--as needs a subject: system:serviceaccount:<ns>:<name>, serviceaccount:<ns>/<name>, or a user name/email');
  return { issuer: 'can-i', primary: true, subject: user, email: user.includes('@') ? user : undefined, groups };
}

export async function loadSnapshot(policy: string, namespace: string): Promise<PolicySnapshot> {
  const source = new FilePolicySource({ dir: policy, namespace });
  try {
    await source.start();
  } finally {
    await source.stop();
  }
  return source.current()!;
}

export function canICommand(): Command {
  return new Command('can-i')
    .description('Explain whether a subject may call a model (with tools) under the policy, and why. Exit 0 yes, 1 no.')
    .requiredOption('--as <subject>', 'system:serviceaccount:<ns>:<name>, serviceaccount:<ns>/<name>, or a user (sub or email)')
    .requiredOption('--model <model>', 'the model the request names')
    .addOption(new Option('--tool <name>', 'a tool the request offers (repeatable)').argParser(collect).default([]))
    .addOption(new Option('--group <name>', 'a group the subject is in (repeatable)').argParser(collect).default([]))
    .option('--max-tokens <n>', 'max_tokens of the request', (v) => Number(v), 1024)
    .option('--stream', 'the request streams', false)
    .option('--thinking', 'the request enables extended thinking', false)
    .option('-n, --namespace <ns>', 'namespace of the scopes', 'team-a')
    .addOption(new Option('--policy <dir>', 'folder of ModelScope / AccessReview YAML').env('SCOPEKEEPER_POLICY').default('examples'))
    .option('--at <time>', 'decide as of this RFC 3339 time instead of now')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (o: { as: string; model: string; tool: string[]; group: string[]; maxTokens: number; stream: boolean; thinking: boolean; namespace: string; policy: string; at?: string; output: string }) => {
      const now = o.at ? Date.parse(o.at) : Date.now();
      if (Number.isNaN(now)) throw new UsageError(`--at "${o.at}" is not an RFC 3339 time, e.g. 2026-12-01T10:00:00Z`);
      const snapshot = await loadSnapshot(o.policy, o.namespace);
      const id = identityFor(o.as, o.group, o.namespace);
      const d = decide(snapshot, id, { route: 'messages', facts: { model: o.model, maxTokens: o.maxTokens, stream: o.stream, thinking: o.thinking, tools: o.tool, betas: [] } }, now);
      if (o.output === 'json') {
        process.stdout.write(JSON.stringify({ effect: d.effect, scope: d.scope, review: d.review, reasons: d.reasons, message: d.message, approval: d.approval }, null, 2) + '\n');
      } else {
        const answer = d.effect === 'allow' ? 'yes' : d.effect === 'approval-required' ? 'not without approval' : 'no';
        process.stdout.write(`${answer}\n  ${d.message}\n`);
        if (d.scope) process.stdout.write(`  scope:   ${d.namespace}/${d.scope}\n`);
        if (d.review) process.stdout.write(`  review:  ${d.review}\n`);
        for (const r of d.reasons) process.stdout.write(`  reason:  ${r.code} (${r.rule})${r.detail ? `: ${r.detail}` : ''}\n`);
      }
      process.exitCode = d.effect === 'allow' ? 0 : 1;
    });
}
