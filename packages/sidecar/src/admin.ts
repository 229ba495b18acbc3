// The admin port: /metrics, /healthz, /readyz.
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
  app.get('/metrics', async (_req, res) => {
    const s = policy.status();
    metrics.policyReady.set(s.ready && policy.current() ? 1 : 0);
    metrics.policyScopes.set({ state: 'valid' }, s.scopes);
    metrics.policyScopes.set({ state: 'invalid' }, s.invalidScopes);
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  app.get('/readyz', (_req, res) => {
    const s = policy.status();
    const ready = !draining() && s.ready && policy.current() !== undefined && audit.healthy !== false;
    const samlStatus = saml ? { saml: saml.metadata.status() } : {};
    res.status(ready ? 200 : 503).json({ ready, policy: s, audit: { healthy: audit.healthy }, draining: draining(), ...samlStatus });
  });
  return app;
}
