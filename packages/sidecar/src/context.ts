// Per-request state carried from the policy decision to the end of the response, where the
// audit record is written exactly once.
import type { IncomingMessage } from 'node:http';
import type { AuditEvent, Decision, Identity, Masking } from '@scopekeeper/core';

export interface RequestContext {
  requestId: string;
  startedAt: number;
  /** hrtime at start, for overhead = total - upstream. */
  t0: bigint;
  route: 'messages' | 'count_tokens' | 'models' | 'service' | 'probe' | 'unknown';
  identity?: Identity;
  decision?: Decision;
  model?: string;
  tools?: string[];
  body?: Buffer;
  bodySha256?: string;
  masking?: Masking;
  maskFields?: string[];
  /** The upstream key, read once before proxying (never logged or audited). */
  upstreamKey?: string;
  /** The upstream did not answer within --upstream-timeout. */
  upstreamTimedOut?: boolean;
  upstreamStart?: bigint;
  upstreamEnd?: bigint;
  event: Partial<AuditEvent>;
  done: boolean;
}

const KEY = Symbol('scopekeeper.ctx');

export function attach(req: IncomingMessage, ctx: RequestContext): void {
  (req as unknown as Record<symbol, RequestContext>)[KEY] = ctx;
}

export function contextOf(req: IncomingMessage): RequestContext {
  return (req as unknown as Record<symbol, RequestContext>)[KEY]!;
}
