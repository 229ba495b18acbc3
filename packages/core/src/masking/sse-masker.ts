// Masks an Anthropic Messages SSE stream on the fly.
//
// Per content block index: text_delta.text goes through a TextStream, input_json_delta
// .partial_json through a JsonStream. A delta event is re-emitted with the text that is final
// now (held-back text rides along with a later delta of the same block; an event left with
// nothing to say is dropped); at content_block_stop a last delta carries the remainder, then
// the stop event. Consecutive text deltas of one block within one chunk are masked as one text
// (a detector pass costs the same whatever the text's length): the leading ones that come out
// unchanged go byte for byte, the rest of the output rides with the last of them
// (docs/masking.md). Every other field of a block event (content_block_start, _delta, _stop) is
// masked but its type and index, and so is every field of a delta but its type and payload; the
// other events (message_*, ping, error, unknown types) have every string masked but their type
// and what identifies or counts. Thinking text, signatures and comments are untouched.
// Whatever comes out unchanged passes through byte for byte. Data
// JSON.parse rejects is dropped (but a ping's), as are texts that are not strings. A
// block-category match ends the stream with an Anthropic `error` event.
// An event is what a client would read it as (typeOf: the data's type, else the event's name)
// and a delta belongs to the block a client would put it in (blockIndex); events that clients
// could read two ways are dropped.

import { sseErrorEvent } from '../anthropic/errors.ts';
import { SseParser, sseEventType, type SseEvent } from '../sse/parser.ts';
import { formatSseEvent } from '../sse/serialize.ts';
import { EMPTY_COUNTS, TextStream, newTally, type Engine, type Tally } from './engine.ts';
import { JsonStream, maskContentBlock, maskKeys } from './json.ts';
import { JsonTooLargeError, parseJson } from '../util/json-size.ts';

const EMPTY = Buffer.alloc(0);

export interface SseMasker {
  /** Bytes that can be sent now (possibly empty). Takes ownership of `chunk`. */
  push(chunk: Buffer): Buffer;
  /** The upstream stream ended: the remaining bytes. */
  end(): Buffer;
  /** Masked values by category so far (read-only). */
  readonly counts: Readonly<Record<string, number>>;
  /** Set once a block category matched; the stream has been ended with an error event. */
  readonly blocked: string | undefined;
  /** Characters currently held back across all blocks (for tests and metrics). */
  readonly held: number;
  /** Bytes of an event still arriving, held until its end (see SseParser: past its limit push() throws). */
  readonly pendingBytes: number;
}

/** The message of the error a blocked response ends with (also used for JSON responses). */
export function maskingBlockedMessage(category: string): string {
  return (
    `scopekeeper stopped this response: it contained data of category "${category}", which this ` +
    `scope's data.block does not allow to reach the caller. The content was not delivered. If this ` +
    `data must reach the agent, ask the scope's reviewers to move "${category}" from data.block to data.mask.`
  );
}

type BlockState = { kind: 'text'; s: TextStream } | { kind: 'json'; s: JsonStream } | { kind: 'other' };

/**
 * JSON.parse, or undefined for text that is not JSON. An event too large to parse throws
 * (JsonTooLargeError): the relay then ends the stream with an error event, as for any failure of
 * the masker, rather than pass on what it could not check.
 */
