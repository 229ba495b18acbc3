// The data port's router: which pipeline of routes.ts a request past the concurrency gate runs
// (express's router, matching exactly), and what answers it when a stage throws (a 500 and an
// audit record, never the process). The connections and the gate in front of it are sidecar.ts's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import type { RequestContext } from '../context.ts';
import { messages, models, probe, service } from './routes.ts';
import { refuse } from './refuse.ts';
import type { DataPath } from './env.ts';

type Stage = (dp: DataPath, ctx: RequestContext) => Promise<void>;

/** What the `router` package (express 5's router) does with a request; its types leave it out. */
interface RouterDispatch {
  handle(req: IncomingMessage, res: ServerResponse, done: (err?: unknown) => void): void;
}

export class DataRouter {
  private readonly dp: DataPath;
  /** The sidecar's requests not yet closed, by their req: the router hands layers req, not the context. */
  private readonly inFlight: ReadonlyMap<IncomingMessage, RequestContext>;
  /** The data port's express router (see route()). */
  private readonly router: RouterDispatch;

  constructor(dp: DataPath, inFlight: ReadonlyMap<IncomingMessage, RequestContext>) {
    this.dp = dp;
    this.inFlight = inFlight;
    this.router = this.buildDataApp().router as unknown as RouterDispatch;
  }

  /**
   * express's router, called directly rather than through the application's handle(), which would
   * swap the prototypes of Node's req and res for express's on every request (changing their
   * hidden class under Node's own http code) and build a final handler per request. The data path
   * uses none of express's request or response helpers; the router's last two layers answer every
   * request, so the final callback only sees an error thrown by them.
   */
  route(ctx: RequestContext): void {
    this.router.handle(ctx.req, ctx.res, (err?: unknown) => this.fail(ctx, err ?? new Error('no route answered')));
  }

  /**
   * The router calls its layers synchronously from route(), before the response can close; were
   * that ever not so, the throw reaches the router, and through it route()'s final callback.
   */
  private contextOf(req: IncomingMessage): RequestContext {
    const ctx = this.inFlight.get(req);
    if (!ctx) throw new Error('the request closed before its route ran');
    return ctx;
  }

  private buildDataApp(): Express {
    const app = express();
    app.disable('x-powered-by');
    app.disable('etag');
    app.set('query parser', false);
    // Routes match exactly: "/v1/messages/" or "/V1/MESSAGES" must not reach the messages
    // handlers under another route name (and so with another set of policy checks).
    app.set('strict routing', true);
    app.set('case sensitive routing', true);
    app.head('/', this.run(probe));
    app.post(['/v1/messages', '/v1/messages/count_tokens'], this.run(messages));
    app.get('/v1/models', this.run(models));
    app.all('/services/{*rest}', this.run(service));
    app.use((req: IncomingMessage) => {
      const ctx = this.contextOf(req);
      refuse(this.dp, ctx, 'notFound', { method: req.method ?? '', path: (req.url ?? '').split('?')[0]! });
    });
    // Errors of the router (e.g. a path that is not valid percent-encoding): Anthropic's shape,
    // no stack trace, and an audit record.
    app.use((err: unknown, req: IncomingMessage, _res: ServerResponse, _next: unknown) => {
      const ctx = this.contextOf(req);
      if ((err as { status?: unknown } | undefined)?.status === 400) return refuse(this.dp, ctx, 'badRequest', undefined);
      this.fail(ctx, err);
    });
    return app;
  }

  /** A stage pipeline as a route handler; whatever it throws answers this request, never the process. */
  private run(stage: Stage) {
    return (req: IncomingMessage) => {
      const ctx = this.contextOf(req);
      stage(this.dp, ctx).catch((e: unknown) => this.fail(ctx, e));
    };
  }

  private fail(ctx: RequestContext, err: unknown): void {
    this.dp.log.error({ requestId: ctx.requestId, err: (err as Error | undefined)?.message }, 'request failed unexpectedly');
    if (!ctx.done) refuse(this.dp, ctx, 'internalError', undefined);
    else if (!ctx.res.writableEnded) ctx.res.destroy();
  }
}
