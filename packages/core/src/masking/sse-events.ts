// What in each event of an Anthropic Messages SSE stream is data, and how an event is read and
// written back: the streamed masker (sse-masker.ts) and the content blocks (sse-content.ts) share
// these tables so that every event type is masked by one rule wherever it is handled.
// Every field of a block event (content_block_start, _delta, _stop) is masked but its type, its
// index and the block or delta it carries, and so is every field of a delta but its type and
// payload (masked by their own rules); the other events (message_*, ping, error, unknown types)
// have every string masked but their type and what identifies or counts. Thinking text,
// signatures and comments are untouched.
// An event is what a client would read it as (typeOf: the data's type, else the event's name)
// and a delta belongs to the block a client would put it in (blockIndex); events that clients
// could read two ways are dropped.

import { readBlock, sseEventType, type SseEvent } from '../sse/parser.ts';
import { formatSseEvent } from '../sse/serialize.ts';
import { type Engine, type Tally } from './engine.ts';
import { maskContentBlock } from './json-message.ts';
import { maskKeys } from './json-values.ts';
import { JsonTooLargeError, parseJson } from '../util/json-size.ts';
import { firstDuplicateKey } from '../util/json-keys.ts';

/**
 * JSON.parse, or undefined for text that is not JSON. An event too large to parse throws
 * (JsonTooLargeError): the relay then ends the stream with an error event, as for any failure of
 * the masker, rather than pass on what it could not check.
 */
export function parseOrUndefined(data: string): unknown {
  try {
    return parseJson(data);
  } catch (e) {
    if (e instanceof JsonTooLargeError) throw e;
    // not JSON: undefined
  }
}

function sniffType(data: string): string | undefined {
  // data that is not JSON (yet: an unterminated event): {"type":"…"} comes first in the API's JSON
  const m = /^\s*\{\s*"type"\s*:\s*"([a-z_]+)"/.exec(data);
  return m === null ? undefined : m[1];
}

/**
 * Masks every string below `value` except structural fields (type, id, signatures, …: json.ts
 * maskContentBlock's rules for a block's nested data, whatever `value`'s own type says); returns
 * the new value (a string is replaced).
 */
export function maskValue(engine: Engine, value: unknown, tally: Tally): unknown {
  const box = { value };
  maskContentBlock(engine, box, tally);
  return box.value;
}

/** Masks every key of `rec` (maskKeys) and every field but the ones in `keep` (maskValue). */
export function maskFields(engine: Engine, rec: Record<string, unknown>, keep: ReadonlySet<string>, tally: Tally): void {
  maskKeys(engine, rec, tally, keep);
  for (const k of Object.keys(rec)) if (!keep.has(k)) rec[k] = maskValue(engine, rec[k], tally);
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields of an event that are never masked: its type. */
export const KEEP_TYPE: ReadonlySet<string> = new Set(['type']);
/** message_start: the event's own fields (the message is masked on its own). */
export const KEEP_MESSAGE_START: ReadonlySet<string> = new Set(['type', 'message']);
/** message_start.message: what identifies or counts (content is masked block by block). */
export const KEEP_MESSAGE: ReadonlySet<string> = new Set([
  'id',
  'type',
  'model',
  'role',
  'usage',
  'stop_reason',
  'stop_sequence',
  'content',
]);
/** message_delta: the event's own fields (its delta is masked on its own; usage counts). */
export const KEEP_MESSAGE_DELTA: ReadonlySet<string> = new Set(['type', 'usage', 'delta']);
/** message_delta.delta: the stop reason (an enum the client dispatches on) and the caller's own stop sequence, as in a JSON answer. */
export const KEEP_DELTA: ReadonlySet<string> = new Set(['type', 'stop_reason', 'stop_sequence']);

/**
 * Block events: what a client dispatches on, and the block or delta the event carries (masked by
 * its own rules). Every other field is masked: the API sends none, but the SDKs hand whatever an
 * event holds to the caller's event listeners.
 */
export const KEEP_BLOCK_START: ReadonlySet<string> = new Set(['type', 'index', 'content_block']);
export const KEEP_BLOCK_DELTA: ReadonlySet<string> = new Set(['type', 'index', 'delta']);
export const KEEP_BLOCK_STOP: ReadonlySet<string> = new Set(['type', 'index']);
/** text_delta: its text goes through the block's text stream. */
export const KEEP_TEXT_DELTA: ReadonlySet<string> = new Set(['type', 'text']);
/**
 * The deltas whose payload is not masked field by field, by type: the other fields beside it are.
 * A JSON delta's text goes through the block's JSON stream; thinking and signatures are never
 * altered (the signature covers the thinking, and the model's reasoning is its own), but the
 * signature covers no field beside them. The other delta types (citations_delta, unknown ones)
 * have every string masked but their type.
 */
export const DELTA_PAYLOAD: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['input_json_delta', new Set(['type', 'partial_json'])],
  ['thinking_delta', new Set(['type', 'thinking'])],
  ['signature_delta', new Set(['type', 'signature'])],
]);

