// What every stage of the data path may use: the options and the sidecar's collaborators.
import type { SidecarOptions } from '../options.ts';
import type { SidecarMetrics } from '../metrics.ts';
import type { PolicySource } from '../policy/source.ts';
import type { HeldRequests } from '../policy/held.ts';
import type { TokenVerifier } from '../identity/verifier.ts';
import type { SamlVerifier } from '../identity/saml-verifier.ts';
import type { AuditLog } from '../audit/index.ts';
import type { Logger } from '../log.ts';
import type { Forwarder } from '../upstream/forwarder.ts';
import type { McpRouteDeps } from '../mcp/route.ts';
import type { BodyBudget } from '../http/body-budget.ts';

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
