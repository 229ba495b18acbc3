// What a Sidecar is configured with (flags) and what it is given (collaborators).
import type { UpstreamKey } from './upstream/key.ts';
import type { EndpointTokens } from './upstream/endpoint-tokens.ts';
import type { SidecarMetrics } from './metrics.ts';
import type { PolicySource } from './policy/source.ts';
import type { TokenVerifier } from './identity/verifier.ts';
import type { SamlVerifier } from './identity/saml-verifier.ts';
import type { AuditLog } from './audit/index.ts';
import type { Logger } from './log.ts';

export interface SidecarOptions {
  listen: { host: string; port: number };
  admin: { host: string; port: number };
  upstream: string;
  upstreamKey: UpstreamKey;
  /** Tokens for endpoints[].auth (--endpoint-token); an endpoint asking for one it lacks is refused (none given: none held). */
  endpointTokens?: EndpointTokens;
  namespace: string;
  pod?: string;
  pinnedScope?: string;
  maxBodyBytes: number;
  /**
   * Bytes of bodies held whole at once, requests and answers together (default 48 MiB, at least
   * maxBodyBytes); a body past it is not read and its request gets 529 (http/body-budget.ts).
   */
  maxBufferedBytes?: number;
  upstreamTimeoutMs: number;
  shutdownGraceMs: number;
  /** --audit-required: refuse requests while the audit cannot be written. */
  auditRequired: boolean;
  /** Time a client has to send the complete request headers (slowloris); default 30 s. */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send a body the sidecar reads whole, once its headers are in; default
   * 30 s. A stalled body would hold a concurrency slot for as long as the connection stays open.
   */
  bodyTimeoutMs?: number;
  /** Requests handled at once (default 256); more wait in a queue. */
  maxConcurrent?: number;
  /** Requests that may wait for a slot (default 512); past it: 529 overloaded_error. */
  maxQueued?: number;
  /** Longest wait in the queue (default 30 s); then 529 overloaded_error. */
  maxQueueWaitMs?: number;
  /** Connections kept open on the data port (default 1024, http/connections.ts). */
  maxConnections?: number;
  /** Connections per upstream origin (default 256). */
  upstreamConnections?: number;
}

export interface SidecarDeps {
  policy: PolicySource;
  verifier: TokenVerifier;
  /** SAML assertions as credentials (--saml-idp-metadata); absent: JWTs only. */
  saml?: SamlVerifier;
  audit: AuditLog;
  log: Logger;
  metrics?: SidecarMetrics;
  now?: () => number;
}
