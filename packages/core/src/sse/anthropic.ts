// Reads what audit and metrics need from an Anthropic Messages stream, event by event,
// without changing it: the model, token usage (message_start carries input and cache counts;
// message_delta carries cumulative output counts, so the last value wins), the stop reason,
// and an upstream `error` event (which can arrive after a 200).

import { sseEventType, type SseEvent } from './parser.ts';
import { JsonTooLargeError, parseJson } from '../util/json-size.ts';

export interface StreamUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface StreamFacts {
  model?: string;
  messageId?: string;
  usage: StreamUsage;
  stopReason?: string;
  /** Set when the stream carried an `error` event. */
  error?: { type: string; message: string };
  /** Set once message_stop was seen. */
  complete: boolean;
  /** Names of the tools the model invoked, in order of first use (see toolUseName). */
  toolsUsed: string[];
}

const TOOL_USE_TYPES = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);
/** At most this many distinct tool names are kept per response: the audit field stays bounded. */
export const MAX_TOOLS_USED = 64;

/**
 * The name under which a content block invokes a tool, or undefined when it invokes none.
 * An MCP connector call (mcp_tool_use) is named as the Agent SDK names MCP tools,
 * mcp__<server>__<tool>, so one glob in spec.tools covers both.
 */
export function toolUseName(block: unknown): string | undefined {
  if (typeof block !== 'object' || block === null) return undefined;
  const b = block as Record<string, unknown>;
  if (typeof b.type !== 'string' || !TOOL_USE_TYPES.has(b.type) || typeof b.name !== 'string') return undefined;
  if (b.type === 'mcp_tool_use' && typeof b.server_name === 'string') return `mcp__${b.server_name}__${b.name}`;
  return b.name;
}

function addTool(into: string[], name: string | undefined): void {
  if (name !== undefined && into.length < MAX_TOOLS_USED && !into.includes(name)) into.push(name);
}

/** The tools a whole (non-streamed) Messages response invoked. */
export function toolsUsedIn(message: unknown): string[] {
  const out: string[] = [];
  const content = typeof message === 'object' && message !== null ? (message as { content?: unknown }).content : undefined;
  if (Array.isArray(content)) for (const block of content) addTool(out, toolUseName(block));
  return out;
}

const USAGE_KEYS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

/** The token counts of a `usage` object the upstream sent, and nothing else of it (they become metric labels and audit fields). */
export function usageOf(u: unknown): StreamUsage {
  const out: StreamUsage = {};
  takeUsage(out, u);
  return out;
}

function takeUsage(target: StreamUsage, u: unknown): void {
  if (typeof u !== 'object' || u === null) return;
  const rec = u as Record<string, unknown>;
  for (const k of USAGE_KEYS) {
    const v = rec[k];
    if (typeof v === 'number' && Number.isFinite(v)) target[k] = v;
  }
}

/**
 * Observes the events of one Messages stream. Only message_start, message_delta,
 * message_stop, content_block_start and error events are parsed; everything else (the
 * frequent deltas) is skipped without JSON parsing.
 */
export class MessageStreamObserver {
  readonly facts: StreamFacts = { usage: {}, complete: false, toolsUsed: [] };

  observe(ev: SseEvent): void {
    if (ev.incomplete) return;
    // The type first: a delta's data is then never decoded (the parser decodes it on first read).
    const type = sseEventType(ev);
    if (
      type !== 'message_start' &&
      type !== 'message_delta' &&
      type !== 'message_stop' &&
      type !== 'error' &&
      type !== 'content_block_start'
    )
      return;
    const data = ev.data;
    if (data === undefined) return;
    let obj: unknown;
    try {
      obj = parseJson(data);
    } catch (e) {
      // An event too large to read ends the relay (it throws on), as the masker's would.
      if (e instanceof JsonTooLargeError) throw e;
      return;
    }
    if (typeof obj !== 'object' || obj === null) return;
    const rec = obj as Record<string, unknown>;
    const f = this.facts;
    switch (type) {
      case 'message_start': {
        const msg = rec.message as Record<string, unknown> | undefined;
        if (msg && typeof msg === 'object') {
          if (typeof msg.model === 'string') f.model = msg.model;
          if (typeof msg.id === 'string') f.messageId = msg.id;
          takeUsage(f.usage, msg.usage);
        }
        break;
      }
      case 'message_delta': {
        const delta = rec.delta as Record<string, unknown> | undefined;
        if (delta && typeof delta === 'object' && typeof delta.stop_reason === 'string') f.stopReason = delta.stop_reason;
        takeUsage(f.usage, rec.usage);
        break;
      }
      case 'message_stop':
        f.complete = true;
        break;
      case 'content_block_start':
        addTool(f.toolsUsed, toolUseName(rec.content_block));
        break;
      case 'error': {
        const err = rec.error as Record<string, unknown> | undefined;
        f.error = {
          type: err && typeof err.type === 'string' ? err.type : 'api_error',
          message: err && typeof err.message === 'string' ? err.message : '',
        };
        break;
      }
    }
  }
}
