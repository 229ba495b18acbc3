// What each step of the sidecar's per-request work costs on its own (µs per call, one core),
// to read next to the CPU profile: identity, inspection, body hash, decision, masking, audit
// chain, metrics. Not a substitute for the end-to-end bench (no I/O, no HTTP, hot caches).
//
//   node_modules/.bin/node bench/parts.ts
import { createHash, randomBytes } from 'node:crypto';
import {
  AuditChain,
  GENESIS_HASH,
  compileMasking,
  decide,
  firstDuplicateKey,
  inspectMessagesRequest,
  SseParser,
  type AuditEvent,
} from '@scopekeeper/core';
import { LocalIssuer, TokenVerifier, SidecarMetrics, FilePolicySource, copyExamples } from '@scopekeeper/sidecar';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRequestId } from '../packages/sidecar/src/context.ts';
import { requestBody, jsonResponse, sseResponse } from './lib/fixtures.ts';

async function time(label: string, n: number, f: () => unknown): Promise<{ label: string; us: number }> {
  for (let i = 0; i < Math.min(2000, n); i++) await f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await f();
  const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
  return { label, us };
}

export async function parts(): Promise<{ label: string; us: number }[]> {
  const out: { label: string; us: number }[] = [];
  const issuer = await LocalIssuer.start();
  const verifier = new TokenVerifier({ issuers: [{ issuer: issuer.issuer }], maxLifetimeSeconds: 3600 });
  await verifier.warm();
  const token = await issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', ttlSeconds: 3600 });
  const es = await issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', ttlSeconds: 3600 }, { alg: 'ES256' });
  out.push(
    await time("verify the caller's JWT (RS256, jose + WebCrypto)", 5000, () =>
      verifier.authenticate({ authorization: `Bearer ${token}` }),
    ),
  );
  out.push(await time("verify the caller's JWT (ES256)", 5000, () => verifier.authenticate({ authorization: `Bearer ${es}` })));
  const body = Buffer.from(requestBody(false));
  out.push(await time(`sha256 of the request body (${body.length} B)`, 50_000, () => createHash('sha256').update(body).digest('hex')));
  out.push(
    await time('inspectMessagesRequest (JSON.parse + repeated-key scan + facts)', 50_000, () =>
      inspectMessagesRequest(body, undefined, { requireMaxTokens: true }),
    ),
  );
  const text = body.toString('utf8');
  out.push(await time('of which the repeated-key scan (firstDuplicateKey)', 50_000, () => firstDuplicateKey(text)));
  const dir = mkdtempSync(join(tmpdir(), 'sk-parts-'));
  await copyExamples(dir);
  const policy = new FilePolicySource({ dir, namespace: 'team-a' });
  await policy.start();
  const snap = policy.current()!;
  const identity = await verifier.authenticate({ authorization: `Bearer ${token}` });
  const facts = inspectMessagesRequest(body, undefined, { requireMaxTokens: true });
  out.push(await time('decide (examples/ policy)', 100_000, () => decide(snap, identity, { route: 'messages', facts }, Date.now())));
  const masking = compileMasking({
    mask: ['email', 'phone', 'credit-card', 'iban', 'api-key', 'jwt'],
    block: ['private-key'],
    custom: [{ name: 'ticket-id', pattern: 'TCK-[0-9]{6}', action: 'mask' }],
  });
  const json = Buffer.from(jsonResponse());
  out.push(await time(`JSON.parse of the response for usage (${json.length} B)`, 50_000, () => JSON.parse(json.toString('utf8'))));
  out.push(await time('maskMessageJson (support-agent policy, 1 e-mail)', 20_000, () => masking.maskMessageJson(json)));
  const sse = Buffer.from(sseResponse());
  out.push(
    await time(`SSE masker over the whole stream (${sse.length} B, one chunk)`, 5000, () => {
      const m = masking.createSseMasker();
      m.push(sse);
      m.end();
    }),
  );
  const events = new SseParser().push(sse);
  out.push(
    await time(`of which JSON.parse of its ${events.length} events' data`, 5000, () => {
      for (const ev of events) if (ev.data !== undefined) JSON.parse(ev.data);
    }),
  );
  out.push(await time(`SseParser over the whole stream (what sk-audit parses to observe it)`, 5000, () => new SseParser().push(sse)));
  const chain = new AuditChain(GENESIS_HASH, 0);
  const event: AuditEvent = {
    time: new Date().toISOString(),
    requestId: `req_sk_${randomBytes(12).toString('base64url')}`,
    subject: 'ServiceAccount team-a/support-bot',
    issuer: issuer.issuer,
    namespace: 'team-a',
    scope: 'support-agent',
    review: 'support-agent-2026q4',
    route: 'messages',
    method: 'POST',
    path: '/v1/messages',
    model: 'claude-sonnet-4-5',
    tools: ['Read', 'Grep', 'Glob'],
    decision: 'allow',
    reasons: ['Allowed'],
    status: 200,
    masked: { email: 1 },
    usage: { input_tokens: 612, output_tokens: 96 },
    latencyMs: 1.234,
    upstreamLatencyMs: 0.5,
    bodySha256: 'a'.repeat(64),
  };
  out.push(await time('audit chain appendLine (canonical JSON + sha256)', 50_000, () => chain.appendLine(event)));
  const metrics = new SidecarMetrics();
  out.push(
    await time('metrics (metrics.ts): 1 counter + 2 histograms + 1 counter (as record())', 100_000, () => {
      metrics.requests.inc({ decision: 'allow', reason: 'Allowed', model: 'claude-sonnet-4-5', scope: 'support-agent' });
      metrics.duration.observe({ route: 'messages' }, 0.001);
      metrics.overhead.observe(0.0005);
      metrics.tokens.inc({ model: 'claude-sonnet-4-5', type: 'input' }, 612);
    }),
  );
  out.push(await time('request id (12 bytes of a random pool → base64url)', 100_000, newRequestId));
  await policy.stop();
  await verifier.close();
  await issuer.close();
  rmSync(dir, { recursive: true, force: true });
  return out;
}

if (import.meta.main) {
  for (const p of await parts()) console.log(`${p.us.toFixed(2).padStart(9)} µs  ${p.label}`);
  process.exit(0);
}
