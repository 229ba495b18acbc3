// Answers a request with one of the catalogue's refusals (http/refusals.ts) and records it.
import type { RequestContext } from '../context.ts';
import { sendError } from '../http/errors.ts';
import { REFUSALS, type Refusal, type RefusalArgs, type RefusalName } from '../http/refusals.ts';
import { record } from './record.ts';
import type { DataPath } from './env.ts';

export function refuse<K extends RefusalName>(dp: DataPath, ctx: RequestContext, name: K, args: RefusalArgs<K>): void {
  const r = REFUSALS[name] as Refusal<RefusalArgs<K>>;
  const message = r.message(args);
  const status = sendError(ctx.res, { type: r.type, message, status: r.status }, ctx.requestId, {
    'x-scopekeeper-decision': r.decision,
    ...r.headers?.(args),
  });
  record(dp, ctx, { status, error: r.auditError ? message : undefined }, r.decision, r.reasons?.(args) ?? [r.code]);
}
