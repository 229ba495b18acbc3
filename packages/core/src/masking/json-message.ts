// Masking of a Messages API response (a body, or a streamed content_block_start / message_start):
// which fields carry data and are masked, and which identify, count, sign or encode and are never
// touched (a signature or an id that changed would break the client, and no detector is meant
// for them).

import { type Engine, type Tally } from './engine.ts';
import { J, isNumber, maskKeys, maskNumber, maskStringValues } from './json-values.ts';

/** Top-level fields of a Messages response that identify or count: never masked. */
const MESSAGE_KEPT = new Set(['id', 'type', 'model', 'role', 'usage', 'stop_reason', 'stop_sequence']);

/**
 * Masks a Messages API response: its content blocks (thinking blocks stay untouched) and every
 * other top-level field (stop_details, container, fields the API adds later) but the ones that
 * identify or count. Returns the response, replaced when it is a bare string or number.
 */
export function maskMessageObject(engine: Engine, msg: unknown, tally: Tally): unknown {
  // A body that is a bare string or number (a gateway's error text written as JSON) is data as a
  // whole: the SDKs hand it to the caller as the error's message, or as the result.
  if (typeof msg === 'string') return engine.maskString(msg, tally);
  if (isNumber(msg)) return maskNumber(engine, msg, tally);
  if (typeof msg !== 'object' || msg === null) return msg;
  const rec = msg as Record<string, unknown>;
  maskKeys(engine, rec, tally, MESSAGE_KEPT);
  for (const k of Object.keys(rec)) {
    if (MESSAGE_KEPT.has(k)) continue;
    const v = rec[k];
    if (k === 'content' && Array.isArray(v)) for (const block of v) maskContentBlock(engine, block, tally);
    else if (typeof v === 'string') rec[k] = engine.maskString(v, tally);
    else if (isNumber(v)) rec[k] = maskNumber(engine, v, tally);
    else if (typeof v === 'object' && v !== null) maskData(engine, v, tally);
  }
  return rec;
}

/** Blocks never touched: their signatures would break (and they are the model's own reasoning). */
const UNTOUCHED_BLOCKS = new Set(['thinking', 'redacted_thinking']);
/** Fields that identify or encode rather than carry data: never masked, wherever they are. */
const STRUCTURAL = new Set([
  'type',
  'id',
  'tool_use_id',
  'signature',
  'encrypted_content',
  'encrypted_index',
  'encrypted_stdout',
  'file_id',
  'media_type',
  'cache_control',
]);
/** Block-level fields that name things the client dispatches on. */
const BLOCK_NAMES = new Set(['name', 'server_name', 'caller']);

/**
 * One content block (also used for content_block_start events): every block type whose content
 * is text or data, known or not (text, tool uses, tool results of every kind, web search and
 * fetch results, code execution output, MCP results, …) has its string values masked, except
 * identifiers, signatures, encrypted payloads and base64 data. Thinking blocks are untouched.
 */
export function maskContentBlock(engine: Engine, block: unknown, tally: Tally): void {
  // (an array where a block belongs is not a block the API sends: its strings are masked all the same)
  if (typeof block !== 'object' || block === null) return;
  const b = block as Record<string, unknown>;
  if (UNTOUCHED_BLOCKS.has(b.type as string)) return;
  maskKeys(engine, b, tally, STRUCTURAL);
  for (const k of Object.keys(b)) {
    if (STRUCTURAL.has(k) || BLOCK_NAMES.has(k)) continue;
    const v = b[k];
    // a tool's input (tool_use, server_tool_use, mcp_tool_use, …) is the model's own data: every
    // string in it, whatever its key, and its keys too
    if (k === 'input') b[k] = maskStringValues(engine, v, tally);
    else if (typeof v === 'string') b[k] = engine.maskString(v, tally);
    else if (isNumber(v)) b[k] = maskNumber(engine, v, tally);
    else if (typeof v === 'object' && v !== null) maskData(engine, v, tally);
  }
}

/** Masks keys and string values below `root` in place, skipping structural fields and base64 payloads. */
function maskData(engine: Engine, root: object, tally: Tally): void {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (J.isRawJSON(node)) continue;
    // Stryker disable next-line ConditionalExpression,BlockStatement: an array read through Object.keys is the same walk: this branch only saves building index strings (docs/testing.md)
    if (Array.isArray(node)) {
      // Stryker disable next-line EqualityOperator: node[node.length] is undefined, which this loop leaves alone (docs/testing.md)
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'string') node[i] = engine.maskString(v, tally);
        else if (isNumber(v)) node[i] = maskNumber(engine, v, tally);
        else if (typeof v === 'object' && v !== null) stack.push(v);
      }
      continue;
    }
    const rec = node as Record<string, unknown>;
    maskKeys(engine, rec, tally, STRUCTURAL);
    // {type: "base64", data: …} (images, PDFs): bytes, not text
    const base64 = rec.type === 'base64';
    for (const k of Object.keys(rec)) {
      if (STRUCTURAL.has(k) || (base64 && k === 'data')) continue;
      const v = rec[k];
      if (typeof v === 'string') rec[k] = engine.maskString(v, tally);
      else if (isNumber(v)) rec[k] = maskNumber(engine, v, tally);
      else if (typeof v === 'object' && v !== null) stack.push(v);
    }
  }
}

export function maskCitation(engine: Engine, c: unknown, tally: Tally): void {
  if (typeof c === 'object' && c !== null && typeof (c as Record<string, unknown>).cited_text === 'string') {
    const r = c as Record<string, unknown>;
    r.cited_text = engine.maskString(r.cited_text as string, tally);
  }
}
