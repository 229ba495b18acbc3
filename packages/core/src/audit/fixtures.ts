// Test fixtures: realistic audit events and valid logs, for the audit tests.
import { createHash } from 'node:crypto';
import { AuditChain, type AuditEvent } from './chain.ts';

export function event(i: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: new Date(Date.UTC(2026, 10, 1, 10, 0, 0, i)).toISOString(),
    requestId: `req_${i}`,
    sessionId: 'b6a2c0de-0000-4000-8000-000000000001',
    subject: 'system:serviceaccount:team-a:support-bot',
    issuer: 'https://kubernetes.default.svc',
    namespace: 'team-a',
    scope: 'support-agent',
    review: 'support-agent-2026q4',
    route: 'messages',
    method: 'POST',
    path: '/v1/messages',
    model: 'claude-sonnet-4-5',
    tools: ['Read', 'Grep'],
    decision: i % 5 === 0 ? 'deny' : 'allow',
    reasons: i % 5 === 0 ? ['tool Bash is denied by ModelScope support-agent'] : [],
    status: i % 5 === 0 ? 403 : 200,
    masked: { email: i % 3, phone: 0 },
    usage: { input_tokens: 10 + i, output_tokens: 20 },
    latencyMs: 1.25,
    upstreamLatencyMs: 1,
    bodySha256: createHash('sha256').update(String(i)).digest('hex'),
    ...extra,
  };
}

/** A valid log of n records as lines (no trailing empty line). */
export function logLines(n: number): string[] {
  const chain = new AuditChain();
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) lines.push(chain.appendLine(event(i)).line);
  return lines;
}
