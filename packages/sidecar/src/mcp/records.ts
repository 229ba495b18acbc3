// The audit records of an MCP exchange: one per JSON-RPC message, with its verdict and what its
// answer carried (masked, blocked, hidden), written through the exchange's `record`.
import { idKey, type McpEntry, type McpMessageOutcome } from '@scopekeeper/core';

export interface McpCallRecord {
  method: string;
  id?: string;
  tool?: string;
  argsSha256?: string;
  decision: 'allow' | 'deny' | 'approval-required' | 'error';
  reasons: string[];
  status: number;
  scope?: string;
  review?: string;
  masked?: Record<string, number>;
  blocked?: string;
  hidden?: number;
  approval?: string;
  error?: string;
  sessionId?: string;
  latencyMs: number;
}

export interface ExchangeEnd {
  status: number;
  latencyMs: number;
  sessionId: string | undefined;
  error?: string;
}

/** One audit record per JSON-RPC message of the exchange, with what its answer carried. */
export function recordEntries(
  x: { record(r: McpCallRecord): void },
  batch: { entries: McpEntry[]; approvals: Map<McpEntry, string>; outcomes: McpMessageOutcome[] },
  end: ExchangeEnd,
): void {
  const { entries, approvals, outcomes } = batch;
  const { status, latencyMs, sessionId, error } = end;
  const byId = new Map<string, McpMessageOutcome>();
  for (const o of outcomes) if (o.id !== undefined) byId.set(idKey(o.id), o);
  for (const e of entries) {
    const id = 'id' in e.message && e.message.id !== null ? e.message.id : undefined;
    const o = e.message.kind === 'request' && id !== undefined ? byId.get(idKey(id)) : undefined;
    const d = e.decision;
    const decision = e.verdict === 'forward' ? (status >= 500 ? 'error' : 'allow') : e.verdict === 'hold' ? 'approval-required' : 'deny';
    x.record({
      method: e.method,
      id: id === undefined ? undefined : String(id),
      tool: e.tool,
      argsSha256: e.argsSha256,
      decision,
      reasons: d ? d.reasons.map((r) => r.code) : e.verdict === 'invalid' ? ['McpInvalidMessage'] : ['Allowed'],
      status,
      scope: d?.scope,
      review: d?.review,
      masked: o && Object.keys(o.counts).length ? o.counts : undefined,
      blocked: o?.blocked,
      hidden: o?.hidden || undefined,
      approval: approvals.get(e),
      error: e.verdict === 'invalid' ? e.problem : error,
      sessionId,
      latencyMs,
    });
  }
}
