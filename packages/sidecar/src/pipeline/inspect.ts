// Stage 2, read and inspect: the Messages body into one Buffer (bounded), its sha256 for the
// audit, and the facts policy decides on; a service's form body, for a method override. The body
// is never re-serialised.
import { hash } from 'node:crypto';
import { inspectMessagesRequest, RequestInspectionError } from '@scopekeeper/core';
import type { RequestContext } from '../context.ts';
import { BODY_TIMEOUT_MS, compressedAs, readBody, BodyTimeoutError, BodyTooLargeError, lingerOnClose } from '../http/body.ts';
import { bodyMayOverride, formBodyProblem } from '../http/method-override.ts';
import { BodyBudgetError } from '../http/body-budget.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

/**
 * The body, whole and bounded, its bytes held in the body budget until ctx.dropBody() (after
 * forwarding, or when the response closes); undefined after answering (too large, no room in the
 * budget, too slow, unreadable).
 */
async function readBounded(dp: DataPath, ctx: RequestContext): Promise<Buffer | undefined> {
  const lease = dp.bodies.lease();
  try {
    const body = await readBody(ctx.req, dp.opts.maxBodyBytes, dp.opts.bodyTimeoutMs, lease);
    ctx.holdBody(body, lease);
    return body;
  } catch (e) {
    if (e instanceof BodyBudgetError) refuse(dp, ctx, 'bodiesBusy', { why: e.message });
    else if (e instanceof BodyTooLargeError) {
      lingerOnClose(ctx.req.socket);
      refuse(dp, ctx, 'requestTooLarge', { size: e.message, limit: dp.opts.maxBodyBytes });
    } else if (e instanceof BodyTimeoutError) {
      lingerOnClose(ctx.req.socket);
      refuse(dp, ctx, 'bodyTimeout', { received: e.message, ms: dp.opts.bodyTimeoutMs ?? BODY_TIMEOUT_MS });
    } else refuse(dp, ctx, 'bodyUnreadable', { why: (e as Error).message });
    return undefined;
  }
}

/** True when the body was read and is a Messages request; otherwise the request has been answered. */
export async function readAndInspect(dp: DataPath, ctx: RequestContext): Promise<boolean> {
  const body = await readBounded(dp, ctx);
  if (!body) return false;
  const encoding = compressedAs(ctx.req.headers['content-encoding']);
  if (encoding) {
    refuse(dp, ctx, 'compressedBody', { encoding });
    return false;
  }
  ctx.bodySha256 = hash('sha256', body, 'hex');
  try {
    ctx.facts = inspectMessagesRequest(body, ctx.req.headers['anthropic-beta'], { requireMaxTokens: ctx.route === 'messages' });
  } catch (e) {
    if (!(e instanceof RequestInspectionError)) throw e;
    refuse(dp, ctx, 'invalidRequest', { message: e.message });
    return false;
  }
  ctx.model = ctx.facts.model;
  ctx.tools = ctx.facts.tools;
  return true;
}

/**
 * A POST to a service whose body a server would parse into parameters (a form, multipart, no
 * content type) is read whole and refused when it names `_method` (http/method-override.ts);
 * every other service body streams through unread. True when the request may go on.
 */
export async function inspectServiceBody(dp: DataPath, ctx: RequestContext): Promise<boolean> {
  if (!bodyMayOverride(ctx.req.method, ctx.req.headers['content-type'])) return true;
  const body = await readBounded(dp, ctx);
  if (!body) return false;
  const problem = formBodyProblem(body, ctx.req.headers['content-encoding']);
  if (problem) {
    refuse(dp, ctx, 'methodOverride', { method: ctx.req.method ?? '', problem });
    return false;
  }
  return true;
}
