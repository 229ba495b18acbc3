// JSON-RPC 2.0 as MCP's streamable HTTP transport carries it: one message or a batch per POST
// body, each a request (method + id), a notification (method, no id) or a response (id +
// result or error). A body that is not JSON-RPC at all is refused whole; a bad entry of a
// batch is refused alone (its own error answer), so the others are still checked one by one.
import { duplicateKeyMessage, firstDuplicateKey } from '../util/json-keys.ts';
import { JsonTooLargeError, parseJson } from '../util/json-size.ts';

export type JsonRpcId = string | number;

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export type JsonRpcMessage =
  | { kind: 'request'; id: JsonRpcId; method: string; params?: unknown; value: Record<string, unknown> }
  | { kind: 'notification'; method: string; params?: unknown; value: Record<string, unknown> }
  | { kind: 'response'; id: JsonRpcId | null; result?: unknown; error?: JsonRpcErrorObject; value: Record<string, unknown> }
  /** An entry that is not a valid JSON-RPC 2.0 message; `id` when one could be read, to answer it. */
  | { kind: 'invalid'; id: JsonRpcId | null; problem: string; value: unknown };

export interface ParsedJsonRpc {
  /** The body was an array (a batch), so the answer is one too. */
  batch: boolean;
  messages: JsonRpcMessage[];
}

/** Standard JSON-RPC codes, and scopekeeper's own in the implementation-defined range. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** The scope does not allow this call. */
  denied: -32010,
  /** The call needs a person's approval (a JustInTime AccessReview). */
  held: -32011,
  /** The answer carried data the scope's data.block does not allow out; it was not delivered. */
  blocked: -32012,
  /** The sidecar could not check or relay the answer. */
  unavailable: -32013,
} as const;

export interface JsonRpcLimits {
  /** Largest body accepted, in bytes (the sidecar's limit for MCP messages). */
  maxBytes: number;
  /** Most entries in one batch. */
  maxBatch: number;
  /** Longest method name. */
  maxMethod: number;
}

export const DEFAULT_JSONRPC_LIMITS: JsonRpcLimits = { maxBytes: 4 * 1024 * 1024, maxBatch: 64, maxMethod: 256 };

/** The whole body is refused: `status` is the HTTP status to answer with, `code` the JSON-RPC error code. */
export class JsonRpcBodyError extends Error {
  readonly code: number;
  readonly status: number;
  constructor(code: number, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is JsonRpcId => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** Reads a POST body; throws JsonRpcBodyError when it is too large, not UTF-8 JSON, or an empty or oversized batch. */
export function parseJsonRpc(body: Uint8Array | string, limits: JsonRpcLimits = DEFAULT_JSONRPC_LIMITS): ParsedJsonRpc {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > limits.maxBytes) {
    throw new JsonRpcBodyError(
      RPC.invalidRequest,
      413,
      `The JSON-RPC body is ${size} bytes; the sidecar accepts up to ${limits.maxBytes} bytes per MCP message. Send smaller arguments.`,
    );
  }
  let value: unknown;
  let text: string;
  try {
    text = typeof body === 'string' ? body : UTF8.decode(body);
    value = parseJson(text);
  } catch (e) {
    if (e instanceof JsonTooLargeError)
      throw new JsonRpcBodyError(RPC.invalidRequest, 413, `The JSON-RPC body is not read: ${e.message}. Send smaller arguments.`);
    throw new JsonRpcBodyError(RPC.parseError, 400, 'The body is not valid UTF-8 JSON; send a JSON-RPC 2.0 message or batch.');
  }
  // A tool name or arguments that an MCP server reads from a repeated key's other copy would
  // call what the scope did not allow.
  const repeated = firstDuplicateKey(text);
  if (repeated !== undefined) throw new JsonRpcBodyError(RPC.invalidRequest, 400, duplicateKeyMessage(repeated));
  if (!Array.isArray(value)) return { batch: false, messages: [classify(value, limits)] };
  if (value.length === 0) throw new JsonRpcBodyError(RPC.invalidRequest, 400, 'The JSON-RPC batch is empty; send at least one message.');
  if (value.length > limits.maxBatch) {
    throw new JsonRpcBodyError(
      RPC.invalidRequest,
      413,
      `The JSON-RPC batch has ${value.length} entries; the sidecar accepts up to ${limits.maxBatch}. Send them in several requests.`,
    );
  }
  const messages = value.map((v) => classify(v, limits));
  // Two requests with one id would make their answers indistinguishable (and the per-call
  // audit ambiguous): both are refused.
  const seen = new Map<string, number>();
  messages.forEach((m, i) => {
    if (m.kind !== 'request') return;
    const k = idKey(m.id);
    const first = seen.get(k);
    if (first === undefined) return void seen.set(k, i);
    for (const j of [first, i]) {
      const dup = messages[j] as Extract<JsonRpcMessage, { kind: 'request' }>;
      messages[j] = {
        kind: 'invalid',
        id: dup.id,
        problem: `the id ${JSON.stringify(dup.id)} is used by more than one request of the batch`,
        value: dup.value,
      };
    }
  });
  return { batch: true, messages };
}

function classify(v: unknown, limits: JsonRpcLimits): JsonRpcMessage {
  if (!isObject(v)) return { kind: 'invalid', id: null, problem: 'a JSON-RPC message must be an object', value: v };
  const id = 'id' in v ? v.id : undefined;
  const readableId = isId(id) ? id : null;
  const bad = (problem: string): JsonRpcMessage => ({ kind: 'invalid', id: readableId, problem, value: v });
  if (v.jsonrpc !== '2.0') return bad('"jsonrpc" must be "2.0"');
  if ('method' in v) {
    if (typeof v.method !== 'string' || v.method === '') return bad('"method" must be a non-empty string');
    if (v.method.length > limits.maxMethod) return bad(`"method" is longer than ${limits.maxMethod} characters`);
    if ('result' in v || 'error' in v) return bad('a message cannot carry both "method" and "result"/"error"');
    if ('params' in v && !isObject(v.params) && !Array.isArray(v.params)) return bad('"params" must be an object or an array');
    if (id === undefined) return { kind: 'notification', method: v.method, params: v.params, value: v };
    // MCP: a request id is a string or a number, never null.
    if (!isId(id)) return bad('"id" must be a string or a number');
    return { kind: 'request', id, method: v.method, params: v.params, value: v };
  }
  if ('result' in v === 'error' in v) return bad('a message needs "method", or exactly one of "result" and "error"');
  if (id !== null && !isId(id)) return bad('"id" must be a string or a number');
  if ('error' in v) {
    const e = v.error;
    if (!isObject(e) || typeof e.code !== 'number' || !Number.isInteger(e.code) || typeof e.message !== 'string')
      return bad('"error" needs an integer "code" and a string "message"');
    return {
      kind: 'response',
      id: id as JsonRpcId | null,
      error: { code: e.code, message: e.message, ...('data' in e ? { data: e.data } : {}) },
      value: v,
    };
  }
  return { kind: 'response', id: id as JsonRpcId | null, result: v.result, value: v };
}

/** A map key for an id: 1 and "1" are different ids. */
export function idKey(id: JsonRpcId | null): string {
  return id === null ? 'null' : typeof id === 'number' ? `n:${id}` : `s:${id}`;
}

export function rpcError(id: JsonRpcId | null, code: number, message: string, data?: unknown): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}
