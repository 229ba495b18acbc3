// The sidecar: the data port (an express router in front of the staged data path of
// pipeline/routes.ts, behind a concurrency gate) and the admin port; start and graceful stop.
// What a request meets before its route (its connection's limits, the target check, the gate) is
// the server's and lives here; the router and what follows it are the data path's (pipeline/router.ts).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http } from './http/node-http.ts';
import type { AddressInfo, Socket } from 'node:net';
import type { Express } from 'express';
import { limitConnections, type ConnectionLimit } from '@scopekeeper/core';
import { newRequestId, RequestContext } from './context.ts';
import { buildAdminApp } from './admin.ts';
import { callerKey, ConcurrencyGate, type Turnaway } from './http/overload.ts';
import {
  ADMIN_MAX_CONNECTIONS,
  ANSWERED_UNREAD_LINGER_MS,
  DEFAULT_MAX_CONNECTIONS,
  FRESH_CONNECTION_GRACE_MS,
} from './http/connections.ts';
import { BODY_TIMEOUT_MS } from './http/body.ts';
import { ReadGate } from './http/read-gate.ts';
import { targetProblem } from './http/target.ts';
import { SidecarMetrics } from './metrics.ts';
import { DataRouter } from './pipeline/router.ts';
import { recordRefused, refusalText, refuse } from './pipeline/refuse.ts';
import { buildDataPath, type DataPath } from './pipeline/env.ts';
import type { SidecarDeps, SidecarOptions } from './options.ts';

export type { SidecarDeps, SidecarOptions } from './options.ts';

export class Sidecar {
  readonly metrics: SidecarMetrics;
  private readonly dp: DataPath;
  private readonly gate: ConcurrencyGate;
  /** Which pipeline a request past the gate runs (pipeline/router.ts). */
  private readonly router: DataRouter;
  private readonly adminApp: Express;
  private dataServer: Server | undefined;
  private adminServer: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private connections: ConnectionLimit<Socket> | undefined;
  private connectionsWarnedAt = 0;
  /**
   * Connections answered 529 before anything was read (past twice --max-connections): the request
   * id they were told, until a request read on them takes it (a second one, pipelined, gets its own).
   */
  private readonly answeredUnread = new Map<Socket, { requestId: string | undefined }>();
  /**
   * The context of every request not yet closed, by its req (the router hands layers req, not the
   * context). A Map whose entry goes when the response closes, not a WeakMap: V8's scavenger keeps
   * a young WeakMap entry's value alive while its table is old, so with a WeakMap every request's
   * whole graph (context, req, res, body) was promoted to the old generation and only freed by a
   * mark-compact, one every ~0.75 s at 1,000 req/s (docs/benchmarks.md).
   */
  private readonly inFlight = new Map<IncomingMessage, RequestContext>();
  /** What node's parser is given of each connection, and when (http/read-gate.ts). */
  private readonly reads: ReadGate;
  private readsUnbounded = false;
  private draining = false;
  private stopping: Promise<void> | undefined;

  constructor(opts: SidecarOptions, deps: SidecarDeps) {
    this.metrics = deps.metrics ?? new SidecarMetrics();
    this.dp = buildDataPath(opts, deps, this.metrics);
    this.gate = new ConcurrencyGate({
      limit: opts.maxConcurrent ?? 256,
      maxQueued: opts.maxQueued ?? 512,
      maxWaitMs: opts.maxQueueWaitMs ?? 30_000,
    });
    // Room for everything the gate takes on and as many answered at once past it.
    this.reads = new ReadGate(2 * (this.gate.limits.limit + this.gate.limits.maxQueued));
    this.router = new DataRouter(this.dp, this.inFlight);
    this.adminApp = buildAdminApp(deps.policy, deps.audit, this.metrics, () => this.draining, deps.saml);
  }

