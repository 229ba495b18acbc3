// The sidecar's forwarding alone, to price the libraries of the design (DESIGN.md §2):
//
//   --mode express   express + the sidecar's own Forwarder (packages/sidecar/src/upstream/forwarder.ts:
//                    node:http keep-alive pools, the read body sent as it is), as the sidecar forwards
//   --mode undici    express + one keep-alive undici pool (how the sidecar forwarded before)
//   --mode hpm       express + http-proxy-middleware as the sidecar used it until it moved to undici
//                    (selfHandleResponse, the read body written in proxyReq, keep-alive agent);
//                    --hpm <module> picks the release (3.x on http-proxy, 4.x on httpxy)
//   --mode node      the same forwarding on node:http alone (http.createServer + http.request)
//
// Both read the body, strip the caller's credentials, add the upstream key, and relay the answer
// with the sidecar's own relayResponse (usage read from JSON, SSE parsed event by event), but do
// no identity, policy, masking, audit or metrics: the difference between the two is what express
// and http-proxy-middleware cost per request.
//
//   node bench/variants/forwarder.ts --mode node --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PORT --key KEY
import {
  createServer,
  request as httpRequest,
  Agent,
  type IncomingMessage,
  type ServerResponse,
  type OutgoingHttpHeaders,
} from 'node:http';
import { parseArgs } from 'node:util';
import express from 'express';
import { Agent as UndiciAgent } from 'undici';
import type * as Hpm from 'http-proxy-middleware';
import { readBody } from '../../packages/sidecar/src/http/body.ts';
import { relayResponse } from '../../packages/sidecar/src/upstream/response.ts';
import { Forwarder } from '../../packages/sidecar/src/upstream/forwarder.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    listen: { type: 'string' },
    upstream: { type: 'string' },
    key: { type: 'string' },
    hpm: { type: 'string' },
  },
});
const mode = values.mode ?? 'node';
const [host, port] = (values.listen ?? '127.0.0.1:0').split(':') as [string, string];
const upstream = new URL(values.upstream ?? 'http://127.0.0.1:8080');
const key = values.key ?? 'sk-ant-bench';
const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'cookie', 'proxy-authorization'];
const extraHeaders = { 'x-scopekeeper-decision': 'allow' };

type WithBody = IncomingMessage & { body?: Buffer };

function nodeHandler(req: IncomingMessage, res: ServerResponse): void {
  void (async () => {
    const body = await readBody(req, 32 * 1024 * 1024);
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined && !CREDENTIAL_HEADERS.includes(k) && k !== 'connection' && k !== 'host') headers[k] = v;
    headers.host = upstream.host;
    headers['x-api-key'] = key;
    headers['content-length'] = body.length;
    headers['accept-encoding'] = 'identity';
    const up = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (proxyRes) => {
        void relayResponse({ status: proxyRes.statusCode ?? 502, headers: proxyRes.headers, body: proxyRes }, res, {
          messages: true,
          extraHeaders,
        });
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    up.end(body);
  })();
}

function forwarderApp() {
  const forwarder = new Forwarder({ connections: 256, timeoutMs: 600_000 });
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.post('/v1/messages', (req, res) => {
    void (async () => {
      const body = await readBody(req, 32 * 1024 * 1024);
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined && !CREDENTIAL_HEADERS.includes(k) && k !== 'connection' && k !== 'host' && k !== 'content-length')
          headers[k] = v;
      headers['x-api-key'] = key;
      headers['content-length'] = String(body.length);
      headers['accept-encoding'] = 'identity';
      try {
        const up = await forwarder.send({ origin: upstream.origin, path: req.url, method: 'POST', headers, body }).response;
        await relayResponse(up, res, { messages: true, extraHeaders });
      } catch {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      }
    })();
  });
  return app;
}

function undiciApp() {
  const pool = new UndiciAgent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.post('/v1/messages', (req, res) => {
    void (async () => {
      const body = await readBody(req, 32 * 1024 * 1024);
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined && !CREDENTIAL_HEADERS.includes(k) && k !== 'connection' && k !== 'host' && k !== 'content-length')
          headers[k] = v;
      headers['x-api-key'] = key;
      headers['content-length'] = String(body.length);
      headers['accept-encoding'] = 'identity';
      try {
        const up = await pool.request({ origin: upstream.origin, path: req.url, method: 'POST', headers, body });
        up.body.on('error', () => undefined);
        await relayResponse({ status: up.statusCode, headers: up.headers, body: up.body }, res, { messages: true, extraHeaders });
      } catch {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      }
    })();
  });
  return app;
}

async function hpmApp() {
  const { createProxyMiddleware } = (await import(values.hpm ?? 'http-proxy-middleware')) as typeof Hpm;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  const proxy = createProxyMiddleware({
    target: upstream.origin,
    changeOrigin: true,
    selfHandleResponse: true,
    xfwd: false,
    agent,
    ejectPlugins: true,
    plugins: [
      (p) => {
        p.on('proxyReq', (proxyReq, req) => {
          proxyReq.setHeader('x-api-key', key);
          const body = (req as WithBody).body!;
          proxyReq.setHeader('content-length', body.length);
          proxyReq.removeHeader('transfer-encoding');
          proxyReq.write(body);
        });
        p.on(
          'proxyRes',
          (proxyRes, _req, res) =>
            void relayResponse({ status: proxyRes.statusCode ?? 502, headers: proxyRes.headers, body: proxyRes }, res as ServerResponse, {
              messages: true,
              extraHeaders,
            }),
        );
        p.on('error', (_e, _req, res) => {
          if ('writeHead' in res && !res.headersSent) res.writeHead(502);
          res.end();
        });
      },
    ],
  });
  app.post(
    '/v1/messages',
    (req, _res, next) => {
      void readBody(req, 32 * 1024 * 1024).then((body) => {
        (req as WithBody).body = body;
        for (const h of CREDENTIAL_HEADERS) delete req.headers[h];
        req.headers['accept-encoding'] = 'identity';
        next();
      });
    },
    proxy,
  );
  return app;
}

const server = createServer(
  { requestTimeout: 0, headersTimeout: 30_000 },
  mode === 'express' ? forwarderApp() : mode === 'undici' ? undiciApp() : mode === 'hpm' ? await hpmApp() : nodeHandler,
);
server.keepAliveTimeout = 65_000;
server.listen(Number(port), host, () => process.stdout.write(`listening ${mode} ${JSON.stringify(server.address())}\n`));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
