// Stage 4, forward: the allowed request goes to its target with the sidecar's own key (never
// the caller's credentials), the inspected body byte for byte.
import type { Readable } from 'node:stream';
import type { RequestContext, UpstreamTarget } from '../context.ts';
import { askForJson, forwardableHeaders } from '../http/headers.ts';
import { isTimeout, type UpstreamResponse } from '../upstream/forwarder.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

/** The Messages API upstream for this request: --upstream's origin, its path prefix, the caller's path. */
export function anthropicTarget(dp: DataPath, ctx: RequestContext): UpstreamTarget {
  const u = upstreamBase(dp.opts.upstream);
  return { origin: u.origin, path: `${u.prefix}${originForm(ctx.req.url ?? '/')}`, anthropic: true };
}

/** --upstream's origin and path prefix, parsed once (it does not change while the sidecar runs). */
let base: { url: string; origin: string; prefix: string } | undefined;
function upstreamBase(url: string): { origin: string; prefix: string } {
  if (base?.url !== url) {
    const u = new URL(url);
    base = { url, origin: u.origin, prefix: u.pathname.replace(/\/$/, '') };
  }
  return base;
}

/** An absolute-form request target (`POST http://host/path`) is refused before routing (http/target.ts); were one to get here, its host is ignored. */
function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return '/';
  }
}

/** The upstream's response, or undefined after answering (key missing, unreachable, timeout, client gone). */
export async function forward(dp: DataPath, ctx: RequestContext): Promise<UpstreamResponse | undefined> {
  const target = ctx.target!;
  const req = ctx.req;
  const headers = forwardableHeaders(req.headers);
  if (target.anthropic) {
    try {
      headers['x-api-key'] = ctx.upstreamKey = dp.opts.upstreamKey.get();
    } catch (e) {
      dp.log.error({ requestId: ctx.requestId, err: (e as Error).message }, 'upstream key unavailable');
      refuse(dp, ctx, 'upstreamKeyUnavailable', undefined);
      return undefined;
    }
  }
  // The service's credential replaces whatever the caller sent (forwardableHeaders drops that anyway).
  if (target.authorization) headers.authorization = target.authorization;
  if (ctx.route === 'service' && (ctx.masking?.active || ctx.maskFields?.length)) {
    // The answer will be masked: ask for JSON, whole and uncompressed, whatever the caller negotiated.
    askForJson(headers);
  } else if (ctx.masking?.active || ctx.maskFields?.length || ctx.route === 'messages' || ctx.route === 'models') {
    // The sidecar reads these responses (usage, masking): ask for them uncompressed.
    headers['accept-encoding'] = 'identity';
  }
  let body: Buffer | Readable | undefined = ctx.body;
  if (body) headers['content-length'] = String(body.length);
  else if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) {
    body = req;
    if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
  }
  ctx.upstreamStart = process.hrtime.bigint();
  // The caller going away before the upstream answers cancels the upstream request.
  // A body read whole gives its memory and budget back once it is with the upstream, not when the answer ends.
  const onBodySent = ctx.body ? () => ctx.dropBody() : undefined;
  const sent = dp.forwarder.send({ origin: target.origin, path: target.path, method: req.method ?? 'GET', headers, body, onBodySent });
  const gone = () => sent.cancel();
  ctx.res.once('close', gone);
  try {
    return await sent.response;
  } catch (e) {
    failed(dp, ctx, e);
    return undefined;
  } finally {
    ctx.res.off('close', gone);
    ctx.dropBody(); // the upstream answered or failed: the body is of no more use
  }
}

function failed(dp: DataPath, ctx: RequestContext, e: unknown): void {
  if (ctx.res.destroyed || ctx.res.writableEnded) return refuse(dp, ctx, 'clientClosed', { where: 'before the upstream answered' });
  const err = e as NodeJS.ErrnoException;
  dp.log.warn({ requestId: ctx.requestId, code: err.code, err: err.message }, 'upstream request failed');
  const what = ctx.target!.anthropic ? 'the model API' : 'the internal service';
  if (isTimeout(e)) refuse(dp, ctx, 'upstreamTimeout', { what, timeoutMs: dp.opts.upstreamTimeoutMs, reasons: ctx.reasonCodes });
  else refuse(dp, ctx, 'upstreamUnreachable', { what, code: err.code ?? err.message, reasons: ctx.reasonCodes });
}
