// The data path, route by route: authenticate → read and inspect → decide → forward → relay
// (mask) → record. Each stage answers (and records) the request itself when it stops it.
import { allowedModelGlobs } from '@scopekeeper/core';
import type { RequestContext } from '../context.ts';
import { parseServicePath, upstreamTarget } from '../http/service-path.ts';
import { serveMcp } from '../mcp/route.ts';
import { NO_ENDPOINT_TOKENS } from '../upstream/endpoint-tokens.ts';
import { authenticate } from './authenticate.ts';
import { inspectServiceBody, readAndInspect } from './inspect.ts';
import { decideRequest, enforce, snapshotOrRefuse } from './decide.ts';
import { anthropicTarget, forward } from './forward.ts';
import { relay } from './relay.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

/** POST /v1/messages and /v1/messages/count_tokens. */
export async function messages(dp: DataPath, ctx: RequestContext): Promise<void> {
  // The path the router matched: the two routes differ only in it (a target with '#' never gets here).
  ctx.route = (ctx.req.url ?? '').split('?')[0]!.endsWith('/count_tokens') ? 'count_tokens' : 'messages';
  if (!(await authenticate(dp, ctx))) return;
  if (!(await readAndInspect(dp, ctx))) return;
  const snap = snapshotOrRefuse(dp, ctx);
  if (!snap) return;
  if (!(await enforce(dp, ctx, decideRequest(dp, ctx, snap, { route: ctx.route, facts: ctx.facts! })))) return;
  ctx.target = anthropicTarget(dp, ctx);
  await forwardAndRelay(dp, ctx);
}

/** GET /v1/models: the upstream's list, filtered to the models the caller's scopes allow. */
export async function models(dp: DataPath, ctx: RequestContext): Promise<void> {
  ctx.route = 'models';
  if (!(await authenticate(dp, ctx))) return;
  const snap = snapshotOrRefuse(dp, ctx);
  if (!snap) return;
  const globs = allowedModelGlobs(snap, ctx.identity!, dp.now(), dp.opts.pinnedScope);
  const decision = decideRequest(dp, ctx, snap, { route: 'models' });
  if (globs.length === 0) {
    if (!(await enforce(dp, ctx, decision))) return;
  } else {
    ctx.decision = decision;
    ctx.modelFilter = globs;
  }
  ctx.target = anthropicTarget(dp, ctx);
  await forwardAndRelay(dp, ctx);
}

/** /services/<endpoint>/<path>: an internal service the scope lists. */
export async function service(dp: DataPath, ctx: RequestContext): Promise<void> {
  ctx.route = 'service';
  const parsed = parseServicePath(ctx.req.url ?? '');
  if ('problem' in parsed) return refuse(dp, ctx, 'pathRejected', { method: ctx.req.method ?? '', problem: parsed.problem });
  if (!(await authenticate(dp, ctx))) return;
  const snap = snapshotOrRefuse(dp, ctx);
  if (!snap) return;
  const decision = decideRequest(dp, ctx, snap, {
    route: 'service',
    endpoint: parsed.endpoint,
    method: ctx.req.method ?? '',
    path: parsed.path,
  });
  if (decision.effect === 'allow' && decision.endpoint?.protocol === 'mcp') {
    // JSON-RPC over streamable HTTP: each message is decided, forwarded and recorded on its own.
    ctx.decision = decision;
    const authorization = endpointAuthorization(dp, ctx, parsed.endpoint, decision.endpoint);
    if (authorization === null) return;
    return serveMcp(ctx, parsed, decision, snap, authorization ? { ...dp.mcp, upstreamHeaders: () => ({ authorization }) } : dp.mcp);
  }
  if (!(await enforce(dp, ctx, decision))) return;
  if (!(await inspectServiceBody(dp, ctx))) return;
  const authorization = endpointAuthorization(dp, ctx, parsed.endpoint, decision.endpoint!);
  if (authorization === null) return;
  ctx.target = {
    ...upstreamTarget(decision.endpoint!.url, parsed),
    anthropic: false,
    ...(authorization ? { authorization } : {}),
  };
  ctx.maskFields = [...(decision.data?.maskFields(parsed.endpoint) ?? decision.endpoint!.maskFields ?? [])];
  await forwardAndRelay(dp, ctx);
}

/**
 * The `Authorization` an endpoint with `auth.serviceAccountToken` gets (the sidecar's projected
 * token for its audience); undefined when it needs none; null after refusing the request because
 * this sidecar has no such token (fail closed: nothing is forwarded).
 */
function endpointAuthorization(
  dp: DataPath,
  ctx: RequestContext,
  name: string,
  endpoint: { auth?: { serviceAccountToken?: { audience: string } } },
): string | undefined | null {
  const audience = endpoint.auth?.serviceAccountToken?.audience;
  if (!audience) return undefined;
  try {
    return (dp.opts.endpointTokens ?? NO_ENDPOINT_TOKENS).authorization(name, audience);
  } catch (e) {
    refuse(dp, ctx, 'endpointCredentialUnavailable', { message: (e as Error).message });
    return null;
  }
}

/** HEAD /: the SDK's start-up probe. */
export function probe(_dp: DataPath, ctx: RequestContext): Promise<void> {
  ctx.route = 'probe';
  ctx.res.setHeader('x-scopekeeper-request-id', ctx.requestId);
  ctx.res.writeHead(200).end();
  return Promise.resolve();
}

async function forwardAndRelay(dp: DataPath, ctx: RequestContext): Promise<void> {
  const upstream = await forward(dp, ctx);
  if (upstream) await relay(dp, ctx, upstream);
}