/** An event whose name and data's type differ: no client reads it as the API meant it (dropped). */
export const CONFLICT = '(name and type differ)';

/**
 * What an event is, as a client reads it. The TypeScript SDK passes on the data of every event
 * not named `ping` or `error` and goes by the data's `type` (JSON.parse: the last one, if written
 * twice, wherever it stands); the Python SDK goes by the event's name. So the type is the data's,
 * else the name's; where both are there and differ the event is CONFLICT. The API always sends
 * the two alike.
 */
export function typeOf(ev: SseEvent, parsed: unknown): string | undefined {
  const name = sseEventType(ev);
  const named = name === 'message' ? undefined : name;
  // Stryker disable next-line StringLiteral: no data sniffs no type, whatever text stands in for it
  const dataType = typeof parsed === 'object' && parsed !== null ? (parsed as { type?: unknown }).type : sniffType(ev.data ?? '');
  if (typeof dataType !== 'string') return named;
  return named === undefined || named === dataType ? dataType : CONFLICT;
}

/** A complete text_delta event, parsed. */
export interface TextDelta {
  ev: SseEvent;
  obj: Record<string, unknown>;
  delta: Record<string, unknown>;
  index: number;
  text: string;
  /** Set by text(): a field beside the text was masked, so the event's own bytes may not be sent. */
  extras?: boolean;
  /** Read by apiTextDelta: the event holds no field but its type, index and text, so there is none beside the text to mask. */
  bare?: boolean;
}

const API_DELTA_HEAD = '{"type":"content_block_delta","index":';
const API_TEXT_HEAD = ',"delta":{"type":"text_delta","text":"';
const API_DELTA_TAIL = '"}}';

/**
 * A text delta written as the API writes each one (`{"type":"content_block_delta","index":0,
 * "delta":{"type":"text_delta","text":"…"}}`, compact, under its own name or none), read without
 * JSON.parse; undefined for any other event, which emit() parses. Most events of a stream are
 * such deltas, and parsing each (then serializing it again to prove it repeats no key,
 * lastKeysOnly) was half of what the masker cost. A text that matches this template byte for
 * byte has no key repeated and no field beside the text, and the text is the string JSON.parse
 * would give: the characters as they are when none needs an escape, else the string literal
 * parsed on its own (which fails, and so leaves the event to emit(), if a quote ends it early).
 */
export function apiTextDelta(ev: SseEvent): TextDelta | undefined {
  if (ev.incomplete || (ev.event !== undefined && ev.event !== 'content_block_delta')) return undefined;
  const data = ev.data;
  if (data === undefined || !data.startsWith(API_DELTA_HEAD) || !data.endsWith(API_DELTA_TAIL)) return undefined;
  const first = API_DELTA_HEAD.length;
  let i = first;
  let index = 0;
  // at most 9 digits, no leading zero: a safe integer, written as JSON writes it
  for (let c = data.charCodeAt(i); c >= 0x30 && c <= 0x39 && i - first < 9; c = data.charCodeAt(++i)) index = index * 10 + c - 0x30;
  if (i === first || (i - first > 1 && data.charCodeAt(first) === 0x30) || !data.startsWith(API_TEXT_HEAD, i)) return undefined;
  const from = i + API_TEXT_HEAD.length;
  const to = data.length - API_DELTA_TAIL.length;
  if (to < from) return undefined;
  // Stryker disable next-line ConditionalExpression: the literal parsed gives the same text; the scan only saves the parse
  const text = needsEscape(data, from, to) ? stringLiteral(data.slice(from - 1, to + 1)) : data.slice(from, to);
  if (text === undefined) return undefined;
  const delta = { type: 'text_delta', text };
  return { ev, obj: { type: 'content_block_delta', index, delta }, delta, index, text, bare: true };
}

