// Reads what audit and metrics need from an Anthropic Messages stream, event by event,
// without changing it: the model, token usage (message_start carries input and cache counts;
// message_delta carries cumulative output counts, so the last value wins), the stop reason,
// and an upstream `error` event (which can arrive after a 200).

import { sseEventType, type SseEvent } from './parser.ts';

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
}

const USAGE_KEYS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

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
 * message_stop and error events are parsed; everything else is skipped without JSON parsing.
 */
export class MessageStreamObserver {
  readonly facts: StreamFacts = { usage: {}, complete: false };

  observe(ev: SseEvent): void {
    if (ev.data === undefined || ev.incomplete) return;
    const type = sseEventType(ev);
    if (type !== 'message_start' && type !== 'message_delta' && type !== 'message_stop' && type !== 'error') return;
    let obj: unknown;
    try {
      obj = JSON.parse(ev.data);
    } catch {
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
