// The admission webhook server: HTTPS (node:https), AdmissionReview v1 in and out.
//   POST /mutate-pod             sidecar injection            (MutatingWebhookConfiguration)
//   POST /mutate-accessreview    stamps reviewer / reviewedAt (MutatingWebhookConfiguration)
//   POST /validate-accessreview  who may decide               (ValidatingWebhookConfiguration)
//   POST /validate-pod           enforced namespaces, injected pods: CREATE, UPDATE, ephemeral containers
//   GET  /healthz
// A handler that fails (a bug, an unreachable cache) answers HTTP 500, so the webhook's
// failurePolicy decides (Ignore: the pod goes through uninjected; Fail: it is refused); a denial
// is an answer, honoured under either policy. The certificate files are re-read when they change
// (a mounted Secret renewed by cert-manager or by the operator), without a restart.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { Counter, Histogram, type Registry } from 'prom-client';
import { silentLogger, type Logger } from '@scopekeeper/kube';
import { JsonTooLargeError, limitConnections, parseJson } from '@scopekeeper/core';
import type { V1Pod } from '@kubernetes/client-node';
import { allow, deny, toAdmissionReview, type AdmissionRequest, type AdmissionReview, type Verdict } from './admission.ts';
import { PATHS } from './constants.ts';
import { describePod, mutatePod, type InjectionResult, type ServerVersion } from './inject.ts';
import type { ValidationDeps } from './validate.ts';
import { validatePod } from './validate-pod.ts';
import { mutateAccessReview, validateAccessReview } from './validate-review.ts';

export interface WebhookDeps extends ValidationDeps {
  /** The API server's version (decides native sidecars): a value, or a function read per request. */
  serverVersion: ServerVersion | (() => ServerVersion);
  now?: () => number;
}

export type WebhookTls = { certFile: string; keyFile: string; reloadIntervalMs?: number } | { cert: string; key: string };

export interface WebhookServerOptions {
  /** Default 9443. 0 picks a free port. */
  port?: number;
  /** Default 0.0.0.0 (in a pod); 127.0.0.1 for tests. */
  host?: string;
  tls: WebhookTls;
  deps: WebhookDeps;
  log?: Logger;
  /** `scopekeeper_injections_total{result}`: pass the counter, or a registry to create it (and the duration histogram) on. */
  metrics?: { injections?: Counter<'result'>; registry?: Registry };
  /** Largest AdmissionReview accepted; default 8 MiB. */
  maxBodyBytes?: number;
  /** Bytes of AdmissionReviews read at once, all requests together; default 64 MiB. */
  maxBufferedBytes?: number;
  /** Connections open at once; default 1024 (more are closed as they arrive; past half of them established, the one idle longest is closed). */
  maxConnections?: number;
  /** Time a client has to complete the TLS handshake; default 10 s (Node's is 120 s). */
  handshakeTimeoutMs?: number;
}

export interface WebhookServer {
  /** Starts listening; resolves to https://host:port. */
  listen(): Promise<string>;
  close(): Promise<void>;
  /** https://host:port once listening. */
  readonly url: string | undefined;
  readonly port: number | undefined;
  /** Serve this certificate from now on (e.g. right after ensureCerts on the leader). Throws when key and certificate do not match. */
  setCertificate(pem: { cert: string; key: string }): void;
  /** Re-reads the certificate files now; true when they changed and were loaded. */
  reloadCertificate(): Promise<boolean>;
  /** Whether a certificate is loaded (without one every TLS handshake fails). */
  hasCertificate(): boolean;
  readonly injections: Counter<'result'>;
}

export function injectionsCounter(registry?: Registry): Counter<'result'> {
  return new Counter({
    name: 'scopekeeper_injections_total',
    help: 'Pods seen by the injection webhook, by result (injected, skipped, refused).',
    labelNames: ['result'] as const,
    registers: registry ? [registry] : [],
  });
}

class BadRequest extends Error {}

/** No room for this body beside the ones being read (503): the port is reachable from any pod. */
class Busy extends Error {}

/**
 * Bytes of the AdmissionReviews being read, all together. Any pod can reach the webhook port, and
 * a body whose last byte never comes is held until the request timeout: without a bound, a few
 * dozen 8 MiB bodies sent that way take the operator past its memory limit, and the webhooks'
 * failurePolicy then refuses every pod and review until it is back.
 */
class Buffered {
  held = 0;
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
}

