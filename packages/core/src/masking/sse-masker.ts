// Masks an Anthropic Messages SSE stream on the fly.
//
// Per content block index: text_delta.text goes through a TextStream, input_json_delta
// .partial_json through a JsonStream. A delta event is re-emitted with the text that is final
// now (held-back text rides along with a later delta of the same block; an event left with
// nothing to say is dropped); at content_block_stop a last delta carries the remainder, then
// the stop event. Consecutive text deltas of one block within one chunk are masked as one text
// (a detector pass costs the same whatever the text's length): the leading ones that come out
// unchanged go byte for byte, the rest of the output rides with the last of them
// (docs/masking.md). Everything else (message_*, ping, thinking_delta, signature_delta, error,
// unknown types, comments) passes through byte for byte, as does any delta whose text comes
// out unchanged. A block-category match ends the stream with an Anthropic `error` event.
// An event is what a client would read it as (typeOf: the data's type, else the event's name)
// and a delta belongs to the block a client would put it in (blockIndex); events that clients
// could read two ways are dropped.

import { sseErrorEvent } from '../anthropic/errors.ts';
import { SseParser, sseEventType, type SseEvent } from '../sse/parser.ts';
import { formatSseEvent } from '../sse/serialize.ts';
import { EMPTY_COUNTS, TextStream, newTally, type Engine, type Tally } from './engine.ts';
import { JsonStream, maskCitation, maskContentBlock, maskMessageObject } from './json.ts';
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

/** Deltas of thinking blocks: never touched (their signature covers them). */
const UNTOUCHED_DELTAS = new Set(['thinking_delta', 'signature_delta']);

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
    for (const td of run) all += td.text;
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
      parts.push(run[j]!.ev.raw);
      pos += run[j]!.text.length;
    }
    const rest = out.slice(pos);
    if (rest === run[last]!.text) parts.push(run[last]!.ev.raw);
    else if (rest !== '') this.retext(run[last]!, rest, parts);
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

  /** `parsed`: the event's data, parsed (undefined when it is not JSON); `type`: typeOf(). */
  private event(ev: SseEvent, parts: Buffer[], parsed: unknown, type: string | undefined): void {
    if (ev.data === undefined) {
      parts.push(ev.raw);
      return;
    }
    if (type === CONFLICT) return;
    if (type === 'message_start') {
      // content the upstream already put into the message (the API starts it empty)
      const before = this.tally.matches;
      const message = (parsed as { message?: { content?: unknown } } | null | undefined)?.message;
      // a client's content starts with the message's own blocks; the streamed ones come after them
      this.starts = Array.isArray(message?.content) ? message.content.length : 0;
      maskMessageObject(this.engine, message, this.tally);
      if (this.tally.matches !== before) {
        if (this.tally.blocked === undefined) parts.push(this.reserialize(ev, parsed));
        return;
      }
    }
    if (type !== 'content_block_delta' && type !== 'content_block_start' && type !== 'content_block_stop') {
      if (type === 'message_delta' || type === 'message_stop' || type === 'error') {
        // an upstream that skipped content_block_stop (or failed mid-block with an error event):
        // release held text before the message ends, in the order the upstream sent it
        for (const [index, b] of this.blocks) {
          const d = this.flush(index, b);
          if (this.tally.blocked !== undefined) return;
          if (d !== undefined) parts.push(d);
        }
        // Stryker disable next-line all: a finished stream left in the map holds nothing and starts afresh
        this.blocks.clear();
      }
      parts.push(ev.raw);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      // unreadable (or not an object) for the client too; a delta might carry text we cannot
      // inspect: drop it
      if (type !== 'content_block_delta') parts.push(ev.raw);
      return;
    }
    const obj = parsed as Record<string, unknown>;
    // a start's index is the count of starts and a delta's is checked below; a stop's other values find no block
    const index = obj.index as number;
    if (type === 'content_block_stop') {
      const b = this.blocks.get(index);
      if (b !== undefined) {
        const d = this.flush(index, b);
        if (this.tally.blocked !== undefined) return;
        if (d !== undefined) parts.push(d);
        // Stryker disable next-line all: a finished stream left in the map holds nothing and starts afresh
        this.blocks.delete(index);
      }
      parts.push(ev.raw);
      return;
    }
    if (type === 'content_block_start') {
      // A client appends the block whatever its index, and finds it for later deltas by its
      // position: a start out of that order is dropped, so no block has two streams here.
      if (obj.index !== this.starts) return;
      this.starts++;
      const cb = obj.content_block as Record<string, unknown> | null | undefined;
      const cbType = cb?.type; // undefined for null, and for a primitive too
      if (cbType === 'text') {
        const s = this.state(index, 'text') as { kind: 'text'; s: TextStream };
        const initial = typeof cb!.text === 'string' ? cb!.text : '';
        if (initial !== '') {
          // unusual (the API starts text blocks empty): stream the initial text like a delta
          const out = s.s.push(initial);
          if (this.tally.blocked !== undefined) return;
          cb!.text = out;
          parts.push(this.reserialize(ev, obj));
          return;
        }
      } else {
        // tool results of every kind, web search/fetch and code execution results, MCP results,
        // unknown future blocks: they arrive whole here (thinking blocks are left alone). So does
        // the input a tool_use block starts with (the API starts it empty); what streams later
        // comes in input_json_delta events, which get a JSON stream of their own.
        this.blocks.set(index, { kind: 'other' });
        const before = this.tally.matches;
        maskContentBlock(this.engine, cb, this.tally);
        if (this.tally.matches !== before) {
          if (this.tally.blocked !== undefined) return;
          parts.push(this.reserialize(ev, obj));
          return;
        }
      }
      parts.push(ev.raw);
      return;
    }
    // content_block_delta: one whose block a client could read another way is dropped (blockIndex)
    if (blockIndex(obj) === undefined) return;
    const delta = obj.delta as Record<string, unknown> | null | undefined;
    const dType = delta?.type; // undefined for null, and for a primitive too
    // A complete text delta went to a run (text()); this one is unterminated, which a client discards.
    if (dType === 'text_delta' && typeof delta!.text === 'string') return;
    if (dType === 'input_json_delta' && typeof delta!.partial_json === 'string') {
      if (ev.incomplete) return;
      const b = this.state(index, 'json') as { kind: 'json'; s: JsonStream };
      const pj = delta!.partial_json;
      const out = b.s.push(pj);
      if (this.tally.blocked !== undefined) return;
      if (out === pj) parts.push(ev.raw);
      else if (out !== '') {
        delta!.partial_json = out;
        parts.push(this.reserialize(ev, obj));
      }
      return;
    }
    if (dType === 'citations_delta') {
      const before = this.tally.matches;
      maskCitation(this.engine, delta!.citation, this.tally);
      if (this.tally.matches !== before) {
        if (this.tally.blocked !== undefined) return;
        parts.push(this.reserialize(ev, obj));
        return;
      }
    }
    if (typeof dType === 'string' && !UNTOUCHED_DELTAS.has(dType) && dType !== 'citations_delta') {
      // an unknown delta type: its strings are masked one delta at a time (it cannot be held
      // back across deltas without knowing how its pieces join)
      const before = this.tally.matches;
      maskContentBlock(this.engine, delta, this.tally);
      if (this.tally.matches !== before) {
        if (this.tally.blocked !== undefined) return;
        parts.push(this.reserialize(ev, obj));
        return;
      }
    }
    // thinking_delta, signature_delta: untouched
    parts.push(ev.raw);
  }
}
