// Everything one request carries from its first byte to its audit record. The stages read and
// write it; nothing is stored on `req` itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Decision, Identity, Masking, MessagesRequestFacts } from '@scopekeeper/core';

export type Route = 'messages' | 'count_tokens' | 'models' | 'service' | 'probe' | 'unknown';

/** Where an allowed request goes: an origin and the path (with query) sent to it. */
export interface UpstreamTarget {
  origin: string;
  path: string;
  /** Messages API upstream: carries the sidecar's own key. */
  anthropic: boolean;
  /** An internal service's `Authorization` (endpoints[].auth: the sidecar's projected token). */
  authorization?: string;
}

export class RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId = `req_sk_${randomBytes(12).toString('base64url')}`;
  readonly startedAt: number;
  /** hrtime at start, for overhead = total - upstream. */
  readonly t0 = process.hrtime.bigint();
  route: Route = 'unknown';
  identity?: Identity;
  decision?: Decision;
  facts?: MessagesRequestFacts;
  model?: string;
  tools?: string[];
  /** The body as read for inspection; forwarded byte for byte. */
  body?: Buffer;
  bodySha256?: string;
  masking?: Masking;
  /** JSONPath fields to mask (internal services). */
  maskFields?: string[];
  /** GET /v1/models: the answer is filtered to these model globs. */
  modelFilter?: string[];
  target?: UpstreamTarget;
  /** The upstream key, read once before forwarding (never logged or audited). */
  upstreamKey?: string;
  upstreamStart?: bigint;
  upstreamEnd?: bigint;
  /** `<namespace>/<accessreview>` of a held request. */
  approval?: string;
  /** The audit record has been written (or is being written). */
  done = false;

  constructor(req: IncomingMessage, res: ServerResponse, now: number) {
    this.req = req;
    this.res = res;
    this.startedAt = now;
  }

  /** Reason codes of the policy decision, for the audit record and metrics. */
  get reasonCodes(): string[] {
    return (this.decision?.reasons ?? []).map((r) => r.code);
  }
}