function parseOrUndefined(data: string): unknown {
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
function maskValue(engine: Engine, value: unknown, tally: Tally): unknown {
  const box = { value };
  maskContentBlock(engine, box, tally);
  return box.value;
}

/** Masks every key of `rec` (maskKeys) and every field but the ones in `keep` (maskValue). */
function maskFields(engine: Engine, rec: Record<string, unknown>, keep: ReadonlySet<string>, tally: Tally): void {
  maskKeys(engine, rec, tally, keep);
  for (const k of Object.keys(rec)) if (!keep.has(k)) rec[k] = maskValue(engine, rec[k], tally);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields of an event that are never masked: its type. */
const KEEP_TYPE: ReadonlySet<string> = new Set(['type']);
/** message_start: the event's own fields (the message is masked on its own). */
const KEEP_MESSAGE_START: ReadonlySet<string> = new Set(['type', 'message']);
/** message_start.message: what identifies or counts (content is masked block by block). */
const KEEP_MESSAGE: ReadonlySet<string> = new Set(['id', 'type', 'model', 'role', 'usage', 'stop_reason', 'stop_sequence', 'content']);
/** message_delta: the event's own fields (its delta is masked on its own; usage counts). */
const KEEP_MESSAGE_DELTA: ReadonlySet<string> = new Set(['type', 'usage', 'delta']);
/** message_delta.delta: the stop reason (an enum the client dispatches on) and the caller's own stop sequence, as in a JSON answer. */
const KEEP_DELTA: ReadonlySet<string> = new Set(['type', 'stop_reason', 'stop_sequence']);

/**
 * Block events: what a client dispatches on, and the block or delta the event carries (masked by
 * its own rules). Every other field is masked: the API sends none, but the SDKs hand whatever an
 * event holds to the caller's event listeners.
 */
const KEEP_BLOCK_START: ReadonlySet<string> = new Set(['type', 'index', 'content_block']);
const KEEP_BLOCK_DELTA: ReadonlySet<string> = new Set(['type', 'index', 'delta']);
const KEEP_BLOCK_STOP: ReadonlySet<string> = new Set(['type', 'index']);
/** text_delta: its text goes through the block's text stream. */
const KEEP_TEXT_DELTA: ReadonlySet<string> = new Set(['type', 'text']);
/**
 * The deltas whose payload is not masked field by field, by type: the other fields beside it are.
 * A JSON delta's text goes through the block's JSON stream; thinking and signatures are never
 * altered (the signature covers the thinking, and the model's reasoning is its own), but the
 * signature covers no field beside them. The other delta types (citations_delta, unknown ones)
 * have every string masked but their type.
 */
const DELTA_PAYLOAD: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['input_json_delta', new Set(['type', 'partial_json'])],
  ['thinking_delta', new Set(['type', 'thinking'])],
  ['signature_delta', new Set(['type', 'signature'])],
]);

/** An event whose name and data's type differ: no client reads it as the API meant it (dropped). */
const CONFLICT = '(name and type differ)';

/**
 * What an event is, as a client reads it. The TypeScript SDK passes on the data of every event
 * not named `ping` or `error` and goes by the data's `type` (JSON.parse: the last one, if written
 * twice, wherever it stands); the Python SDK goes by the event's name. So the type is the data's,
 * else the name's; where both are there and differ the event is CONFLICT. The API always sends
 * the two alike.
 */
function typeOf(ev: SseEvent, parsed: unknown): string | undefined {
  const name = sseEventType(ev);
  const named = name === 'message' ? undefined : name;
  const dataType = typeof parsed === 'object' && parsed !== null ? (parsed as { type?: unknown }).type : sniffType(ev.data ?? '');
  if (typeof dataType !== 'string') return named;
  return named === undefined || named === dataType ? dataType : CONFLICT;
}

/** A complete text_delta event, parsed. */
interface TextDelta {
  ev: SseEvent;
  obj: Record<string, unknown>;
  delta: Record<string, unknown>;
  index: number;
  text: string;
  /** Set by text(): a field beside the text was masked, so the event's own bytes may not be sent. */
  extras?: boolean;
}

