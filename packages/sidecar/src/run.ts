// `scopekeeper sidecar`: flags to a running sidecar, with SIGTERM handled.
import { readFileSync } from 'node:fs';
import { splitHostPort } from '@scopekeeper/core';
import { Sidecar } from './sidecar.ts';
import { FilePolicySource } from './policy/file-source.ts';
import type { PolicySource } from './policy/source.ts';
import { UpstreamKey } from './upstream/key.ts';
import { EndpointTokens, parseEndpointTokenFlags } from './upstream/endpoint-tokens.ts';
import { SidecarMetrics } from './metrics.ts';
import { createLogger, type Logger } from './log.ts';
import { TokenVerifier } from './identity/verifier.ts';
import { parseIssuerFlag } from './identity/flags.ts';
import type { SamlVerifier } from './identity/saml-verifier.ts';
import { AuditLog } from './audit/log.ts';
import { parseAuditFlag } from './audit/flag.ts';
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BUFFERED_BYTES } from './http/body-budget.ts';
export { DEFAULT_MAX_CONNECTIONS } from './http/connections.ts';

export { createLogger };

export interface SidecarFlags {
  listen: string;
  admin: string;
  upstream: string;
  upstreamKeyFile?: string;
  /** `--endpoint-token <audience>=<file>` (repeatable): tokens for endpoints[].auth. */
  endpointToken?: string[];
  policy: string;
  namespace: string;
  issuer: string[];
  /** --service-account-issuer: the only issuer whose tokens can be ServiceAccounts (default: the first --issuer). */
  serviceAccountIssuer?: string;
  issuerCa?: string;
  audience: string;
  audit: string[];
  auditRequired: boolean;
  pod?: string;
  scope?: string;
  maxBodyBytes: number;
  /** Bytes of bodies held whole at once (default 24 MiB); at least maxBodyBytes. */
  maxBufferedBytes?: number;
  upstreamTimeout: number;
  policyMaxStale: number;
  groupsClaim: string;
  maxTokenLifetime: number;
  /** SAML IdP metadata files or URLs (repeatable); none: SAML assertions are refused. */
  samlIdpMetadata?: string[];
  /** The sidecar's SAML SP entityID, required in AudienceRestriction (default `scopekeeper`). */
  samlAudience?: string;
  /** The SAML attribute holding the caller's groups (default `groups`). */
  samlGroupsAttribute?: string;
  /** Seconds a client has to send its request headers (default 30). */
  headersTimeout?: number;
  /** Seconds a client has to send a body the sidecar reads, after its headers (default 30). */
  bodyTimeout?: number;
  /** Overload: requests handled at once, waiting at most, longest wait (s); past them 529. */
  maxConcurrent?: number;
  maxQueued?: number;
  maxQueueWait?: number;
  /** Connections kept open on the data port (default 1024); past it the longest idle one is closed, or the new one answered 529 (http/connections.ts). */
  maxConnections?: number;
  /** Keep-alive connections per upstream origin (default 256). */
  upstreamConnections?: number;
}

export class UsageError extends Error {}

/** Most audit records queued per sink in the sidecar (AuditLog's own default, 100,000, is sized for no heap bound). */
export const SIDECAR_AUDIT_QUEUE = 20_000;
/**
 * Most characters of audit lines queued per sink in the sidecar. A record is ~0.7 KB usually and
 * up to ~20 KB when the caller fills its capped fields (128 tool names of 128 characters): 20,000
 * of those behind a failing sink took the process past its heap bound (V8 aborted it).
 */
export const SIDECAR_AUDIT_QUEUE_CHARS = 16 * 1024 * 1024;

export function parseHostPort(value: string, flag: string): { host: string; port: number } {
  const hp = splitHostPort(value);
  if (!hp) throw new UsageError(`${flag} "${value}" is not HOST:PORT; for example ${flag} 127.0.0.1:15180`);
  return hp;
}

