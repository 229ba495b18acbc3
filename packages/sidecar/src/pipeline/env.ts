// What every stage of the data path may use: the options and the sidecar's collaborators, and
// where they are made from a sidecar's options.
import type { Agent as HttpsAgent } from 'node:https';
import type { Decision } from '@scopekeeper/core';
import type { SidecarDeps, SidecarOptions } from '../options.ts';
import type { SidecarMetrics } from '../metrics.ts';
import type { PolicySource } from '../policy/source.ts';
import { HeldRequests } from '../policy/held.ts';
import type { TokenVerifier } from '../identity/verifier.ts';
import type { SamlVerifier } from '../identity/saml-verifier.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Logger } from '../log.ts';
import { Forwarder } from '../upstream/forwarder.ts';
import { McpSessions, type McpRouteDeps } from '../mcp/route.ts';
import { BodyBudget, DEFAULT_MAX_BUFFERED_BYTES } from '../http/body-budget.ts';
import { http } from '../http/node-http.ts';
import { httpsModule } from '../http/tls.ts';

export interface DataPath {
  opts: SidecarOptions;
  policy: PolicySource;
  /** Where held requests become Pending reviews (bounded per caller). */
  held: HeldRequests;
  verifier: TokenVerifier;
  saml?: SamlVerifier;
  audit: AuditLog;
  log: Logger;
  metrics: SidecarMetrics;
  now: () => number;
  forwarder: Forwarder;
  /** Bytes of bodies held whole at once (--max-buffered-bytes): requests read to inspect, answers read to mask or count. */
  bodies: BodyBudget;
  /** What the MCP route (endpoints with protocol: mcp) uses. */
  mcp: McpRouteDeps;
}

/** The data path of a sidecar: one upstream pool, one budget for bodies held whole, the MCP route's own pools. */
export function buildDataPath(opts: SidecarOptions, deps: SidecarDeps, metrics: SidecarMetrics): DataPath {
  const forwarder = new Forwarder({ connections: opts.upstreamConnections ?? 256, timeoutMs: opts.upstreamTimeoutMs });
  const now = deps.now ?? Date.now;
  const maxBuffered = opts.maxBufferedBytes ?? Math.max(DEFAULT_MAX_BUFFERED_BYTES, opts.maxBodyBytes);
  if (maxBuffered < opts.maxBodyBytes)
    throw new Error(
      `maxBufferedBytes ${maxBuffered} is less than maxBodyBytes ${opts.maxBodyBytes}: a body of the largest size could never be read`,
    );
  const bodies = new BodyBudget(maxBuffered);
  const held = new HeldRequests(deps.policy, { now });
  const mcp: McpRouteDeps = {
    held,
    audit: deps.audit,
    log: deps.log,
    metrics,
    now,
    namespace: opts.namespace,
    pod: opts.pod,
    pinnedScope: opts.pinnedScope,
    agents: mcpAgents(),
    timeoutMs: opts.upstreamTimeoutMs,
    maxBodyBytes: opts.maxBodyBytes,
    bodyTimeoutMs: opts.bodyTimeoutMs,
    auditRequired: opts.auditRequired,
    sessions: new McpSessions(),
    bodies,
    masking: (d: Decision) => (d.data?.masking.active ? d.data.masking : undefined),
  };
  return {
    opts,
    policy: deps.policy,
    held,
    verifier: deps.verifier,
    saml: deps.saml,
    audit: deps.audit,
    log: deps.log,
    metrics,
    now,
    forwarder,
    bodies,
    mcp,
  };
}

/**
 * The MCP route speaks node:http to its endpoints, through keep-alive pools of its own; the https
 * one (and node:https with it) is made on the first https endpoint.
 */
function mcpAgents(): McpRouteDeps['agents'] {
  const pool = { keepAlive: true, maxSockets: 64, scheduling: 'lifo' as const };
  let https: HttpsAgent | undefined;
  return {
    http: new http.Agent(pool),
    get https(): HttpsAgent {
      return (https ??= new (httpsModule().Agent)(pool));
    },
    close() {
      this.http.destroy();
      https?.destroy();
    },
  };
}
