// The audit record of one request and the hash chain that makes the log tamper-evident.
//
// Each record carries `seq` (1, 2, 3, …), `prevHash` (the previous record's hash; 64 zeros for
// the first) and `hash` = sha256 hex of prevHash + the canonical JSON of the record without
// `hash`. The line written to a sink is the canonical JSON of the record with `hash`: exactly
// the text that was hashed plus the "hash" member. Changing, removing, inserting or
// reordering a line therefore breaks the chain at that line (removing the LAST lines is only
// visible against a known head: see `verifyChain`'s `expectHead`).
//
// Secrets never enter a record: only the fields of AuditEvent are copied (an allow-list), so
// a caller that passes headers or bodies by mistake does not leak them; the request body is
// represented by its sha256 alone.
import { hash as digest } from 'node:crypto';

export type AuditDecision = 'allow' | 'deny' | 'approval-required' | 'error';

export interface AuditUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface AuditEvent {
  /** ISO 8601 time the request arrived. */
  time: string;
  requestId: string;
  /** The SDK's `x-claude-code-session-id`. */
  sessionId?: string;
  subject?: string;
  issuer?: string;
  namespace?: string;
  pod?: string;
  scope?: string;
  review?: string;
  route: string;
  method: string;
  path: string;
  model?: string;
  /** Tools the request offered the model (the request's capabilities). */
  tools?: string[];
  /** Tools the model actually invoked in the response (tool_use, server_tool_use, mcp_tool_use), or the MCP tool called. */
  toolsUsed?: string[];
  decision: AuditDecision;
  reasons: string[];
  auditOnly?: boolean;
  status: number;
  /** Masked values by category. */
  masked?: Record<string, number>;
  /** The block category that ended the response, if any. */
  blocked?: string;
  usage?: AuditUsage;
  latencyMs: number;
  upstreamLatencyMs?: number;
  /** sha256 hex of the request body as received (the body itself is never recorded). */
  bodySha256?: string;
  error?: string;
  /** `<namespace>/<accessreview>` of a hold. */
  approval?: string;
  /** MCP endpoints: one record per JSON-RPC message. The server's `Mcp-Session-Id` (beside the SDK's sessionId). */
  mcpSessionId?: string;
  /** The JSON-RPC method, `(response)` for the client's answer to the server, `(invalid)`. */
  mcpMethod?: string;
  /** The JSON-RPC id, as text. */
  mcpId?: string;
  /** tools/call: the tool as policy names it, mcp__<endpoint>__<tool>. */
  mcpTool?: string;
  /** tools/call: sha256 hex of the arguments (canonical JSON); the arguments are never recorded. */
  mcpArgsSha256?: string;
  /** List entries (tools, resources, prompts) hidden from the answer because the scope does not allow them. */
  mcpHidden?: number;
}

export interface ChainedRecord extends AuditEvent {
  seq: number;
  prevHash: string;
  hash: string;
}

/** The last record of a chain: what the next record links to. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
export const HASH_PATTERN = /^[0-9a-f]{64}$/;

const STRING_FIELDS = [
  'time',
  'requestId',
  'sessionId',
  'subject',
  'issuer',
  'namespace',
  'pod',
  'scope',
  'review',
  'route',
  'method',
  'path',
  'model',
  'decision',
  'blocked',
  'bodySha256',
  'error',
  'approval',
  'mcpSessionId',
  'mcpMethod',
  'mcpId',
  'mcpTool',
  'mcpArgsSha256',
] as const;
const NUMBER_FIELDS = ['status', 'latencyMs', 'upstreamLatencyMs', 'mcpHidden'] as const;
const USAGE_FIELDS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The documented fields of an event and nothing else (unknown keys, e.g. headers passed by
 * mistake, are dropped; absent values and non-finite numbers are left out).
 */
/**
 * Longest text kept of one field, and most entries kept of a list: most fields come from the
 * request (a model name, tool names, headers, a token's sub), so without a cap a caller grows
 * every sink's records at will. A cut value ends with "…"; a cut list with "… (N more)".
 */
export const AUDIT_FIELD_MAX = 512;
export const AUDIT_LIST_MAX = 128;

function capText(v: unknown): string {
  const s = String(v);
  return s.length > AUDIT_FIELD_MAX ? `${s.slice(0, AUDIT_FIELD_MAX - 1)}…` : s;
}

function capList(list: readonly unknown[]): string[] {
  const out = list.slice(0, AUDIT_LIST_MAX).map(capText);
  if (list.length > AUDIT_LIST_MAX) out[AUDIT_LIST_MAX - 1] = `… (${list.length - AUDIT_LIST_MAX + 1} more)`;
  return out;
}

