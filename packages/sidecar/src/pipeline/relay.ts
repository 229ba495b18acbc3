// Stage 5, relay: the upstream's answer to the caller, masked with the scope's data rules
// (upstream/response.ts: SSE event by event, JSON whole), or the model list filtered to the
// scope; then stage 6, the record.
import { maskingBlockedMessage, matchAnyName, parseJson } from '@scopekeeper/core';
import type { RequestContext } from '../context.ts';
import { relayResponse, type RelayResult } from '../upstream/response.ts';
import type { UpstreamResponse } from '../upstream/forwarder.ts';
import { BodyBudgetError, type BodyLease } from '../http/body-budget.ts';
import { record } from './record.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

export async function relay(dp: DataPath, ctx: RequestContext, upstream: UpstreamResponse): Promise<void> {
  const headers = {
    'x-scopekeeper-decision': ctx.decision?.auditOnly ? 'allow-audit-only' : 'allow',
    'x-scopekeeper-request-id': ctx.requestId,
  };
  // An answer read whole (to mask it, count its usage, filter a model list) takes from the body
  // budget until the caller has it: handed to a caller that does not read, it stays in memory.
  const lease = dp.bodies.lease();
  let result: RelayResult;
  try {
    result =
      ctx.modelFilter && upstream.status < 400
        ? await relayModels(dp, ctx, upstream, headers, lease)
        : await relayResponse(upstream, ctx.res, {
            masking: ctx.masking,
            maskFields: ctx.maskFields,
            messages: ctx.route === 'messages',
            stream: ctx.route === 'messages' ? ctx.facts?.stream : undefined,
            thinking: ctx.route === 'messages' ? ctx.facts?.thinking : undefined,
            extraHeaders: headers,
            lease,
          });
  } finally {
    // What the kernel has not taken yet stays in memory until the caller reads it.
    if (ctx.res.writableFinished || ctx.res.closed) lease.release();
    else ctx.res.once('close', () => lease.release());
  }
  ctx.upstreamEnd = process.hrtime.bigint();
  record(dp, ctx, result, ctx.decision?.effect === 'allow' ? 'allow' : 'deny', ctx.reasonCodes);
}

async function relayModels(
  dp: DataPath,
  ctx: RequestContext,
  upstream: UpstreamResponse,
  headers: Record<string, string>,
  lease: BodyLease,
): Promise<RelayResult> {
  const chunks: Buffer[] = [];
  let list: { data?: { id?: string }[] };
  try {
    for await (const c of upstream.body) {
      lease.take((c as Buffer).length);
      chunks.push(c as Buffer);
    }
    list = parseJson(Buffer.concat(chunks).toString('utf8')) as typeof list;
  } catch (e) {
    if (e instanceof BodyBudgetError) refuse(dp, ctx, 'answerBusy', { why: e.message, reasons: ctx.reasonCodes });
    else refuse(dp, ctx, 'modelListUnreadable', { reasons: ctx.reasonCodes });
    return { status: ctx.res.statusCode };
  }
  const data = (list.data ?? []).filter((m) => typeof m.id === 'string' && matchAnyName(ctx.modelFilter!, m.id));
  let body: Buffer = Buffer.from(
    JSON.stringify({ ...list, data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }),
  );
  // The list is the upstream's answer like any other: every string, number and key of it (a
  // display_name, a note beside the list) goes through the scope's masking; an id, type or date
  // stays as it is unless a detector matches it. The filter above judged the ids as sent.
  // (a caller whose scopes list models has its decision here without enforce(), which sets ctx.masking)
  const masking = ctx.masking ?? ctx.decision?.data?.masking;
  let masked: Record<string, number> | undefined;
  if (masking?.active) {
    const m = masking.maskServiceJson(body, []);
    if (m.blocked !== undefined) {
      const err = JSON.stringify({ type: 'error', error: { type: 'permission_error', message: maskingBlockedMessage(m.blocked) } });
      ctx.res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(err), ...headers });
      ctx.res.end(err);
      return { status: 403, blocked: m.blocked, masked: { ...m.counts } };
    }
    body = m.body;
    masked = { ...m.counts };
  }
  ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  ctx.res.end(body);
  return masked === undefined ? { status: 200 } : { status: 200, masked };
}
