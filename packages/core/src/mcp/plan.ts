// One POST to an MCP endpoint, checked entry by entry: which messages go to the server, which
// are refused (and with which JSON-RPC error), which are held for a person's approval. The
// decision itself is policy's decide() on route 'mcp', passed in as `decideCall`.
import type { Decision, McpCall } from '../policy/decision.ts';
import { mcpToolName } from '../policy/tools.ts';
import { parsePreservingNumbers } from '../masking/json-values.ts';
import { argumentsHash, inspectMcpMessage } from './inspect.ts';
import { RPC, rpcError, type JsonRpcId, type JsonRpcMessage, type ParsedJsonRpc } from './jsonrpc.ts';

export interface McpEntry {
  message: JsonRpcMessage;
  /** The JSON-RPC method ('(response)' for the client's answers to the server, '(invalid)' for a bad entry). */
  method: string;
  /** For tools/call: the policy name, mcp__<endpoint>__<tool>. */
  tool?: string;
  /** For tools/call: sha256 of the arguments (the arguments never reach the audit). */
  argsSha256?: string;
  call?: McpCall;
  decision?: Decision;
  verdict: 'forward' | 'deny' | 'hold' | 'invalid';
  /** Why an entry is invalid. */
  problem?: string;
}

export function planMcpPost(parsed: ParsedJsonRpc, endpoint: string, decideCall: (call: McpCall) => Decision): McpEntry[] {
  return parsed.messages.map((message): McpEntry => {
    if (message.kind === 'invalid') return { message, method: '(invalid)', verdict: 'invalid', problem: message.problem };
    if (message.kind === 'response') return { message, method: '(response)', verdict: 'forward' };
    const entry: McpEntry = { message, method: message.method, verdict: 'forward' };
    const inspected = inspectMcpMessage(message);
    if ('problem' in inspected) return { ...entry, verdict: 'invalid', problem: inspected.problem };
    entry.call = inspected.call;
    if (inspected.call.kind === 'tool') {
      entry.tool = mcpToolName(endpoint, inspected.call.tool);
      entry.argsSha256 = argumentsHash(message);
    }
    entry.decision = decideCall(inspected.call);
    entry.verdict = entry.decision.effect === 'allow' ? 'forward' : entry.decision.effect === 'deny' ? 'deny' : 'hold';
    return entry;
  });
}

function idOf(m: JsonRpcMessage): JsonRpcId | null | undefined {
  return m.kind === 'request' || m.kind === 'response' || m.kind === 'invalid' ? m.id : undefined;
}

/**
 * The error we answer a refused entry with; undefined for a notification (JSON-RPC never
 * answers one). `message` overrides the decision's sentence (a hold names its review).
 */
export function refusalFor(entry: McpEntry, override?: { message?: string; approval?: string }): Record<string, unknown> | undefined {
  const m = entry.message;
  if (m.kind === 'notification') return undefined;
  if (entry.verdict === 'invalid') {
    const code = m.kind === 'invalid' ? RPC.invalidRequest : RPC.invalidParams;
    return rpcError(
      idOf(m) ?? null,
      code,
      `Invalid ${code === RPC.invalidRequest ? 'JSON-RPC message' : `params of ${entry.method}`}: ${entry.problem}; fix the message and send it again.`,
    );
  }
  const d = entry.decision!;
  const data: Record<string, unknown> = { scope: d.scope, rule: d.reasons[0]?.rule, reasons: d.reasons.map((r) => r.code) };
  if (override?.approval !== undefined) data.approval = override.approval;
  return rpcError(idOf(m) ?? null, entry.verdict === 'hold' ? RPC.held : RPC.denied, override?.message ?? d.message, data);
}

/**
 * The body to send to the server: the original bytes when every entry goes, the forwarded
 * entries alone (numbers kept exactly as sent) when some were refused, undefined when none go.
 */
export function forwardBody(body: Buffer, parsed: ParsedJsonRpc, entries: readonly McpEntry[]): Buffer | undefined {
  const going = entries.filter((e) => e.verdict === 'forward');
  if (going.length === 0) return undefined;
  if (going.length === entries.length) return body;
  const all = parsePreservingNumbers(body.toString('utf8')) as unknown[];
  const kept = all.filter((_, i) => entries[i]!.verdict === 'forward');
  return Buffer.from(JSON.stringify(parsed.batch ? kept : kept[0]), 'utf8');
}
