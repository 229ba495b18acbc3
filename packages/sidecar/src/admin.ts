// The admin port: /metrics, /healthz, /readyz.
import type { ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import type { SidecarMetrics } from './metrics.ts';
import type { PolicySource } from './policy/source.ts';
import type { AuditLog } from './audit/index.ts';
import type { SamlVerifier } from './identity/saml-verifier.ts';

export function buildAdminApp(
  policy: PolicySource,
  audit: AuditLog,
  metrics: SidecarMetrics,
  draining: () => boolean,
  saml?: SamlVerifier,
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/metrics', async (_req, res) => {
    const s = policy.status();
    metrics.policyReady.set(s.ready && policy.current() ? 1 : 0);
    metrics.policyScopes.set({ state: 'valid' }, s.scopes);
    metrics.policyScopes.set({ state: 'invalid' }, s.invalidScopes);
    send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => sendJson(res, 200, { ok: true }));
  app.get('/readyz', (_req, res) => {
    const s = policy.status();
    const ready = !draining() && s.ready && policy.current() !== undefined && audit.healthy !== false;
    const samlStatus = saml ? { saml: saml.metadata.status() } : {};
    sendJson(res, ready ? 200 : 503, { ready, policy: s, audit: { healthy: audit.healthy }, draining: draining(), ...samlStatus });
  });
  return app;
}

// Node's own writeHead and end, not express's send and json: those load mime-types (and its
// table of every media type) on the first call, which is the first /readyz probe, so before ready.
function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}
