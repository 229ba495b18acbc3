// Thinking in a masked answer that the request did not ask for. The masker leaves thinking text
// and signatures byte for byte (a changed block breaks its signature, and the SDKs send thinking
// back on the next turn), so with a scope that masks, thinking passes only where the request
// enabled it, which the scope can forbid. An answer that brings it unasked (a model that thinks by
// default, an upstream that is not the API) would carry text no detector looked at: refused.
// (The masker would be the place for this rule: it parses every event already, and knows which
// blocks it leaves alone, as BLOCKS and DELTAS below repeat. It sits here until the masker's
// mutation run can be afforded; here it parses again the few events that could hold thinking.)
import { parseJson, type SseEvent } from '@scopekeeper/core';

const BLOCKS = new Set(['thinking', 'redacted_thinking']);
const DELTAS = new Set(['thinking_delta', 'signature_delta']);
/** What the data of such an event must contain: the word itself, or a \u escape that could write it. */
const SPELLS = /thinking|signature|\\u/;

/** Why such an answer is refused, as the caller and the record are told. */
export const UNINVITED_THINKING = 'it holds thinking the request did not ask for, which scopekeeper does not mask';

function typeOf(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? (v as { type?: unknown }).type : undefined;
}

function hasThinkingBlock(content: unknown): boolean {
  return Array.isArray(content) && content.some((b) => BLOCKS.has(typeOf(b) as string));
}

/** A whole Messages answer (parsed) with a thinking or redacted_thinking block. */
export function messageHasThinking(message: unknown): boolean {
  return typeof message === 'object' && message !== null && hasThinkingBlock((message as { content?: unknown }).content);
}

/**
 * A stream event that starts or continues thinking: in message_start's content, as a
 * content_block_start's block, or as a thinking or signature delta. Judged from the data, as the
 * SDKs dispatch, whatever the event's name says. Only events whose data could spell one of these
 * types are parsed: the word itself, or a \u escape that could write it.
 */
export function eventHasThinking(ev: SseEvent): boolean {
  const data = ev.data;
  if (data === undefined || !SPELLS.test(data)) return false;
  let obj: unknown;
  try {
    obj = parseJson(data);
  } catch {
    return false; // not JSON: the masker decides what happens to it
  }
  if (typeof obj !== 'object' || obj === null) return false;
  const rec = obj as { message?: unknown; content_block?: unknown; delta?: unknown };
  return messageHasThinking(rec.message) || BLOCKS.has(typeOf(rec.content_block) as string) || DELTAS.has(typeOf(rec.delta) as string);
}