function readBody(req: IncomingMessage, limit: number, buffered: Buffered): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const settle = (e?: Error) => {
      if (done) return;
      done = true;
      buffered.held -= size;
      if (!e) return resolve(Buffer.concat(chunks));
      chunks.length = 0;
      // A body too large is cut off; one that found no room is read to its end without being
      // kept, so the API server gets the 503 rather than a cut connection.
      if (e instanceof Busy) req.resume();
      else req.destroy();
      reject(e);
    };
    req.on('data', (b: Buffer) => {
      if (done) return;
      if (size + b.length > limit) return settle(new BadRequest(`AdmissionReview larger than ${limit} bytes`));
      if (buffered.held + b.length > buffered.max)
        return settle(new Busy(`the webhook is reading ${buffered.held} bytes of AdmissionReviews, at most ${buffered.max}; retry`));
      size += b.length;
      buffered.held += b.length;
      chunks.push(b);
    });
    req.on('end', () => settle());
    req.on('error', (e) => settle(e));
    // (a BadRequest: a caller that goes away is not the handler failing, and is not logged as such)
    req.on('close', () => settle(new BadRequest('the connection closed before the body was complete')));
  });
}

function parseReview(body: Buffer): AdmissionRequest {
  let review: AdmissionReview;
  try {
    review = parseJson(body.toString('utf8')) as AdmissionReview;
  } catch (e) {
    if (e instanceof JsonTooLargeError) throw new BadRequest(`the AdmissionReview is not read: ${e.message}`);
    throw new BadRequest('the body is not JSON; send an admission.k8s.io/v1 AdmissionReview');
  }
  if (review?.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
    throw new BadRequest(
      `expected apiVersion admission.k8s.io/v1, kind AdmissionReview (got ${JSON.stringify(review?.apiVersion)}, ${JSON.stringify(review?.kind)}); set admissionReviewVersions: ["v1"]`,
    );
  }
  const req = review.request;
  if (!req || typeof req.uid !== 'string' || !req.uid) throw new BadRequest('the AdmissionReview has no request.uid');
  return req;
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

export function createWebhookServer(opts: WebhookServerOptions): WebhookServer {
  const log = opts.log ?? silentLogger;
  const deps = opts.deps;
  const now = deps.now ?? Date.now;
  const limit = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  const buffered = new Buffered(opts.maxBufferedBytes ?? 64 * 1024 * 1024);
  const injections = opts.metrics?.injections ?? injectionsCounter(opts.metrics?.registry);
  for (const r of ['injected', 'skipped', 'refused'] as const) injections.inc({ result: r }, 0);
  const duration = opts.metrics?.registry
    ? new Histogram({
        name: 'scopekeeper_webhook_duration_seconds',
        help: 'Time to answer an admission request, by path.',
        labelNames: ['path'] as const,
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
        registers: [opts.metrics.registry],
      })
    : undefined;
  const serverVersion = (): ServerVersion => (typeof deps.serverVersion === 'function' ? deps.serverVersion() : deps.serverVersion);

  const handlers: Record<string, (req: AdmissionRequest) => Promise<Verdict>> = {
    [PATHS.mutatePod]: async (req) => {
      if (req.kind?.kind !== 'Pod' || req.operation !== 'CREATE' || req.subResource) return allow();
      const pod = req.object as V1Pod;
      const ns = req.namespace ?? pod?.metadata?.namespace ?? '';
      const r = mutatePod(pod, {
        namespace: ns,
        serverVersion: serverVersion(),
        config: deps.injection,
        scopes: (await deps.listScopes?.(ns)) ?? [],
      });
      if (!req.dryRun) injections.inc({ result: r.result satisfies InjectionResult });
      const who = describePod(pod, ns);
      if (!r.allowed) {
        log.info({ pod: who, user: req.userInfo?.username }, `injection refused: ${r.message}`);
        return deny(r.message);
      }
      if (r.result === 'injected')
        log.info({ pod: who, ops: r.patch.length, how: r.reason, dryRun: !!req.dryRun }, 'injected the scopekeeper sidecar');
      else log.debug({ pod: who, why: r.reason }, 'not injected');
      return allow(r.patch, r.warnings);
    },
    [PATHS.mutateAccessReview]: async (req) => allow(mutateAccessReview(req, now())),
    [PATHS.validateAccessReview]: async (req) => {
      const v = await validateAccessReview(req, deps);
      if (!v.allowed) log.info({ review: `${req.namespace}/${req.name}`, user: req.userInfo?.username }, `decision refused: ${v.message}`);
      return v;
    },
    [PATHS.validatePod]: async (req) => {
      const v = await validatePod(req, deps);
      if (!v.allowed)
        log.info(
          { namespace: req.namespace, user: req.userInfo?.username, operation: req.operation, subResource: req.subResource },
          `pod refused: ${v.message}`,
        );
      return v;
    },
  };

  // ---- TLS ----------------------------------------------------------------------------------
  const tlsOpts = opts.tls;
  let loaded: { cert: string; key: string } | undefined;
  let lastFileError: string | undefined;
  // A connection that never completes its handshake holds one of maxConnections until then.
  const server: Server = createServer({ minVersion: 'TLSv1.2', handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000 });
  const apply = (pem: { cert: string; key: string }) => {
    createSecureContext(pem); // throws on a key that does not fit the certificate, before anything changes
    server.setSecureContext({ cert: pem.cert, key: pem.key, minVersion: 'TLSv1.2' });
    loaded = pem;
  };
  const reloadCertificate = async (): Promise<boolean> => {
    if (!('certFile' in tlsOpts)) return false;
    let cert: string;
    let key: string;
    try {
      [cert, key] = await Promise.all([readFile(tlsOpts.certFile, 'utf8'), readFile(tlsOpts.keyFile, 'utf8')]);
    } catch (e) {
      const msg = `cannot read the webhook certificate (${(e as Error).message}); TLS handshakes fail until it appears`;
      if (msg !== lastFileError) log.warn({ certFile: tlsOpts.certFile }, msg);
      lastFileError = msg;
      return false;
    }
    if (loaded && sha(loaded.cert) === sha(cert) && sha(loaded.key) === sha(key)) return false;
    try {
      apply({ cert, key });
    } catch (e) {
      // Mid-rotation the two files can briefly disagree: keep the previous pair and retry.
      const msg = `the webhook certificate and key do not fit together (${(e as Error).message}); keeping the previous one`;
      if (msg !== lastFileError) log.warn({ certFile: tlsOpts.certFile }, msg);
      lastFileError = msg;
      return false;
    }
    lastFileError = undefined;
    log.info({ certFile: tlsOpts.certFile }, 'loaded the webhook certificate');
    return true;
  };
  let timer: NodeJS.Timeout | undefined;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === PATHS.healthz && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    const handler = handlers[path];
    if (!handler) {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`not found: POST ${Object.keys(handlers).join(', ')} or GET ${PATHS.healthz}\n`);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST an AdmissionReview\n');
      return;
    }
    const t0 = process.hrtime.bigint();
    let uid = '';
    readBody(req, limit, buffered)
      .then(async (body) => {
        const ar = parseReview(body);
        uid = ar.uid;
        const verdict = await handler(ar);
        const out = JSON.stringify(toAdmissionReview(uid, verdict));
        res.writeHead(200, { 'content-type': 'application/json' }).end(out);
      })
      .catch((e: Error) => {
        if (res.headersSent) return;
        const bad = e instanceof BadRequest;
        const busy = e instanceof Busy;
        if (!bad && !busy) log.error({ path, uid, err: e.message }, 'admission handler failed; the webhook failurePolicy decides');
        res.writeHead(bad ? 400 : busy ? 503 : 500, { 'content-type': 'text/plain' }).end(`${e.message}\n`);
      })
      .finally(() => duration?.observe({ path }, Number(process.hrtime.bigint() - t0) / 1e9));
  });
  server.on('tlsClientError', (e: Error) => log.debug({ err: e.message }, 'TLS handshake failed'));
  // Every connection, handshakes included, counts against maxConnections (more are closed as they
  // arrive); past half of them established, the one idle longest is closed for a new one, so that
  // connections held open by another pod do not keep the API server out.
  server.maxConnections = opts.maxConnections ?? 1024;
  limitConnections(server, Math.floor(server.maxConnections / 2), { on: 'secureConnection' });
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 30_000;

  let url: string | undefined;
  let port: number | undefined;
  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    injections,
    setCertificate(pem) {
      apply(pem);
    },
    reloadCertificate,
    hasCertificate: () => loaded !== undefined,
    async listen() {
      if ('cert' in tlsOpts) apply({ cert: tlsOpts.cert, key: tlsOpts.key });
      else {
        await reloadCertificate();
        timer = setInterval(() => void reloadCertificate(), tlsOpts.reloadIntervalMs ?? 10_000);
        timer.unref();
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 9443, opts.host ?? '0.0.0.0', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const a = server.address() as AddressInfo;
      port = a.port;
      url = `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      log.info({ url, certificate: loaded ? 'loaded' : 'not yet' }, 'admission webhook server listening');
      return url;
    },
    close() {
      if (timer) clearInterval(timer);
      return new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