/** A quote, a backslash or a control character between `from` and `to`: the text is not its characters as they stand. */
// (true where it need not be only makes apiTextDelta parse the literal, which gives the same text)
function needsEscape(data: string, from: number, to: number): boolean {
  // Stryker disable next-line EqualityOperator,UpdateOperator: a walk past either end meets a quote of the template: true
  for (let j = from; j < to; j++) {
    const c = data.charCodeAt(j);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: true for more characters parses more literals
    if (c === 0x22 || c === 0x5c || c < 0x20) return true;
  }
  // Stryker disable next-line BooleanLiteral: true parses the literal
  return false;
}

/** The string a JSON string literal (a text between quotes) stands for; undefined when `literal` is not exactly one. */
function stringLiteral(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    // a quote ends the text early, or an escape JSON does not know: not the API's delta
  }
}

export function textDeltaOf(ev: SseEvent, parsed: unknown): TextDelta | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const obj = parsed as Record<string, unknown>;
  const delta = obj.delta as Record<string, unknown> | null | undefined;
  if (delta?.type !== 'text_delta' || typeof delta.text !== 'string') return undefined;
  const index = blockIndex(obj);
  // Stryker disable next-line ConditionalExpression: event() drops such a delta too
  if (index === undefined) return undefined;
  return { ev, obj, delta, index, text: delta.text };
}

/**
 * A delta's block index, when it is one a client can only read one way: a non-negative integer.
 * The TypeScript SDK finds a delta's block with `content.at(index)`, which reads "0", 0.5, null,
 * true or -1 as some block too; the masker would give each of those a stream of its own, so a
 * value split between `0` and `"0"` would reach the client whole, never seen whole here. The API
 * sends none of them: such a delta is dropped (docs/SECURITY.md).
 */
export function blockIndex(obj: Record<string, unknown>): number | undefined {
  const i = obj.index;
  return Number.isSafeInteger(i) && (i as number) >= 0 ? (i as number) : undefined;
}

/**
 * The event as the masker reads it: itself when its data names each key once per object; else
 * rebuilt from `parsed`, its data parsed, which holds only the last copy of a repeated key. An
 * event that comes out unchanged goes byte for byte, and the SDKs read the last copy as
 * JSON.parse does, but a client that keeps the first would read a value nobody checked; a whole
 * JSON answer is serialized from the checked tree for the same reason (json-body.ts).
 * Data the API writes compactly is one JSON.stringify away from itself, which proves it has no
 * repeat (a serialization never repeats a key); other data is scanned for one.
 */
export function lastKeysOnly(ev: SseEvent, parsed: unknown): SseEvent {
  const data = ev.data!;
  const compact = JSON.stringify(parsed);
  // Stryker disable next-line ConditionalExpression: the comparison only saves the scan, which gives the same answer
  if (compact === data || firstDuplicateKey(data, { caseFold: false }) === undefined) return ev;
  // (an unterminated event stays so: without its blank line, no client dispatches it)
  const text = formatSseEvent({ event: ev.event, id: ev.id, data: compact });
  return readBlock(ev.incomplete ? text.slice(0, -1) : text, ev.incomplete);
}

export function reserialize(ev: SseEvent, obj: unknown): Buffer {
  // keep a "\n" that completed the previous block's "\r\n" (split across chunks)
  const lead = ev.raw[0] === 0x0a ? '\n' : '';
  return Buffer.from(lead + formatSseEvent({ event: ev.event, id: ev.id, data: JSON.stringify(obj) }));
}

/**
 * `value`, the event's data, masked since the tally counted `before` matches: the event's own
 * bytes when nothing was masked, else re-serialized; nothing after a block match.
 */
export function send(tally: Tally, ev: SseEvent, value: unknown, before: number, parts: Buffer[]): void {
  if (tally.matches === before) parts.push(ev.raw);
  else if (tally.blocked === undefined) parts.push(reserialize(ev, value));
}
