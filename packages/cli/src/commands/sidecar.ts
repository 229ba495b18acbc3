import { envOption, onShutdown } from './shared.ts';
import { Command } from 'commander';
import {
  runSidecar,
  createLogger,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  type SidecarFlags,
} from '@scopekeeper/sidecar/run';

const collect = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];
/** The sinks when no --audit is given. */
const DEFAULT_AUDIT: readonly string[] = ['stdout'];
/**
 * --audit values replace the default rather than add to it: commander hands the default in as
 * `prev` on the first call, which made `--audit stdout` (what the injected sidecar passes) a
 * duplicate sink and the sidecar refuse to start, and left no way to turn stdout off.
 */
const collectAudit = (v: string, prev: readonly string[] = DEFAULT_AUDIT) => collect(v, prev === DEFAULT_AUDIT ? [] : [...prev]);
const int = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive whole number (got "${v}")`);
  return n;
};
/** Every flag can also come from SCOPEKEEPER_<FLAG> (upper case, dashes as underscores). */
const opt = envOption;

export function sidecarCommand(): Command {
  return new Command('sidecar')
    .description('Run the data-path sidecar: verify callers, enforce ModelScopes, forward with the upstream key, mask, audit.')
    .addOption(opt('--listen <host:port>', 'data path address').default('127.0.0.1:15180'))
    .addOption(opt('--admin <host:port>', 'admin address (/metrics, /healthz, /readyz)').default('127.0.0.1:15181'))
    .addOption(opt('--upstream <url>', 'the Anthropic API base URL').default('https://api.anthropic.com'))
    .addOption(opt('--upstream-key-file <path>', 'file holding the upstream API key (re-read when it changes)'))
    .addOption(
      opt(
        '--endpoint-token <audience=file>',
        'token file sent as Authorization: Bearer to endpoints whose auth.serviceAccountToken has this audience (repeatable; the webhook sets it)',
      )
        .argParser((v: string, prev: string[] = []) => [...prev, v])
        .default([]),
    )
    .addOption(opt('--policy <kubernetes|dir>', 'where ModelScopes and AccessReviews come from').default('kubernetes'))
    .addOption(opt('--namespace <ns>', 'the namespace whose scopes apply').default(process.env.POD_NAMESPACE ?? 'default'))
    .addOption(
      opt('--issuer <issuer[=discovery-url]>', 'accepted OIDC issuer (repeatable or comma-separated)').argParser(collect).default([]),
    )
    .addOption(
      opt(
        '--service-account-issuer <issuer>',
        'the only issuer whose tokens can be Kubernetes service accounts (default: the first --issuer)',
      ),
    )
    .addOption(opt('--issuer-ca <path>', 'PEM CA bundle to trust for issuer discovery and JWKS'))
    .addOption(opt('--audience <aud>', 'required token audience').default('scopekeeper'))
    .addOption(opt('--groups-claim <claim>', "token claim holding the caller's groups").default('groups'))
    .addOption(
      opt('--max-token-lifetime <seconds>', 'refuse tokens that live longer than this')
        .argParser(int('--max-token-lifetime'))
        .default(3600),
    )
    .addOption(
      opt(
        '--saml-idp-metadata <file|url>',
        'trusted SAML IdP metadata (its entityID and signing certificates; re-read on change; repeatable)',
      )
        .argParser(collect)
        .default([]),
    )
    .addOption(
      opt('--saml-audience <entity-id>', "this sidecar's SAML SP entityID, required in AudienceRestriction").default('scopekeeper'),
    )
    .addOption(opt('--saml-groups-attribute <name>', "SAML attribute holding the caller's groups").default('groups'))
    .addOption(
      opt('--audit <sink>', 'audit sink: stdout, file:PATH or an http(s) URL (repeatable)').argParser(collectAudit).default(DEFAULT_AUDIT),
    )
    .addOption(opt('--audit-required', 'refuse requests while the audit cannot be written').default(false))
    .addOption(opt('--pod <name>', 'pod name recorded in audit records').default(process.env.POD_NAME))
    .addOption(opt('--scope <name>', 'pin one ModelScope (the pod annotation scopekeeper.dev/scope)'))
    .addOption(
      opt('--max-body-bytes <n>', 'largest request body accepted').argParser(int('--max-body-bytes')).default(DEFAULT_MAX_BODY_BYTES),
    )
    .addOption(
      opt('--max-buffered-bytes <n>', 'bytes of bodies held whole at once (read to inspect, mask or count); past it: 529 with retry-after')
        .argParser(int('--max-buffered-bytes'))
        .default(DEFAULT_MAX_BUFFERED_BYTES),
    )
    .addOption(opt('--upstream-timeout <seconds>', 'how long to wait for the upstream').argParser(int('--upstream-timeout')).default(600))
    .addOption(
      opt('--max-concurrent <n>', 'requests handled at once (one caller: all but a sixteenth of them); more wait in a queue')
        .argParser(int('--max-concurrent'))
        .default(256),
    )
    .addOption(
      opt(
        '--max-queued <n>',
        'requests that may wait for a slot; past it: 529 overloaded_error with retry-after (a caller with fewer waiting takes the place of the newest of the caller with the most)',
      )
        .argParser(int('--max-queued'))
        .default(512),
    )
    .addOption(
      opt('--max-queue-wait <seconds>', 'longest wait for a slot; then 529 overloaded_error')
        .argParser(int('--max-queue-wait'))
        .default(30),
    )
    .addOption(
      opt(
        '--max-connections <n>',
        'connections kept open on the data port; past it the longest idle one is closed, or the new one answered 529 (up to three times as many)',
      )
        .argParser(int('--max-connections'))
        .default(DEFAULT_MAX_CONNECTIONS),
    )
    .addOption(
      opt('--upstream-connections <n>', 'keep-alive connections per upstream origin').argParser(int('--upstream-connections')).default(256),
    )
    .addOption(
      opt('--policy-max-stale <seconds>', 'kubernetes policy: fail closed after this long without the API')
        .argParser(int('--policy-max-stale'))
        .default(300),
    )
    .action(async (flags: SidecarFlags) => {
      const log = createLogger();
      const { sidecar } = await runSidecar(flags, log);
      onShutdown(log, 'draining: no new connections; finishing in-flight requests', () => sidecar.stop());
    });
}