  async start(): Promise<{ data: string; admin: string }> {
    const headersTimeout = this.dp.opts.headersTimeoutMs ?? 30_000;
    // Node checks the headers timeout only every connectionsCheckingInterval (default 30 s): check
    // at least twice per timeout so a slow sender is cut off close to the deadline.
    const connectionsCheckingInterval = Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 2)));
    // Bodies the sidecar reads have their own deadline (http/body.ts); Node's, a little later, cuts one streamed through unread.
    const requestTimeout = headersTimeout + (this.dp.opts.bodyTimeoutMs ?? BODY_TIMEOUT_MS) + connectionsCheckingInterval;
    this.dataServer = http.createServer(
      { requestTimeout, headersTimeout, connectionsCheckingInterval, maxHeaderSize: 32 * 1024 },
      (req, res) => this.accept(req, res),
    );
    this.dataServer.keepAliveTimeout = 65_000;
    const max = this.dp.opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const connections: ConnectionLimit<Socket> = limitConnections<Socket>(this.dataServer, max, {
      overflow: max,
      freshGraceMs: FRESH_CONNECTION_GRACE_MS,
      answerUnread: (s) => this.answerUnread(s, connections),
      unread: max,
      onClosed: () => this.warnConnections(connections),
    });
    this.connections = connections;
    this.dataServer.on('connection', (s: Socket) => {
      if (s.destroyed) return; // closed by the limit
      if (!this.reads.attach(s) && !this.readsUnbounded) {
        this.readsUnbounded = true;
        this.dp.log.warn({}, 'node:http is not the version scopekeeper knows: pipelined requests are read without bounds');
      }
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    // Probes and scrapes send their headers at once; the port is reachable from other pods.
    this.adminServer = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, this.adminApp);
    limitConnections(this.adminServer, ADMIN_MAX_CONNECTIONS);
    await Promise.all([listen(this.dataServer, this.dp.opts.listen), listen(this.adminServer, this.dp.opts.admin)]);
    return { data: `http://${addr(this.dataServer)}`, admin: `http://${addr(this.adminServer)}` };
  }

  /** SIGTERM: stop accepting, let in-flight requests (streams too) finish within the grace period, flush the audit. */
  async stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => (this.dataServer ? this.dataServer.close(() => resolve()) : resolve()));
    for (const s of this.sockets) if (!this.busy(s)) s.destroy();
    const deadline = Date.now() + this.dp.opts.shutdownGraceMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.sockets) s.destroy();
    await closed;
    await this.dp.audit.close();
    await this.dp.policy.stop();
    await this.dp.forwarder.close();
    this.dp.mcp.agents.close();
    await new Promise<void>((resolve) => (this.adminServer ? this.adminServer.close(() => resolve()) : resolve()));
  }

  /** Requests whose response has not closed yet (each holds its context until then). */
  get openRequests(): number {
    return this.inFlight.size;
  }

  private busy(s: Socket): boolean {
    for (const ctx of this.inFlight.values()) if (ctx.res.socket === s) return true;
    return false;
  }

  /** At most once a minute: connections were closed or turned away to stay within --max-connections. */
  private warnConnections(connections: ConnectionLimit<Socket>): void {
    const now = Date.now();
    if (now - this.connectionsWarnedAt < 60_000) return;
    this.connectionsWarnedAt = now;
    const { open, max, closed, overTotal } = connections;
    this.dp.log.warn(
      { open, max, closed, turnedAway: overTotal },
      'the data port is at --max-connections: the connections idle longest are closed to make room, and past it new ones are answered 529 and closed; raise --max-connections (and the memory limit with it) if your agents keep this many open',
    );
  }

  /**
   * Past twice --max-connections (http/connections.ts): the connection is answered 529 with
   * retry-after at once, before anything of it is read, and closed once its request is read, when
   * its caller closes it, or after ANSWERED_UNREAD_LINGER_MS, whichever comes first. A burst larger than the limits gets answers its SDK retries, not resets; what
   * the caller sends meanwhile is read and dropped (closing on unread bytes would reset the
   * connection, and could lose the answer), and a request in it is recorded (see accept()).
   */
  private answerUnread(s: Socket, connections: ConnectionLimit<Socket>): void {
    const requestId = newRequestId();
    this.answeredUnread.set(s, { requestId });
    const linger = setTimeout(() => s.destroy(), ANSWERED_UNREAD_LINGER_MS).unref();
    s.once('close', () => {
      clearTimeout(linger);
      this.answeredUnread.delete(s);
    });
    s.end(refusalText('tooManyConnections', { open: connections.open, max: connections.max }, requestId));
    this.warnConnections(connections);
  }

  /** Every request: its context, then the gate; past the gate the router. */
  private accept(req: IncomingMessage, res: ServerResponse): void {
    const told = this.answeredUnread.get(req.socket);
    const ctx = new RequestContext(req, res, this.dp.now(), told?.requestId);
    if (told) told.requestId = undefined;
    this.inFlight.set(req, ctx);
    const socket = req.socket;
    this.reads.opened(socket);
    res.once('close', () => {
      this.inFlight.delete(req);
      this.reads.closed(socket);
    });
    // A write after the caller went away must not become an uncaught 'error' event.
    res.on('error', (e) => this.dp.log.debug({ requestId: ctx.requestId, err: e.message }, 'response error'));
    if (this.draining) res.setHeader('connection', 'close');
    const connections = this.connections;
    if (told !== undefined && connections) {
      // Its answer went out before it was read (answerUnread): recorded, its body dropped, nothing
      // written; once all of it is read the connection closes without waiting for its caller, so
      // the band of such connections empties as fast as the sidecar reads them.
      req.once('end', () => closeOnceWritten(req.socket));
      req.resume();
      return recordRefused(this.dp, ctx, 'tooManyConnections', { open: connections.open, max: connections.max }, 529);
    }
    if (connections?.isOver(req.socket)) {
      // Kept past --max-connections only to say so (http/connections.ts): answered, then closed.
      res.setHeader('connection', 'close');
      this.warnConnections(connections);
      return refuse(this.dp, ctx, 'tooManyConnections', { open: connections.open, max: connections.max });
    }
    const problem = targetProblem(req.url ?? '');
    if (problem !== undefined) return refuse(this.dp, ctx, 'targetRejected', { method: req.method ?? '', problem });
    const key = callerKey(req);
    this.gate.enter(
      res,
      key,
      () => this.router.route(ctx),
      (why) => this.turnAway(ctx, why, key),
    );
  }

  private turnAway(ctx: RequestContext, why: Turnaway, key: string): void {
    if (why === 'closed') return refuse(this.dp, ctx, 'clientClosed', { where: 'while its request was queued' });
    refuse(this.dp, ctx, 'overloaded', {
      why,
      inFlight: this.gate.inFlight,
      queued: this.gate.queued,
      retryAfterSeconds: why === 'waited' ? 2 : 1,
      ...(why === 'share' ? { callerQueued: this.gate.shareOf(key).waiting + 1 } : {}),
      ...(why === 'waited' && this.gate.atMost(key) ? { callerRunning: this.gate.shareOf(key).running } : {}),
    });
  }
}

/** Closes `s` once what was written to it is with the kernel (closing before would cut the answer). */
function closeOnceWritten(s: Socket): void {
  if (s.writableFinished) s.destroy();
  else s.once('finish', () => s.destroy());
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