export function auditFields(e: AuditEvent): AuditEvent {
  const out: Record<string, unknown> = {};
  for (const k of STRING_FIELDS) if (e[k] !== undefined && e[k] !== null) out[k] = capText(e[k]);
  for (const k of NUMBER_FIELDS) if (finite(e[k])) out[k] = e[k];
  out.reasons = Array.isArray(e.reasons) ? capList(e.reasons) : [];
  if (Array.isArray(e.tools)) out.tools = capList(e.tools);
  if (Array.isArray(e.toolsUsed)) out.toolsUsed = capList(e.toolsUsed);
  if (typeof e.auditOnly === 'boolean') out.auditOnly = e.auditOnly;
  if (e.masked && typeof e.masked === 'object') {
    const masked: Record<string, number> = Object.create(null); // a category named __proto__ stays a plain key
    for (const [k, v] of Object.entries(e.masked).slice(0, AUDIT_LIST_MAX)) if (finite(v)) masked[capText(k)] = v;
    out.masked = masked;
  }
  if (e.usage && typeof e.usage === 'object') {
    const usage: Record<string, number> = {};
    for (const k of USAGE_FIELDS) if (finite(e.usage[k])) usage[k] = e.usage[k];
    out.usage = usage;
  }
  return out as unknown as AuditEvent;
}

/** sha256 hex of prevHash + the canonical text of a record without its `hash`. */
export function chainHash(prevHash: string, canonicalBody: string): string {
  return digest('sha256', prevHash + canonicalBody, 'hex');
}

// The record's top-level keys in canonical (sorted) order, each with its `"key":` prefix, so a
// record is serialised in one pass without sorting. A test checks that the result is exactly
// canonicalJson of the record.
type RecordKey = keyof ChainedRecord;
const RECORD_KEYS: RecordKey[] = [
  ...STRING_FIELDS,
  ...NUMBER_FIELDS,
  'reasons',
  'tools',
  'toolsUsed',
  'auditOnly',
  'masked',
  'usage',
  'seq',
  'prevHash',
  'hash',
];
const SORTED_KEYS = RECORD_KEYS.slice().sort();
const BEFORE_HASH = SORTED_KEYS.filter((k) => k < 'hash').map((k) => [k, JSON.stringify(k) + ':'] as const);
const AFTER_HASH = SORTED_KEYS.filter((k) => k > 'hash').map((k) => [k, JSON.stringify(k) + ':'] as const);
const USAGE_SORTED = USAGE_FIELDS.slice()
  .sort()
  .map((k) => [k, JSON.stringify(k) + ':'] as const);

function serializeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return JSON.stringify(v); // arrays of strings: JSON.stringify is canonical
  // masked or usage: numbers under sorted keys
  const obj = v as Record<string, number>;
  let out = '{';
  const keys = Object.keys(obj).sort();
  for (let i = 0; i < keys.length; i++) out += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + String(obj[keys[i]!]);
  return out + '}';
}

function serializeMembers(rec: Record<string, unknown>, keys: readonly (readonly [string, string])[]): string {
  let out = '';
  for (const [k, prefix] of keys) {
    const v = rec[k];
    if (v === undefined) continue;
    out += (out ? ',' : '') + prefix + (k === 'usage' ? serializeUsage(v as Record<string, number>) : serializeValue(v));
  }
  return out;
}

function serializeUsage(u: Record<string, number>): string {
  let out = '';
  for (const [k, prefix] of USAGE_SORTED) if (u[k] !== undefined) out += (out ? ',' : '') + prefix + String(u[k]);
  return '{' + out + '}';
}

/** A record and the exact line (no newline) to write for it. */
export interface ChainedLine {
  record: ChainedRecord;
  line: string;
}

export class AuditChain {
  #prevHash: string;
  #seq: number;

  /** Starts a new chain (genesis), or continues one after the record `seq` whose hash is `prevHash`. */
  constructor(prevHash: string = GENESIS_HASH, seq = 0) {
    if (!HASH_PATTERN.test(prevHash))
      throw new Error(`AuditChain: prevHash must be 64 lowercase hex characters, got ${JSON.stringify(prevHash)}`);
    if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`AuditChain: seq must be a non-negative integer, got ${seq}`);
    this.#prevHash = prevHash;
    this.#seq = seq;
  }

  get head(): ChainHead {
    return { seq: this.#seq, hash: this.#prevHash };
  }

  append(e: AuditEvent): ChainedRecord {
    return this.appendLine(e).record;
  }

  /** Appends and returns the record with its line; the fields are serialised once. */
  appendLine(e: AuditEvent): ChainedLine {
    const seq = this.#seq + 1;
    const prevHash = this.#prevHash;
    const record = auditFields(e) as ChainedRecord;
    record.seq = seq;
    record.prevHash = prevHash;
    const rec = record as unknown as Record<string, unknown>;
    const before = serializeMembers(rec, BEFORE_HASH);
    const after = serializeMembers(rec, AFTER_HASH);
    const sep = before && after ? ',' : '';
    const hash = chainHash(prevHash, '{' + before + sep + after + '}');
    record.hash = hash;
    const line = '{' + before + (before ? ',' : '') + '"hash":"' + hash + '"' + (after ? ',' : '') + after + '}';
    this.#seq = seq;
    this.#prevHash = hash;
    return { record, line };
  }
}