/** Builds the policy source; the Kubernetes one is loaded lazily so file mode needs no cluster libraries. */
export async function policySource(flags: SidecarFlags, log: Logger, metrics: SidecarMetrics): Promise<PolicySource> {
  void metrics;
  if (flags.policy === 'kubernetes') {
    // Loaded lazily: file mode needs no cluster libraries.
    const { KubernetesPolicySource } = await import('./policy/kube-source.ts');
    return new KubernetesPolicySource({ namespace: flags.namespace, maxStaleMs: flags.policyMaxStale * 1000, log });
  }
  return new FilePolicySource({
    dir: flags.policy,
    namespace: flags.namespace,
    onError: (message) => log.warn({ policy: flags.policy }, message),
  });
}

export async function runSidecar(
  flags: SidecarFlags,
  log: Logger = createLogger(),
): Promise<{ sidecar: Sidecar; urls: { data: string; admin: string } }> {
  const listen = parseHostPort(flags.listen, '--listen');
  const admin = parseHostPort(flags.admin, '--admin');
  if (flags.maxBufferedBytes !== undefined && flags.maxBufferedBytes < flags.maxBodyBytes)
    throw new UsageError(
      `--max-buffered-bytes ${flags.maxBufferedBytes} is less than --max-body-bytes ${flags.maxBodyBytes}: a body of the largest size could never be read; raise --max-buffered-bytes (and the sidecar's memory limit with it) or lower --max-body-bytes`,
    );
  const gate = (flags.maxConcurrent ?? 256) + (flags.maxQueued ?? 512);
  if (flags.maxConnections !== undefined && flags.maxConnections < gate)
    throw new UsageError(
      `--max-connections ${flags.maxConnections} is less than --max-concurrent + --max-queued (${gate}): requests the queue would answer with 529 would find their connection closed instead; raise --max-connections or lower the other two`,
    );
  if (flags.issuer.length === 0)
    throw new UsageError(
      "no --issuer given: name at least one OIDC issuer whose tokens the sidecar accepts (e.g. the cluster's service-account issuer)",
    );
  const ca = flags.issuerCa ? readFileSync(flags.issuerCa, 'utf8') : undefined;
  const issuers = flags.issuer.map((i) => ({ ...parseIssuerFlag(i), ...(ca ? { ca } : {}), groupsClaim: flags.groupsClaim }));
  const metrics = new SidecarMetrics();
  const upstreamKey = new UpstreamKey(flags.upstreamKeyFile);
  upstreamKey.get(); // refuse to start without a readable key
  let endpointTokens: EndpointTokens;
  try {
    endpointTokens = new EndpointTokens(parseEndpointTokenFlags(flags.endpointToken ?? []));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const sinks = flags.audit.map(parseAuditFlag);
  // A sink that is down fails every batch, and with a full queue every record: at most one line
  // per sink every 10 s, saying how many failures it stands for (the metric counts each one).
  const lastAuditError = new Map<string, { at: number; since: number }>();
  const auditErrors = (sink: string, err: string) => {
    const now = Date.now();
    const last = lastAuditError.get(sink);
    if (last && now - last.at < 10_000) return void last.since++;
    log.error({ sink, err, ...(last?.since ? { moreFailures: last.since } : {}) }, 'audit sink write failed');
    lastAuditError.set(sink, { at: now, since: 0 });
  };
  const audit = new AuditLog({
    sinks,
    required: flags.auditRequired,
    // Queued records must fit the sidecar's bounded heap: past this a sink counts as failing
    // (with --audit-required: 503 until it catches up) instead of the process running out of
    // memory behind a slow disk or a collector that is down.
    maxQueue: SIDECAR_AUDIT_QUEUE,
    maxQueueChars: SIDECAR_AUDIT_QUEUE_CHARS,
    // A backlog goes out in large writes: a batch costs a turn of the event loop for the write and
    // one for the fdatasync, and under a flood of refusals each turn is long.
    maxBatch: 10_000,
    maxBatchChars: 4 * 1024 * 1024,
    onWritten: (n) => metrics.auditEvents.inc(n),
    onFailure: (sink, err) => {
      metrics.auditFailures.inc({ sink });
      auditErrors(sink, err.message);
    },
  });
  let verifier: TokenVerifier;
  try {
    verifier = new TokenVerifier({
      issuers,
      serviceAccountIssuer: flags.serviceAccountIssuer,
      audience: flags.audience,
      maxLifetimeSeconds: flags.maxTokenLifetime,
      clockSkewSeconds: 30,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const saml = await samlVerifier(flags, log, [...issuers.map((i) => i.issuer), verifier.trust.serviceAccountIssuer]);
  const policy = await policySource(flags, log, metrics);
  await policy.start();
  void verifier.warm().catch((e: Error) => log.warn({ err: e.message }, 'issuer discovery failed; will retry on the first request'));
  const sidecar = new Sidecar(
    {
      listen,
      admin,
      upstream: flags.upstream,
      upstreamKey,
      endpointTokens,
      namespace: flags.namespace,
      pod: flags.pod,
      pinnedScope: flags.scope,
      maxBodyBytes: flags.maxBodyBytes,
      maxBufferedBytes: flags.maxBufferedBytes,
      upstreamTimeoutMs: flags.upstreamTimeout * 1000,
      shutdownGraceMs: 25_000,
      auditRequired: flags.auditRequired,
      headersTimeoutMs: flags.headersTimeout !== undefined ? flags.headersTimeout * 1000 : undefined,
      bodyTimeoutMs: flags.bodyTimeout !== undefined ? flags.bodyTimeout * 1000 : undefined,
      maxConcurrent: flags.maxConcurrent,
      maxQueued: flags.maxQueued,
      maxQueueWaitMs: flags.maxQueueWait !== undefined ? flags.maxQueueWait * 1000 : undefined,
      maxConnections: flags.maxConnections,
      upstreamConnections: flags.upstreamConnections,
    },
    { policy, verifier, saml, audit, log, metrics },
  );
  const urls = await sidecar.start();
  log.info(
    { data: urls.data, admin: urls.admin, policy: flags.policy, namespace: flags.namespace, upstream: flags.upstream },
    'scopekeeper sidecar ready',
  );
  return { sidecar, urls };
}

/**
 * The SAML verifier when --saml-idp-metadata is given. A metadata file that cannot be loaded stops
 * the start (a typo must not go unnoticed); a URL that cannot be fetched yet is retried on use.
 */
export async function samlVerifier(flags: SidecarFlags, log: Logger, oidcIssuers: readonly string[]): Promise<SamlVerifier | undefined> {
  const sources = flags.samlIdpMetadata ?? [];
  if (sources.length === 0) return undefined;
  // Loaded only here: a sidecar without SAML IdPs carries no XML or signature libraries.
  const [{ SamlMetadata }, { SamlVerifier }] = await Promise.all([
    import('./identity/saml-metadata.ts'),
    import('./identity/saml-verifier.ts'),
  ]);
  let metadata: InstanceType<typeof SamlMetadata>;
  try {
    metadata = new SamlMetadata({ sources, oidcIssuers });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  try {
    await metadata.load();
  } catch (e) {
    const failed = metadata.status().filter((s) => s.lastError && !/^[a-z]+:\/\//i.test(s.source));
    if (failed.length > 0) throw new UsageError(failed.map((s) => s.lastError).join('; '));
    log.warn({ err: (e as Error).message }, 'SAML metadata could not be fetched; will retry on the first SAML request');
  }
  log.info({ idps: metadata.entityIds() }, 'SAML identity providers trusted');
  return new SamlVerifier({
    metadata,
    audience: flags.samlAudience ?? 'scopekeeper',
    groupsAttribute: flags.samlGroupsAttribute ?? 'groups',
    maxLifetimeSeconds: flags.maxTokenLifetime,
    clockSkewSeconds: 30,
  });
}
