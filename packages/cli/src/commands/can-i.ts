import { Command, Option } from 'commander';
import { decide, serviceAccountFromSubject, type Identity, type PolicySnapshot } from '@scopekeeper/core';
import { readFile } from 'node:fs/promises';
import { FilePolicySource, SamlMetadata, SamlVerifier, UsageError } from '@scopekeeper/sidecar';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** "system:serviceaccount:ns:name", "serviceaccount:ns/name", "user:alice@x", or a bare user name. */
export function identityFor(as: string, groups: string[], namespace: string): Identity {
  const short = /^(?:sa|serviceaccount):([^/]+)\/(.+)$/i.exec(as);
  const sa = serviceAccountFromSubject(as) ?? (short ? { namespace: short[1]!, name: short[2]! } : undefined);
  if (sa)
    return { issuer: 'can-i', primary: true, subject: `system:serviceaccount:${sa.namespace}:${sa.name}`, groups, serviceAccount: sa };
  if (/^(?:sa|serviceaccount):[^/]+$/i.test(as)) return identityFor(`serviceaccount:${namespace}/${as.split(':')[1]}`, groups, namespace);
  const user = as.replace(/^user:/i, '');
  if (!user)
    throw new UsageError('--as needs a subject: system:serviceaccount:<ns>:<name>, serviceaccount:<ns>/<name>, or a user name/email');
  return { issuer: 'can-i', primary: true, subject: user, email: user.includes('@') ? user : undefined, groups };
}

interface SamlOptions {
  samlAssertion: string;
  samlIdpMetadata: string[];
  samlAudience: string;
  samlGroupsAttribute: string;
}

/**
 * The identity a SAML assertion (a file of base64, or "-" for stdin) proves, verified exactly as
 * the sidecar does (metadata, signature, conditions as of `now`). A refused assertion is an Error
 * carrying the sidecar's 401 message.
 */
export async function samlIdentity(o: SamlOptions, now: number): Promise<Identity> {
  if (o.samlIdpMetadata.length === 0)
    throw new UsageError('--saml-assertion needs --saml-idp-metadata <file|url>: the metadata of the IdP that signed it');
  const text =
    o.samlAssertion === '-'
      ? await readStdin()
      : await readFile(o.samlAssertion, 'utf8').catch(() => {
          throw new UsageError(`--saml-assertion ${o.samlAssertion} cannot be read`);
        });
  let metadata: SamlMetadata;
  try {
    metadata = new SamlMetadata({ sources: o.samlIdpMetadata });
    await metadata.load();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const verifier = new SamlVerifier({ metadata, audience: o.samlAudience, groupsAttribute: o.samlGroupsAttribute, now: () => now });
  return verifier.verify(text.trim());
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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
    .option('--as <subject>', 'system:serviceaccount:<ns>:<name>, serviceaccount:<ns>/<name>, or a user (sub or email)')
    .option('--saml-assertion <file|->', 'decide for the identity this SAML assertion (base64) proves, verified as the sidecar does')
    .addOption(
      new Option('--saml-idp-metadata <file|url>', 'metadata of a trusted SAML IdP (repeatable)')
        .env('SCOPEKEEPER_SAML_IDP_METADATA')
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option('--saml-audience <entity-id>', "the sidecar's SAML SP entityID").env('SCOPEKEEPER_SAML_AUDIENCE').default('scopekeeper'),
    )
    .addOption(
      new Option('--saml-groups-attribute <name>', 'SAML attribute holding the groups')
        .env('SCOPEKEEPER_SAML_GROUPS_ATTRIBUTE')
        .default('groups'),
    )
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
    .action(
      async (
        o: SamlOptions & {
          as?: string;
          model: string;
          tool: string[];
          group: string[];
          maxTokens: number;
          stream: boolean;
          thinking: boolean;
          namespace: string;
          policy: string;
          at?: string;
          output: string;
        },
      ) => {
        const now = o.at ? Date.parse(o.at) : Date.now();
        if (Number.isNaN(now)) throw new UsageError(`--at "${o.at}" is not an RFC 3339 time, e.g. 2026-12-01T10:00:00Z`);
        if (o.as === undefined && o.samlAssertion === undefined)
          throw new UsageError('name the caller: --as <subject>, or --saml-assertion <file> with --saml-idp-metadata');
        const snapshot = await loadSnapshot(o.policy, o.namespace);
        let id: Identity;
        if (o.samlAssertion !== undefined) {
          try {
            id = await samlIdentity(o, now);
          } catch (e) {
            if (e instanceof UsageError) throw e;
            process.stdout.write(`no\n  the SAML assertion is refused (the sidecar answers 401): ${(e as Error).message}\n`);
            process.exitCode = 1;
            return;
          }
          if (o.group.length > 0)
            throw new UsageError('--group cannot be combined with --saml-assertion: the groups are the ones the IdP asserted');
          if (o.output !== 'json')
            process.stdout.write(
              `identity: User ${id.subject}, groups [${id.groups.join(', ')}], issuer ${id.issuer} (SAML, signature verified)\n`,
            );
        } else {
          id = identityFor(o.as!, o.group, o.namespace);
        }
        const d = decide(
          snapshot,
          id,
          {
            route: 'messages',
            facts: { model: o.model, maxTokens: o.maxTokens, stream: o.stream, thinking: o.thinking, tools: o.tool, betas: [] },
          },
          now,
        );
        if (o.output === 'json') {
          process.stdout.write(
            JSON.stringify(
              {
                identity: { issuer: id.issuer, subject: id.subject, groups: id.groups },
                effect: d.effect,
                scope: d.scope,
                review: d.review,
                reasons: d.reasons,
                message: d.message,
                approval: d.approval,
              },
              null,
              2,
            ) + '\n',
          );
        } else {
          const answer = d.effect === 'allow' ? 'yes' : d.effect === 'approval-required' ? 'not without approval' : 'no';
          process.stdout.write(`${answer}\n  ${d.message}\n`);
          if (d.scope) process.stdout.write(`  scope:   ${d.namespace}/${d.scope}\n`);
          if (d.review) process.stdout.write(`  review:  ${d.review}\n`);
          for (const r of d.reasons) process.stdout.write(`  reason:  ${r.code} (${r.rule})${r.detail ? `: ${r.detail}` : ''}\n`);
        }
        process.exitCode = d.effect === 'allow' ? 0 : 1;
      },
    );
}
