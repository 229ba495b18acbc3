// Everything one request carries from its first byte to its audit record. The stages read and
// write it; nothing is stored on `req` itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomFillSync } from 'node:crypto';
import type { Decision, Identity, Masking, MessagesRequestFacts } from '@scopekeeper/core';
import type { BodyLease } from './http/body-budget.ts';

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

// Request ids: 12 random bytes each (96 bits, base64url), cut from a pool refilled 256 ids at a
// time: one randomBytes() per request was ~1.5% of the sidecar's CPU under load.
const ID_BYTES = 12;
const pool = Buffer.alloc(ID_BYTES * 256);
let poolAt = pool.length;

/** A new request id: `req_sk_` and 12 random bytes, base64url. */
export function newRequestId(): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const id = pool.toString('base64url', poolAt, poolAt + ID_BYTES);
  poolAt += ID_BYTES;
  return `req_sk_${id}`;
}

export class RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly startedAt: number;
  /** hrtime at start, for overhead = total - upstream. */
  readonly t0 = process.hrtime.bigint();
  route: Route = 'unknown';
  identity?: Identity;
  decision?: Decision;
  facts?: MessagesRequestFacts;
  model?: string;
  tools?: string[];
  /** The body as read for inspection; forwarded byte for byte (holdBody, dropBody). */
  body?: Buffer;
  #bodyLease?: BodyLease;
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

  /** `requestId`: the one its caller was already told (a connection answered before its request was read). */
  constructor(req: IncomingMessage, res: ServerResponse, now: number, requestId = newRequestId()) {
    this.req = req;
    this.res = res;
    this.startedAt = now;
    this.requestId = requestId;
  }

  /** The body read whole: its bytes stay taken from the body budget until dropBody(), at the latest when the response closes. */
  holdBody(body: Buffer, lease: BodyLease): void {
    this.body = body;
    this.#bodyLease = lease;
    this.res.once('close', () => this.dropBody());
  }

  /** Once the body is with the upstream (or the request is over): its memory and budget go. */
  dropBody(): void {
    this.body = undefined;
    this.#bodyLease?.release();
    this.#bodyLease = undefined;
  }

  /** Reason codes of the policy decision, for the audit record and metrics. */
  get reasonCodes(): string[] {
    return (this.decision?.reasons ?? []).map((r) => r.code);
  }
}
