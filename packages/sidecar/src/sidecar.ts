// The data path: verify the caller, decide with the scope, forward with our own key, relay
// (and mask) the response, write one audit record. Admin endpoints live on a second port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import express, { type Express } from 'express';
import { createProxyMiddleware, type RequestHandler } from 'http-proxy-middleware';
import {
  allowedModelGlobs,
  compileMasking,
  decide,
  denialErrorType,
  inspectMessagesRequest,
  matchAnyName,
  RequestInspectionError,
  describeIdentity,
  type AuditEvent,
  type CompiledScope,
  type Decision,
  type Masking,
  type PolicyRequest,
} from '@scopekeeper/core';
import { attach, contextOf, type RequestContext } from './context.ts';
import { sendError } from './http/errors.ts';
import { readBody, BodyTooLargeError } from './http/body.ts';
import { parseServicePath } from './http/service-path.ts';
import { askForJson, stripRequestHeaders } from './http/headers.ts';
import { relayResponse, type RelayResult } from './upstream/response.ts';
import type { UpstreamKey } from './upstream/key.ts';
import { SidecarMetrics } from './metrics.ts';
import type { PolicySource } from './policy/source.ts';
import { AuthenticationError, IssuerUnavailableError, type TokenVerifier } from './identity/verifier.ts';
import { authenticateCaller } from './identity/saml-credential.ts';
import type { SamlVerifier } from './identity/saml-verifier.ts';
import type { AuditLog } from './audit/index.ts';
import type { Logger } from './log.ts';
import { McpSessions, serveMcp, type McpRouteDeps } from './mcp/route.ts';

export interface SidecarOptions {
  listen: { host: string; port: number };
  admin: { host: string; port: number };
  upstream: string;
  upstreamKey: UpstreamKey;
  namespace: string;
  pod?: string;
  pinnedScope?: string;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  shutdownGraceMs: number;
  /** --audit-required: refuse requests while the audit cannot be written. */
  auditRequired: boolean;
  /** Time a client has to send the complete request headers (slowloris); default 30 s. */
  headersTimeoutMs?: number;
}

export interface SidecarDeps {
  policy: PolicySource;
  verifier: TokenVerifier;
  /** SAML assertions as credentials (--saml-idp-metadata); absent: JWTs only. */
  saml?: SamlVerifier;
  audit: AuditLog;
  log: Logger;
  metrics?: SidecarMetrics;
  now?: () => number;
}

const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'cookie', 'proxy-authorization'];

function newRequestId(): string {
  return `req_sk_${randomBytes(12).toString('base64url')}`;
}

export class Sidecar {
  readonly metrics: SidecarMetrics;
  private readonly app: Express;
  private readonly adminApp: Express;
  private dataServer: Server | undefined;
  private adminServer: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly inFlight = new Set<ServerResponse>();
  private readonly maskingCache = new WeakMap<CompiledScope, Masking>();
  private readonly mcpSessions = new McpSessions();
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  private draining = false;
  private readonly now: () => number;
  private readonly opts: SidecarOptions;
  private readonly deps: SidecarDeps;