function textDeltaOf(ev: SseEvent, parsed: unknown): TextDelta | undefined {
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
function blockIndex(obj: Record<string, unknown>): number | undefined {
  const i = obj.index;
  return Number.isSafeInteger(i) && (i as number) >= 0 ? (i as number) : undefined;
}

export class AnthropicSseMasker implements SseMasker {
  private readonly engine: Engine;
  private readonly parser = new SseParser();
  private readonly tally: Tally = newTally();
  private readonly blocks = new Map<number, BlockState>();
  /** The index the next content_block_start must carry: where a client puts that block (blockIndex). */
  private starts = 0;
  /** Blocks that had their content_block_stop: a client still appends a later delta to them. */
  private readonly closed = new Set<number>();
  /** message_delta, message_stop or an error event came: the message has no more content. */
  private over = false;
  private done = false;
  private readonly observe: ((ev: SseEvent) => void) | undefined;

  /** `observe` sees each event as the upstream sent it, before masking: the caller need not parse the stream again. */
  constructor(engine: Engine, observe?: (ev: SseEvent) => void) {
    this.engine = engine;
    this.observe = observe;
  }

  get counts(): Readonly<Record<string, number>> {
    return this.tally.counts ?? EMPTY_COUNTS;
  }

  get blocked(): string | undefined {
    return this.tally.blocked;
  }

  get pendingBytes(): number {
    return this.parser.pendingBytes;
  }

  get held(): number {
    let n = 0;
    for (const b of this.blocks.values()) if (b.kind !== 'other') n += b.s.pending;
    return n;
  }

  push(chunk: Buffer): Buffer {
    if (this.done) return EMPTY;
    return this.emit(this.parser.push(chunk));
  }

  end(): Buffer {
    if (this.done) return EMPTY;
    const parts = [this.emit(this.parser.end())];
    // upstream stopped without content_block_stop: release what is held, masked (after a block
    // category nothing is held: emit() dropped it)
    for (const [index, b] of this.blocks) {
      const d = this.flush(index, b);
      if (this.tally.blocked !== undefined) {
        parts.push(this.errorEvent());
        break;
      }
      if (d !== undefined) parts.push(d);
    }
    this.blocks.clear();
    this.done = true;
    return Buffer.concat(parts);
  }

  private emit(events: SseEvent[]): Buffer {
    if (events.length === 0) return EMPTY;
    // all of a chunk's events, also those after a block match in it (as a parser of its own would see them)
    if (this.observe !== undefined) for (const ev of events) this.observe(ev);
    const parts: Buffer[] = [];
    // Consecutive text deltas of one block that arrived together are masked as one text (a run):
    // one pass of the detectors instead of one per delta, and only the deltas whose text changes
    // are re-serialized.
    let run: TextDelta[] = [];
    for (const ev of events) {
      // Stryker disable next-line ConditionalExpression: JSON.parse(undefined) throws, which parseOrUndefined turns into undefined too
      const parsed = ev.data === undefined ? undefined : parseOrUndefined(ev.data);
      const type = typeOf(ev, parsed);
      if (this.afterItsBlock(type, parsed)) continue;
      // (an unterminated delta is left to event(), which drops it)
      const td = type === 'content_block_delta' && !ev.incomplete ? textDeltaOf(ev, parsed) : undefined;
      if (run.length > 0 && (td === undefined || td.index !== run[0]!.index)) {
        this.text(run, parts);
        run = [];
        if (this.stopped(parts)) return Buffer.concat(parts);
      }
      if (td !== undefined) run.push(td);
      else {
        this.event(ev, parts, parsed, type);
        if (this.stopped(parts)) return Buffer.concat(parts);
      }
    }
    if (run.length > 0) {
      this.text(run, parts);
      this.stopped(parts);
    }
    return parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * A content event of a block that has stopped, or of a message that has ended: dropped. The
   * masker decided the block's text at its end (`jane.doe@exam`, released as final), but a client
   * still appends a later delta to the block it finds at that index (the TypeScript SDK's
   * `content.at(index)`), so `ple.com` after the stop would make the address whole there.
   */
  private afterItsBlock(type: string | undefined, parsed: unknown): boolean {
    if (type !== 'content_block_delta' && type !== 'content_block_start' && type !== 'content_block_stop') return false;
    return this.over || (isRecord(parsed) && this.closed.has(parsed.index as number));
  }

  /** After a block match: the error event ends the stream. */
  private stopped(parts: Buffer[]): boolean {
    if (this.tally.blocked === undefined) return false;
    parts.push(this.errorEvent());
    this.done = true;
    this.blocks.clear();
    return true;
  }

  /**
   * A run of text deltas of one block, masked as one text. What comes out is split back over the
   * run's events: the leading ones whose text came out unchanged pass through byte for byte (the
   * first carries the text held back before the run, if any), and the rest of the output rides
   * with the run's last event (the events in between are left with nothing to say: dropped).
   */
  private text(run: TextDelta[], parts: Buffer[]): void {
    const b = this.state(run[0]!.index, 'text') as { kind: 'text'; s: TextStream };
    const held = b.s.pending;
    let all = '';
    for (const td of run) {
      all += td.text;
      const before = this.tally.matches;
      maskFields(this.engine, td.obj, KEEP_BLOCK_DELTA, this.tally);
      maskFields(this.engine, td.delta, KEEP_TEXT_DELTA, this.tally);
      td.extras = this.tally.matches !== before;
    }
    const out = b.s.push(all);
    if (this.tally.blocked !== undefined) return;
    const last = run.length - 1;
    let pos = 0;
    let j = 0;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: with one event (last = 0) the tail below gives it the same text (without a mask, out can hold its text after the held characters only as the whole of out)
    if (held > 0 && last > 0 && out.startsWith(run[0]!.text, held)) {
      pos = held + run[0]!.text.length;
      this.retext(run[0]!, out.slice(0, pos), parts);
      j = 1;
    }
    // Stryker disable next-line EqualityOperator: the last event passed here (j <= last) is the last event passed by the tail below
    for (; j < last && out.startsWith(run[j]!.text, pos); j++) {
      parts.push(this.asIs(run[j]!));
      pos += run[j]!.text.length;
    }
    const rest = out.slice(pos);
    if (rest === run[last]!.text) parts.push(this.asIs(run[last]!));
    else if (rest !== '') this.retext(run[last]!, rest, parts);
  }

  /** A text delta whose text came out unchanged. */
  private asIs(td: TextDelta): Buffer {
    return td.extras ? this.reserialize(td.ev, td.obj) : td.ev.raw;
  }

  private retext(td: TextDelta, text: string, parts: Buffer[]): void {
    td.delta.text = text;
    parts.push(this.reserialize(td.ev, td.obj));
  }

  private errorEvent(): Buffer {
    return Buffer.from(sseErrorEvent('permission_error', maskingBlockedMessage(this.tally.blocked!)));
  }

  private state(index: number, kind: 'text' | 'json'): BlockState {
    let b = this.blocks.get(index);
    if (b === undefined || b.kind !== kind) {
      b = kind === 'text' ? { kind, s: new TextStream(this.engine, this.tally) } : { kind, s: new JsonStream(this.engine, this.tally) };
      this.blocks.set(index, b);
    }
    return b;
  }

  /**
   * A synthesized delta carrying the rest of a block, or undefined when nothing is left. (Callers
   * drop it when the rest matched a block category.)
   */
  private flush(index: number, b: BlockState): Buffer | undefined {
    if (b.kind === 'other') return undefined;
    const rest = b.s.finish();
    if (rest === '') return undefined;
    const delta = b.kind === 'text' ? { type: 'text_delta', text: rest } : { type: 'input_json_delta', partial_json: rest };
    return Buffer.from(
      formatSseEvent({ event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index, delta }) }),
    );
  }

  private reserialize(ev: SseEvent, obj: unknown): Buffer {
    // keep a "\n" that completed the previous block's "\r\n" (split across chunks)
    const lead = ev.raw[0] === 0x0a ? '\n' : '';
    return Buffer.from(lead + formatSseEvent({ event: ev.event, id: ev.id, data: JSON.stringify(obj) }));
  }

  /**
   * A text block (of message_start or content_block_start) at `index`: every field but its text
   * is masked; its text starts the block's text stream, so the deltas that follow continue it
   * (what is held back rides with them). Returns whether the text changed.
   */
  private textBlock(index: number, cb: Record<string, unknown>): boolean {
    const s = this.state(index, 'text') as { kind: 'text'; s: TextStream };
    const text = cb.text;
    if (typeof text !== 'string') {
      maskContentBlock(this.engine, cb, this.tally);
      return false;
    }
    // (the text is masked by its stream, not here: blanked while the other fields are)
    // Stryker disable next-line StringLiteral: any text without a match would do
    cb.text = '';
    maskContentBlock(this.engine, cb, this.tally);
    // unusual (the API starts text blocks empty): streamed like a delta
    const out = s.s.push(text);
    cb.text = out;
    return out !== text;
  }

  /**
   * message_start: its content blocks (text ones start their block's text stream, textBlock) and
   * every other field of the message but what identifies or counts. Returns true when it dealt
   * with the event (re-serialized, or dropped after a block match).
   */
  private messageStart(ev: SseEvent, parsed: unknown, parts: Buffer[]): boolean {
    const before = this.tally.matches;
    let changed = false;
    if (isRecord(parsed)) {
      maskFields(this.engine, parsed, KEEP_MESSAGE_START, this.tally);
      const message = parsed.message;
      if (isRecord(message)) {
        maskFields(this.engine, message, KEEP_MESSAGE, this.tally);
        if (Array.isArray(message.content)) {
          const content = message.content as unknown[];
          for (let i = 0; i < content.length; i++) {
            const block = content[i];
            if (isRecord(block) && block.type === 'text') {
              if (block.text !== undefined && typeof block.text !== 'string') {
                // a text the SDK would join to the deltas with `+` (as in a content_block_start)
                block.text = '';
                changed = true;
              }
              if (this.textBlock(i, block)) changed = true;
            } else if (isRecord(block)) maskContentBlock(this.engine, block, this.tally);
            // a string or an array where a block belongs: its strings all the same
            else content[i] = maskValue(this.engine, block, this.tally);
          }
        }
      } else parsed.message = maskValue(this.engine, message, this.tally);
    }
    if (!changed && this.tally.matches === before) return false;
    if (this.tally.blocked === undefined) parts.push(this.reserialize(ev, parsed));
    return true;
  }

  /**
   * Any other event (message_delta, message_stop, ping, error, unknown types, and block events
   * whose data is not an object): every string masked but the type (and for message_delta its
   * usage and stop_reason). Byte for byte when nothing changed.
   */
  private maskOther(ev: SseEvent, parsed: unknown, type: string | undefined, parts: Buffer[]): void {
    const before = this.tally.matches;
    if (isRecord(parsed)) {
      if (type === 'message_delta') {
        maskFields(this.engine, parsed, KEEP_MESSAGE_DELTA, this.tally);
        if (isRecord(parsed.delta)) maskFields(this.engine, parsed.delta, KEEP_DELTA, this.tally);
        else parsed.delta = maskValue(this.engine, parsed.delta, this.tally);
      } else maskFields(this.engine, parsed, KEEP_TYPE, this.tally);
    } else parsed = maskValue(this.engine, parsed, this.tally);
    this.send(ev, parsed, before, parts);
  }

  /**
   * `value`, the event's data, masked since the tally counted `before` matches: the event's own
   * bytes when nothing was masked, else re-serialized; nothing after a block match.
   */
  private send(ev: SseEvent, value: unknown, before: number, parts: Buffer[]): void {
    if (this.tally.matches === before) parts.push(ev.raw);
    else if (this.tally.blocked === undefined) parts.push(this.reserialize(ev, value));
  }

  /** `parsed`: the event's data, parsed (undefined when it is not JSON); `type`: typeOf(). */
  private event(ev: SseEvent, parts: Buffer[], parsed: unknown, type: string | undefined): void {
    if (ev.data === undefined) {
      parts.push(ev.raw);
      return;
    }
    if (type === CONFLICT) return;
    if (parsed === undefined) {
      // Data JSON.parse rejects (NaN, Infinity, a cut event): the TypeScript SDK fails on it, but
      // Python's json.loads reads NaN and Infinity, so its strings would reach such a client
      // unmasked. Dropped, but for a ping (every client skips pings by their name, unread); a
      // dropped content_block_start is not counted, as for a client that never read it.
      if (sseEventType(ev) === 'ping') parts.push(ev.raw);
      return;
    }
    if (type === 'message_start') {
      // a client's content starts with the message's own blocks; the streamed ones come after them
      const message = isRecord(parsed) ? parsed.message : undefined;
      this.starts = isRecord(message) && Array.isArray(message.content) ? message.content.length : 0;
      if (this.messageStart(ev, parsed, parts)) return;
    }
    if (type !== 'content_block_delta' && type !== 'content_block_start' && type !== 'content_block_stop') {
      if (type === 'message_delta' || type === 'message_stop' || type === 'error') this.over = true;
      if (type === 'message_delta' || type === 'message_stop') {
        // an upstream that skipped content_block_stop: release held text before the message
        // ends, in the order the upstream sent it
        for (const [index, b] of this.blocks) {
          const d = this.flush(index, b);
          if (this.tally.blocked !== undefined) return;
          if (d !== undefined) parts.push(d);
        }
        // Stryker disable next-line all: a finished stream left in the map holds nothing and starts afresh
        this.blocks.clear();
      } else if (type === 'error') {
        // an upstream that failed mid-block: its text did not end there, so what is held (the
        // start of a value that may go on: `4111 1111 1111 111`, `jane.doe@exam`) is dropped,
        // not decided as if the text had ended; the caller must retry anyway
        this.blocks.clear();
      }
      // message_start was masked above; the other events have every string masked but their
      // type: message_delta's stop_details, container, …, an error's message, unknown events
      if (type !== 'message_start') this.maskOther(ev, parsed, type, parts);
      else parts.push(ev.raw);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      // not an object: no client reads it as a block event; a delta might carry text in a form
      // we cannot follow: dropped; the rest have their strings masked
      if (type !== 'content_block_delta') this.maskOther(ev, parsed, undefined, parts);
      return;
    }
    const obj = parsed as Record<string, unknown>;
    // a start's index is the count of starts and a delta's is checked below; a stop's other values find no block
    const index = obj.index as number;
    if (type === 'content_block_stop') {
      this.closed.add(index);
      const b = this.blocks.get(index);
      if (b !== undefined) {
        const d = this.flush(index, b);
        if (this.tally.blocked !== undefined) return;
        if (d !== undefined) parts.push(d);
        // Stryker disable next-line all: a finished stream left in the map holds nothing and starts afresh
        this.blocks.delete(index);
      }
      const before = this.tally.matches;
      maskFields(this.engine, obj, KEEP_BLOCK_STOP, this.tally);
      this.send(ev, obj, before, parts);
      return;
    }
    if (type === 'content_block_start') {
      // A client appends the block whatever its index, and finds it for later deltas by its
      // position: a start out of that order is dropped, so no block has two streams here.
      if (obj.index !== this.starts) return;
      const cb = obj.content_block as Record<string, unknown> | null | undefined;
      const cbType = cb?.type; // undefined for null, and for a primitive too
      // a text that is not a string: the TypeScript SDK joins it to the deltas with `+`, so
      // ["jane@exa"] and "mple.com" would reach it whole. The API never sends one: dropped, not
      // counted (a client then puts the next start at this index, as the masker does)
      if (cbType === 'text' && cb!.text !== undefined && typeof cb!.text !== 'string') return;
      this.starts++;
      const before = this.tally.matches;
      maskFields(this.engine, obj, KEEP_BLOCK_START, this.tally);
      // (a text block's text can change without a match: held back)
      let changed = false;
      if (cbType === 'text') changed = this.textBlock(index, cb!);
      else {
        // tool results of every kind, web search/fetch and code execution results, MCP results,
        // unknown future blocks: they arrive whole here (thinking blocks are left alone). So does
        // the input a tool_use block starts with (the API starts it empty); what streams later
        // comes in input_json_delta events, which get a JSON stream of their own.
        this.blocks.set(index, { kind: 'other' });
        // (a string or an array where a block belongs: its strings all the same)
        if (isRecord(cb)) maskContentBlock(this.engine, cb, this.tally);
        else obj.content_block = maskValue(this.engine, cb, this.tally);
      }
      if (this.tally.blocked !== undefined) return;
      parts.push(changed || this.tally.matches !== before ? this.reserialize(ev, obj) : ev.raw);
      return;
    }
    // content_block_delta: one whose block a client could read another way is dropped (blockIndex)
    if (blockIndex(obj) === undefined) return;
    const delta = obj.delta as Record<string, unknown> | null | undefined;
    const dType = delta?.type; // undefined for null, and for a primitive too
    // A complete text delta went to a run (text()); this one is unterminated, which a client
    // discards; one whose text is not a string the TypeScript SDK joins to the block's text with
    // `+` (["jane@exa"] + ["mple.com"]): dropped, as is such an input_json_delta.
    if (dType === 'text_delta') return;
    if (dType === 'input_json_delta' && (ev.incomplete || typeof delta!.partial_json !== 'string')) return;
    const before = this.tally.matches;
    maskFields(this.engine, obj, KEEP_BLOCK_DELTA, this.tally);
    const payload = DELTA_PAYLOAD.get(dType as string);
    if (payload !== undefined) maskFields(this.engine, delta!, payload, this.tally);
    // citations_delta (the whole citation: cited_text, title, url, …) and unknown delta types:
    // their strings are masked one delta at a time (an unknown one cannot be held back across
    // deltas without knowing how its pieces join). So is a delta without a type: the SDK's
    // accumulator skips it, but its event listeners get it as it came.
    else obj.delta = maskValue(this.engine, delta, this.tally);
    if (dType === 'input_json_delta') {
      const b = this.state(index, 'json') as { kind: 'json'; s: JsonStream };
      const pj = delta!.partial_json as string;
      const extras = this.tally.matches !== before;
      const out = b.s.push(pj);
      if (this.tally.blocked !== undefined) return;
      if (out === pj) parts.push(extras ? this.reserialize(ev, obj) : ev.raw);
      else if (out !== '') {
        delta!.partial_json = out;
        parts.push(this.reserialize(ev, obj));
      }
      return;
    }
    this.send(ev, obj, before, parts);
  }
}
