// Answers a request with one of the catalogue's refusals (http/refusals.ts) and records it; or
// gives the text of that answer for a connection answered before its request is read.
import type { RequestContext } from '../context.ts';
import { errorResponseText, sendError } from '../http/errors.ts';
import { REFUSALS, type Refusal, type RefusalArgs, type RefusalName } from '../http/refusals.ts';
import { record } from './record.ts';
import type { DataPath } from './env.ts';

export function refuse<K extends RefusalName>(dp: DataPath, ctx: RequestContext, name: K, args: RefusalArgs<K>): void {
  const r = REFUSALS[name] as Refusal<RefusalArgs<K>>;
  const message = r.message(args);
  const status = sendError(ctx.res, { type: r.type, message, status: r.status }, ctx.requestId, headersOf(r, args));
  recordRefused(dp, ctx, name, args, status);
}

/** The whole HTTP/1.1 response of a refusal, ending with `connection: close`. */
export function refusalText<K extends RefusalName>(name: K, args: RefusalArgs<K>, requestId: string): string {
  const r = REFUSALS[name] as Refusal<RefusalArgs<K>>;
  return errorResponseText({ type: r.type, message: r.message(args), status: r.status }, requestId, headersOf(r, args));
}

/** The audit record and metrics of a refusal, its answer sent (by refuse(), or as refusalText() before the request was read). */
export function recordRefused<K extends RefusalName>(
  dp: DataPath,
  ctx: RequestContext,
  name: K,
  args: RefusalArgs<K>,
  status: number,
): void {
  const r = REFUSALS[name] as Refusal<RefusalArgs<K>>;
  record(dp, ctx, { status, error: r.auditError ? r.message(args) : undefined }, r.decision, r.reasons?.(args) ?? [r.code]);
}

function headersOf<A>(r: Refusal<A>, args: A): Record<string, string> {
  return { 'x-scopekeeper-decision': r.decision, ...r.headers?.(args) };
}