  constructor(opts: SidecarOptions, deps: SidecarDeps) {
    this.opts = opts;
    this.deps = deps;
    this.metrics = deps.metrics ?? new SidecarMetrics();
    this.now = deps.now ?? Date.now;
    // Keep-alive pools to the upstream and internal services: a TLS handshake per request
    // would dominate the added latency.
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' }),
    };
    this.app = this.buildDataApp();
    this.adminApp = this.buildAdminApp();
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async start(): Promise<{ data: string; admin: string }> {
    const headersTimeout = this.opts.headersTimeoutMs ?? 30_000;
    // Node checks the headers timeout only every connectionsCheckingInterval (default 30 s): check
    // at least twice per timeout so a slow sender is cut off close to the deadline.
    const connectionsCheckingInterval = Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 2)));
    this.dataServer = createServer({ requestTimeout: 0, headersTimeout, connectionsCheckingInterval, maxHeaderSize: 32 * 1024 }, this.app);
    this.dataServer.keepAliveTimeout = 65_000;
    this.dataServer.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.adminServer = createServer(this.adminApp);
    await Promise.all([listen(this.dataServer, this.opts.listen), listen(this.adminServer, this.opts.admin)]);
    return { data: `http://${addr(this.dataServer)}`, admin: `http://${addr(this.adminServer)}` };
  }

  /** SIGTERM: stop accepting, let in-flight requests (streams too) finish within the grace period, flush the audit. */
  async stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private stopping: Promise<void> | undefined;

  private async drain(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => (this.dataServer ? this.dataServer.close(() => resolve()) : resolve()));
    for (const s of this.sockets) if (!this.busy(s)) s.destroy();
    const deadline = Date.now() + this.opts.shutdownGraceMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.sockets) s.destroy();
    await closed;
    await this.deps.audit.close();
    await this.deps.policy.stop();
    this.agents.http.destroy();
    this.agents.https.destroy();
    await new Promise<void>((resolve) => (this.adminServer ? this.adminServer.close(() => resolve()) : resolve()));
  }

  private busy(s: Socket): boolean {
    for (const res of this.inFlight) if (res.socket === s) return true;
    return false;
  }

  // ---- admin -----------------------------------------------------------------------------

  private buildAdminApp(): Express {
    const app = express();
    app.disable('x-powered-by');
    app.get('/metrics', async (_req, res) => {
      const s = this.deps.policy.status();
      this.metrics.policyReady.set(s.ready && this.deps.policy.current() ? 1 : 0);
      this.metrics.policyScopes.set({ state: 'valid' }, s.scopes);
      this.metrics.policyScopes.set({ state: 'invalid' }, s.invalidScopes);
      res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });
    app.get('/healthz', (_req, res) => void res.json({ ok: true }));
    app.get('/readyz', (_req, res) => {
      const s = this.deps.policy.status();
      const ready = !this.draining && s.ready && this.deps.policy.current() !== undefined && this.deps.audit.healthy !== false;
      const saml = this.deps.saml ? { saml: this.deps.saml.metadata.status() } : {};
      res.status(ready ? 200 : 503).json({ ready, policy: s, audit: { healthy: this.deps.audit.healthy }, draining: this.draining, ...saml });
    });
    return app;
  }

  // ---- data path -------------------------------------------------------------------------

  private buildDataApp(): Express {
    const app = express();
    app.disable('x-powered-by');
    app.disable('etag');
    app.set('query parser', false);
    // Routes match exactly: "/v1/messages/" or "/V1/MESSAGES" must not reach the messages
    // handlers under another route name (and so with another set of policy checks).
    app.set('strict routing', true);
    app.set('case sensitive routing', true);
    const anthropic = this.proxy(this.opts.upstream, true);
    // One proxy per scheme, so each forwards through its keep-alive pool (http-proxy takes one
    // agent per proxy; without one it opens and closes a connection per request).
    const services = { http: this.proxy(undefined, false, 'http:'), https: this.proxy(undefined, false, 'https:') };
    const service = (req: express.Request, res: express.Response, next: express.NextFunction) => {
      const target = (req as unknown as { serviceTarget?: string }).serviceTarget;
      return (target?.startsWith('https:') ? services.https : services.http)(req, res, next);
    };

    app.use((req, res, next) => {
      const ctx: RequestContext = { requestId: newRequestId(), startedAt: this.now(), t0: process.hrtime.bigint(), route: 'unknown', event: {}, done: false };
      attach(req, ctx);
      this.inFlight.add(res);
      res.once('close', () => this.inFlight.delete(res));
      if (this.draining) res.setHeader('connection', 'close');
      next();
    });
    app.head('/', (req, res) => {
      contextOf(req).route = 'probe';
      res.setHeader('x-scopekeeper-request-id', contextOf(req).requestId);
      res.status(200).end();
    });
    const withKey = (req: express.Request, res: express.Response, next: express.NextFunction) => this.withUpstreamKey(req, res, next);
    app.post(['/v1/messages', '/v1/messages/count_tokens'], (req, res, next) => void this.messages(req, res, next).catch(next), withKey, anthropic);
    app.get('/v1/models', (req, res, next) => void this.models(req, res, next).catch(next), withKey, anthropic);
    app.all('/services/{*rest}', (req, res, next) => void this.service(req, res, next).catch(next), service);
    app.use((req, res) => {
      const ctx = contextOf(req);
      sendError(res, 'not_found_error', `scopekeeper serves POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models and /services/<endpoint>/...; ${req.method} ${req.path.slice(0, 200)} is not one of them.`, ctx.requestId);
    });
    // Errors of the router (e.g. a path that is not valid percent-encoding) and of our handlers:
    // Anthropic's shape, no stack trace, and an audit record.
    app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
      const ctx = contextOf(req);
      if ((err as { status?: unknown } | undefined)?.status === 400) {
        return this.finishDenied(req, res, ctx, 'invalid_request_error', 'The request could not be parsed (for example, its path is not valid percent-encoding); send a well-formed request.', 'deny', ['BadRequest'], 400);
      }
      this.deps.log.error({ requestId: ctx.requestId, err: (err as Error | undefined)?.message }, 'request failed unexpectedly');
      this.finishDenied(req, res, ctx, 'api_error', 'scopekeeper failed to handle this request; retry, and check the sidecar logs if it persists.', 'error', ['InternalError'], 500);
    });
    return app;
  }

  /** The upstream key is read before proxying: a missing or empty key file is a 503, never a crash. */
  private withUpstreamKey(req: express.Request, res: express.Response, next: express.NextFunction): void {
    const ctx = contextOf(req);
    try {
      ctx.upstreamKey = this.opts.upstreamKey.get();
    } catch (e) {
      this.deps.log.error({ requestId: ctx.requestId, err: (e as Error).message }, 'upstream key unavailable');
      return this.finishDenied(req, res, ctx, 'api_error', 'scopekeeper cannot read its upstream API key, so the request was not sent; restore the key Secret (see the sidecar logs).', 'error', ['UpstreamKeyUnavailable'], 503);
    }
    next();
  }

  /** Verifies the caller; on failure answers 401 and returns undefined. */
  private async authenticate(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<boolean> {
    try {
      // From the raw headers: node keeps only the first of several Authorization headers, and
      // the verifier refuses duplicates that differ.
      const headers = { authorization: rawHeader(req, 'authorization'), 'x-api-key': rawHeader(req, 'x-api-key') };
      ctx.identity = await authenticateCaller(headers, { jwt: this.deps.verifier, saml: this.deps.saml });
      return true;
    } catch (e) {
      const message = e instanceof AuthenticationError ? e.message : 'The token could not be verified; fetch a fresh token and retry.';
      if (e instanceof IssuerUnavailableError) this.deps.log.warn({ requestId: ctx.requestId, err: e.detail }, 'identity provider unavailable');
      if (!(e instanceof AuthenticationError)) this.deps.log.error({ requestId: ctx.requestId, err: (e as Error).message }, 'token verification failed unexpectedly');
      this.finishDenied(req, res, ctx, 'authentication_error', message, 'deny', [e instanceof AuthenticationError ? `Unauthenticated:${e.code}` : 'Unauthenticated']);
      return false;
    }
  }

  private snapshotOrFail(req: IncomingMessage, res: ServerResponse, ctx: RequestContext) {
    const snap = this.deps.policy.current();
    if (!snap) {
      const st = this.deps.policy.status();
      this.finishDenied(req, res, ctx, 'api_error', `scopekeeper has no current policy (${st.lastError ?? 'not loaded yet'}); requests are refused until it has. Check the sidecar's logs and /readyz.`, 'error', ['PolicyUnavailable'], 503);
    }
    return snap;
  }

  private async messages(req: express.Request, res: express.Response, next: express.NextFunction): Promise<void> {
    const ctx = contextOf(req);
    ctx.route = req.path === '/v1/messages' ? 'messages' : 'count_tokens';
    if (!(await this.authenticate(req, res, ctx))) return;
    let body: Buffer;
    try {
      body = await readBody(req, this.opts.maxBodyBytes);
    } catch (e) {
      if (e instanceof BodyTooLargeError) {
        // Close the connection: the rest of an oversized body is not read (nor drained).
        return this.finishDenied(req, res, ctx, 'request_too_large', `The request body is too large (${e.message}); the sidecar accepts up to ${this.opts.maxBodyBytes} bytes. Shorten the conversation or raise --max-body-bytes.`, 'deny', ['RequestTooLarge'], undefined, { connection: 'close' });
      }
      return this.finishDenied(req, res, ctx, 'invalid_request_error', `The request body could not be read (${(e as Error).message}); send it again.`, 'error', ['BodyUnreadable'], 400);
    }
    ctx.body = body;
    ctx.bodySha256 = createHash('sha256').update(body).digest('hex');
    let facts;
    try {
      facts = inspectMessagesRequest(body, req.headers['anthropic-beta'], { requireMaxTokens: ctx.route === 'messages' });
    } catch (e) {
      if (e instanceof RequestInspectionError) return this.finishDenied(req, res, ctx, 'invalid_request_error', e.message, 'deny', ['InvalidRequest']);
      throw e;
    }
    ctx.model = facts.model;
    ctx.tools = facts.tools;
    const snap = this.snapshotOrFail(req, res, ctx);
    if (!snap) return;
    await this.decideAndForward(req, res, next, ctx, { route: ctx.route as 'messages' | 'count_tokens', facts }, snap);
  }

  private async models(req: express.Request, res: express.Response, next: express.NextFunction): Promise<void> {
    const ctx = contextOf(req);
    ctx.route = 'models';
    if (!(await this.authenticate(req, res, ctx))) return;
    const snap = this.snapshotOrFail(req, res, ctx);
    if (!snap) return;
    const globs = allowedModelGlobs(snap, ctx.identity!, this.now(), this.opts.pinnedScope);
    if (globs.length === 0) {
      return void this.decideAndForward(req, res, next, ctx, { route: 'models' }, snap);
    }
    // Answer from the upstream list, filtered to what the scope allows.
    ctx.decision = decide(snap, ctx.identity!, { route: 'models' }, this.now(), { pinnedScope: this.opts.pinnedScope });
    (req as unknown as { modelFilter: string[] }).modelFilter = globs;
    next();
  }

  private async service(req: express.Request, res: express.Response, next: express.NextFunction): Promise<void> {
    const ctx = contextOf(req);
    ctx.route = 'service';
    const parsed = parseServicePath(req.originalUrl);
    if ('problem' in parsed) {
      return this.finishDenied(req, res, ctx, 'invalid_request_error', `Refused ${req.method} on /services: ${parsed.problem}.`, 'deny', ['PathRejected'], 400);
    }
    if (!(await this.authenticate(req, res, ctx))) return;
    const snap = this.snapshotOrFail(req, res, ctx);
    if (!snap) return;
    const decision = decide(snap, ctx.identity!, { route: 'service', endpoint: parsed.endpoint, method: req.method, path: parsed.path }, this.now(), { pinnedScope: this.opts.pinnedScope });
    if (decision.effect === 'allow' && decision.endpoint?.protocol === 'mcp') {
      ctx.decision = decision;
      return serveMcp(req, res, ctx, parsed, decision, snap, this.mcpDeps());
    }
    if (decision.effect === 'allow' && decision.endpoint) {
      const target = new URL(decision.endpoint.url);
      const base = target.pathname.replace(/\/$/, '');
      (req as unknown as { serviceTarget: string }).serviceTarget = target.origin;
      req.url = `${base}${parsed.rawPath}${parsed.query}`;
      ctx.maskFields = decision.endpoint.maskFields;
    }
    await this.decideAndForward(req, res, next, ctx, undefined, snap, decision);
  }

  private async decideAndForward(
    req: express.Request,
    res: express.Response,
    next: express.NextFunction,
    ctx: RequestContext,
    request: PolicyRequest | undefined,
    snap: NonNullable<ReturnType<PolicySource['current']>>,
    given?: ReturnType<typeof decide>,
  ): Promise<void> {
    const decision = given ?? decide(snap, ctx.identity!, request!, this.now(), { pinnedScope: this.opts.pinnedScope });
    ctx.decision = decision;
    const codes = decision.reasons.map((r) => r.code);
    if (decision.effect === 'deny') {
      return this.finishDenied(req, res, ctx, denialErrorType(decision), decision.message, 'deny', codes);
    }
    if (decision.effect === 'approval-required') {
      let ref = `${decision.approval!.namespace}/${decision.approval!.scope}-jit-${decision.approval!.fingerprint}`;
      let message = decision.message;
      if (this.deps.policy.requestApproval) {
        try {
          ref = await this.deps.policy.requestApproval(decision.approval!, header(req, 'x-scopekeeper-reason'));
          message = `${decision.message.replace(/ the pending JustInTime AccessReview,/, ` the pending JustInTime AccessReview ${ref},`)}`;
        } catch (e) {
          this.deps.log.error({ requestId: ctx.requestId, err: (e as Error).message }, 'could not record the held request');
          message = `${decision.message} (the pending review could not be created: ${(e as Error).message})`;
        }
      }
      ctx.event.approval = ref;
      return this.finishDenied(req, res, ctx, 'permission_error', message, 'approval-required', codes, undefined, { 'x-scopekeeper-approval': ref });
    }
    if (this.opts.auditRequired && this.deps.audit.healthy === false) {
      return this.finishDenied(req, res, ctx, 'api_error', 'The audit log cannot be written and --audit-required is set, so requests are refused; restore the audit sink (see the sidecar logs and /readyz).', 'error', ['AuditUnavailable'], 503);
    }
    // Allowed: strip the caller's credentials here so no later code path can forward them, and
    // every header that would make the next hop act on another method, path or client.
    for (const h of CREDENTIAL_HEADERS) delete req.headers[h];
    stripRequestHeaders(req.headers);
    for (const h of Object.keys(req.headers)) if (h.startsWith('x-scopekeeper-')) delete req.headers[h];
    ctx.masking = this.maskingFor(decision);
    if (ctx.route === 'service' && (ctx.masking?.active || ctx.maskFields?.length)) {
      // The answer will be masked: ask for JSON, whole and uncompressed, whatever the caller negotiated.
      askForJson(req.headers);
    } else if (ctx.masking?.active || ctx.maskFields?.length || ctx.route === 'messages' || ctx.route === 'models') {
      // The sidecar reads these responses (usage, masking): ask for them uncompressed.
      req.headers['accept-encoding'] = 'identity';
    }
    next();
  }

  private maskingFor(decision: Decision): Masking | undefined {
    const data = decision.compiled?.scope.spec.data;
    if (!data || !(data.mask?.length || data.block?.length || data.custom?.length) || !decision.compiled) return undefined;
    let m = this.maskingCache.get(decision.compiled);
    if (!m) {
      m = compileMasking({ mask: data.mask ?? [], block: data.block ?? [], custom: (data.custom ?? []).map((c) => ({ name: c.name, pattern: c.pattern, action: c.action ?? 'mask' })) });
      this.maskingCache.set(decision.compiled, m);
    }
    return m;
  }

  private mcpDeps(): McpRouteDeps {
    return {
      policy: this.deps.policy,
      audit: this.deps.audit,
      log: this.deps.log,
      metrics: this.metrics,
      now: this.now,
      namespace: this.opts.namespace,
      pod: this.opts.pod,
      pinnedScope: this.opts.pinnedScope,
      agents: this.agents,
      timeoutMs: this.opts.upstreamTimeoutMs,
      maxBodyBytes: this.opts.maxBodyBytes,
      auditRequired: this.opts.auditRequired,
      sessions: this.mcpSessions,
      masking: (d) => this.maskingFor(d),
    };
  }

  /** Our own refusal: Anthropic-shaped error, metrics and the audit record. */
  private finishDenied(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
    type: Parameters<typeof sendError>[1],
    message: string,
    decision: AuditEvent['decision'],
    reasons: string[],
    status?: number,
    extra: Record<string, string> = {},
  ): void {
    const code = sendError(res, type, message, ctx.requestId, { 'x-scopekeeper-decision': decision, ...extra }, status);
    void this.complete(req, ctx, { status: code }, decision, reasons);
  }

  private proxy(target: string | undefined, messages: boolean, scheme = new URL(target ?? 'http://127.0.0.1').protocol): RequestHandler {
    return createProxyMiddleware({
      target: target ?? 'http://127.0.0.1',
      router: target ? undefined : (req) => (req as unknown as { serviceTarget: string }).serviceTarget,
      changeOrigin: true,
      selfHandleResponse: true,
      xfwd: false,
      proxyTimeout: this.opts.upstreamTimeoutMs,
      agent: scheme === 'https:' ? this.agents.https : this.agents.http,
      ejectPlugins: true,
      plugins: [
        (proxy) => {
          proxy.on('proxyReq', (proxyReq, req) => {
            const ctx = contextOf(req);
            ctx.upstreamStart = process.hrtime.bigint();
            if (messages) proxyReq.setHeader('x-api-key', ctx.upstreamKey ?? this.opts.upstreamKey.get());
            proxyReq.once('timeout', () => (ctx.upstreamTimedOut = true));
            // The body was read for inspection: forward exactly those bytes.
            if (ctx.body) {
              proxyReq.setHeader('content-length', ctx.body.length);
              proxyReq.removeHeader('transfer-encoding');
              proxyReq.write(ctx.body);
            }
          });
          proxy.on('proxyRes', (proxyRes, req, res) => void this.onUpstreamResponse(proxyRes, req, res as ServerResponse));
          proxy.on('error', (err, req, res) => {
            const ctx = contextOf(req);
            const e = err as NodeJS.ErrnoException;
            const timeout = ctx.upstreamTimedOut === true || (e.code === 'ECONNRESET' && ctx.upstreamStart !== undefined && !(res as ServerResponse).headersSent && /socket hang up/.test(e.message) ? false : e.code === 'ETIMEDOUT' || /timeout/i.test(e.message));
            const what = messages ? 'the model API' : 'the internal service';
            const msg = timeout
              ? `${what} did not answer within ${this.opts.upstreamTimeoutMs} ms; retry later.`
              : `${what} could not be reached (${e.code ?? e.message}); retry later, and check --upstream or the endpoint URL if it persists.`;
            this.deps.log.warn({ requestId: ctx.requestId, code: e.code, err: e.message }, 'upstream request failed');
            if ('writeHead' in res) {
              const code = sendError(res as ServerResponse, timeout ? 'timeout_error' : 'api_error', msg, ctx.requestId, { 'x-scopekeeper-decision': 'allow' }, timeout ? 504 : 502);
              void this.complete(req, ctx, { status: code, error: msg }, 'allow', (ctx.decision?.reasons ?? []).map((r) => r.code));
            }
          });
        },
      ],
    });
  }

  private async onUpstreamResponse(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ctx = contextOf(req);
    const headers = { 'x-scopekeeper-decision': ctx.decision?.auditOnly ? 'allow-audit-only' : 'allow', 'x-scopekeeper-request-id': ctx.requestId };
    const filter = (req as unknown as { modelFilter?: string[] }).modelFilter;
    let result: RelayResult;
    if (filter && (proxyRes.statusCode ?? 500) < 400) {
      result = await relayModels(proxyRes, res, filter, headers);
    } else {
      result = await relayResponse(proxyRes, res, { masking: ctx.masking, maskFields: ctx.maskFields, messages: ctx.route === 'messages', extraHeaders: headers });
    }
    ctx.upstreamEnd = process.hrtime.bigint();
    void this.complete(req, ctx, result, ctx.decision?.effect === 'allow' ? 'allow' : 'deny', (ctx.decision?.reasons ?? []).map((r) => r.code));
  }

  /** Exactly once per request: metrics and the audit record. */
  private async complete(req: IncomingMessage, ctx: RequestContext, result: RelayResult, decision: AuditEvent['decision'], reasons: string[]): Promise<void> {
    if (ctx.done) return;
    ctx.done = true;
    const end = process.hrtime.bigint();
    const totalS = Number(end - ctx.t0) / 1e9;
    const upstreamS = ctx.upstreamStart !== undefined ? Number((ctx.upstreamEnd ?? end) - ctx.upstreamStart) / 1e9 : 0;
    const d = ctx.decision;
    const model = ctx.model ?? '';
    const m = this.metrics;
    m.requests.inc({ decision, reason: reasons[0] ?? '', model: model.slice(0, 64), scope: d?.scope ?? '' });
    m.duration.observe({ route: ctx.route }, totalS);
    m.overhead.observe(Math.max(0, totalS - upstreamS));
    if (result.masked) for (const [k, v] of Object.entries(result.masked)) if (v) m.masked.inc({ category: k }, v);
    if (result.usage && model) {
      for (const [k, v] of Object.entries(result.usage)) if (typeof v === 'number' && v > 0) m.tokens.inc({ model, type: k.replace(/_tokens$/, '') }, v);
    }
    const id = ctx.identity;
    const event: AuditEvent = {
      time: new Date(ctx.startedAt).toISOString(),
      requestId: ctx.requestId,
      sessionId: header(req, 'x-claude-code-session-id')?.slice(0, 128),
      subject: id ? describeIdentity(id) : undefined,
      issuer: id?.issuer,
      namespace: this.opts.namespace,
      pod: this.opts.pod,
      scope: d?.scope,
      review: d?.review,
      route: ctx.route,
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0]!.slice(0, 512),
      model: ctx.model,
      tools: ctx.tools,
      decision,
      reasons,
      auditOnly: d?.auditOnly || undefined,
      status: result.status,
      masked: result.masked && Object.keys(result.masked).length ? result.masked : undefined,
      blocked: result.blocked,
      usage: result.usage && Object.keys(result.usage).length ? result.usage : undefined,
      toolsUsed: result.toolsUsed?.length ? result.toolsUsed : undefined,
      latencyMs: round(totalS * 1000),
      upstreamLatencyMs: ctx.upstreamStart !== undefined ? round(upstreamS * 1000) : undefined,
      bodySha256: ctx.bodySha256,
      error: result.error,
      approval: ctx.event.approval,
    };
    try {
      await this.deps.audit.record(event);
    } catch (e) {
      this.deps.log.error({ requestId: ctx.requestId, err: (e as Error).message }, 'audit record failed');
    }
  }

}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Every value of a header as sent (rawHeaders), before node merges or drops duplicates. */
function rawHeader(req: IncomingMessage, name: string): string | string[] | undefined {
  const raw = req.rawHeaders;
  let values: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) (values ??= []).push(raw[i + 1]!);
  }
  return values === undefined || values.length > 1 ? values : values[0];
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function addr(s: Server): string {
  const a = s.address() as AddressInfo;
  return `${a.address}:${a.port}`;
}

function listen(server: Server, at: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function relayModels(upstream: IncomingMessage, res: ServerResponse, globs: string[], headers: Record<string, string>): Promise<RelayResult> {
  const chunks: Buffer[] = [];
  for await (const c of upstream) chunks.push(c as Buffer);
  let list: { data?: { id?: string }[] };
  try {
    list = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return { status: sendError(res, 'api_error', 'The model list from the upstream was not JSON; retry later.', headers['x-scopekeeper-request-id']!, {}, 502) };
  }
  const data = (list.data ?? []).filter((m) => typeof m.id === 'string' && matchAnyName(globs, m.id));
  const body = JSON.stringify({ ...list, data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
  return { status: 200 };
}
