// Stage 5, relay: the upstream's answer to the caller, masked with the scope's data rules
// (upstream/response.ts: SSE event by event, JSON whole), or the model list filtered to the
// scope; then stage 6, the record.
import { matchAnyName } from '@scopekeeper/core';
import type { RequestContext } from '../context.ts';
import { relayResponse, type RelayResult } from '../upstream/response.ts';
import type { UpstreamResponse } from '../upstream/forwarder.ts';
import { record } from './record.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

export async function relay(dp: DataPath, ctx: RequestContext, upstream: UpstreamResponse): Promise<void> {
  const headers = {
    'x-scopekeeper-decision': ctx.decision?.auditOnly ? 'allow-audit-only' : 'allow',
    'x-scopekeeper-request-id': ctx.requestId,
  };
  const result =
    ctx.modelFilter && upstream.status < 400
      ? await relayModels(dp, ctx, upstream, ctx.modelFilter, headers)
      : await relayResponse(upstream, ctx.res, {
          masking: ctx.masking,
          maskFields: ctx.maskFields,
          messages: ctx.route === 'messages',
          extraHeaders: headers,
        });
  ctx.upstreamEnd = process.hrtime.bigint();
  record(dp, ctx, result, ctx.decision?.effect === 'allow' ? 'allow' : 'deny', ctx.reasonCodes);
}

async function relayModels(
  dp: DataPath,
  ctx: RequestContext,
  upstream: UpstreamResponse,
  globs: string[],
  headers: Record<string, string>,
): Promise<RelayResult> {
  const chunks: Buffer[] = [];
  let list: { data?: { id?: string }[] };
  try {
    for await (const c of upstream.body) chunks.push(c as Buffer);
    list = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    refuse(dp, ctx, 'modelListUnreadable', { reasons: ctx.reasonCodes });
    return { status: 502 };
  }
  const data = (list.data ?? []).filter((m) => typeof m.id === 'string' && matchAnyName(globs, m.id));
  const body = JSON.stringify({ ...list, data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null });
  ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  ctx.res.end(body);
  return { status: 200 };
}
