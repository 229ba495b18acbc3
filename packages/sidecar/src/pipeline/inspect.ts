// Stage 2, read and inspect: the Messages body into one Buffer (bounded), its sha256 for the
// audit, and the facts policy decides on. The body is never re-serialised.
import { hash } from 'node:crypto';
import { inspectMessagesRequest, RequestInspectionError } from '@scopekeeper/core';
import type { RequestContext } from '../context.ts';
import { readBody, BodyTooLargeError, lingerOnClose } from '../http/body.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

/** True when the body was read and is a Messages request; otherwise the request has been answered. */
export async function readAndInspect(dp: DataPath, ctx: RequestContext): Promise<boolean> {
  let body: Buffer;
  try {
    body = await readBody(ctx.req, dp.opts.maxBodyBytes);
  } catch (e) {
    if (e instanceof BodyTooLargeError) {
      lingerOnClose(ctx.req.socket);
      refuse(dp, ctx, 'requestTooLarge', { size: e.message, limit: dp.opts.maxBodyBytes });
    } else refuse(dp, ctx, 'bodyUnreadable', { why: (e as Error).message });
    return false;
  }
  ctx.body = body;
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
