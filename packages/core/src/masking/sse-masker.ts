// Masks an Anthropic Messages SSE stream on the fly.
//
// The driver: it parses the chunks into events, reads each as a client would (sse-events.ts:
// what in each event type is data), masks the message-level events itself and hands the content
// blocks' events to the message's content (sse-content.ts: a masking stream per block; the text
// deltas of one block that arrive together are masked as one text, sse-text-run.ts).
// Whatever comes out unchanged passes through byte for byte; the lines beside an event's data
// (comments, id, an unknown event name) are checked first (sse-framing.ts), and an event that
// repeats a key is rebuilt from what JSON.parse read of it (lastKeysOnly). Data JSON.parse
// rejects is dropped (but a ping's without a match), as are texts that are not strings. A
// block-category match ends the stream with an Anthropic `error` event.

import { sseErrorEvent } from '../anthropic/errors.ts';
import { SseParser, sseEventType, type SseEvent } from '../sse/parser.ts';
import { EMPTY_COUNTS, newTally, type Engine, type Tally } from './engine.ts';
import { SseContent } from './sse-content.ts';
import { maskFraming } from './sse-framing.ts';
import {
  CONFLICT,
  apiTextDelta,
  KEEP_DELTA,
  KEEP_MESSAGE_DELTA,
  KEEP_TYPE,
  isRecord,
  lastKeysOnly,
  maskFields,
  maskValue,
  parseOrUndefined,
  send,
  textDeltaOf,
  typeOf,
  type TextDelta,
} from './sse-events.ts';

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

export class AnthropicSseMasker implements SseMasker {
  private readonly engine: Engine;
  private readonly parser = new SseParser();
  private readonly tally: Tally = newTally();
  /** The message's content blocks, their streams and order. */
  private readonly content: SseContent;
  /** message_delta, message_stop or an error event came: the message has no more content. */
  private over = false;
  private done = false;
  private readonly observe: ((ev: SseEvent) => void) | undefined;
  /** A line of an event beside its data (sse-framing.ts), masked and counted. */
  private readonly maskLine = (line: string): string => maskValue(this.engine, line, this.tally) as string;

  /** `observe` sees each event as the upstream sent it, before masking: the caller need not parse the stream again. */
  constructor(engine: Engine, observe?: (ev: SseEvent) => void) {
    this.engine = engine;
    this.content = new SseContent(engine, this.tally);
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
    return this.content.held;
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
    for (const [index, b] of this.content.blocks) {
      const d = this.content.flush(index, b);
      if (this.tally.blocked !== undefined) {
        parts.push(this.errorEvent());
        break;
      }
      if (d !== undefined) parts.push(d);
    }
    this.content.blocks.clear();
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
    for (const sent of events) {
      const framed = maskFraming(sent, this.maskLine);
      if (this.tally.blocked !== undefined) {
        this.stopped(parts);
        return Buffer.concat(parts);
      }
      // the API's own text deltas (most of a stream) are read without JSON.parse
      const bare = apiTextDelta(framed);
      // Stryker disable next-line ConditionalExpression: JSON.parse(undefined) throws, which parseOrUndefined turns into undefined too
      const parsed = bare !== undefined ? bare.obj : framed.data === undefined ? undefined : parseOrUndefined(framed.data);
      // Stryker disable next-line ConditionalExpression: lastKeysOnly returns a bare delta itself (its data is compact); the test saves the serialization
      const ev = parsed === undefined || bare !== undefined ? framed : lastKeysOnly(framed, parsed);
      const type = typeOf(ev, parsed);
      if (this.afterItsBlock(type, parsed)) continue;
      // (an unterminated delta is left to event(), which drops it)
      const td = bare ?? (type === 'content_block_delta' && !ev.incomplete ? textDeltaOf(ev, parsed) : undefined);
      if (run.length > 0 && (td === undefined || td.index !== run[0]!.index)) {
        this.content.text(run, parts);
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
      this.content.text(run, parts);
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
    return this.over || (isRecord(parsed) && this.content.closed.has(parsed.index as number));
  }

  /** After a block match: the error event ends the stream. */
  private stopped(parts: Buffer[]): boolean {
    if (this.tally.blocked === undefined) return false;
    parts.push(this.errorEvent());
    this.done = true;
    this.content.blocks.clear();
    return true;
  }

  private errorEvent(): Buffer {
    return Buffer.from(sseErrorEvent('permission_error', maskingBlockedMessage(this.tally.blocked!)));
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
    send(this.tally, ev, parsed, before, parts);
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
      // unmasked. Dropped, but for a ping whose text holds no match (every client skips pings by
      // their name, unread; a reader of the raw stream does not); a dropped content_block_start
      // is not counted, as for a client that never read it.
      if (sseEventType(ev) === 'ping') {
        const before = this.tally.matches;
        maskValue(this.engine, ev.data, this.tally);
        if (this.tally.matches === before) parts.push(ev.raw);
      }
      return;
    }
    if (type === 'message_start') {
      // a client's content starts with the message's own blocks; the streamed ones come after them
      const message = isRecord(parsed) ? parsed.message : undefined;
      this.content.starts = isRecord(message) && Array.isArray(message.content) ? message.content.length : 0;
      if (this.content.messageStart(ev, parsed, parts)) return;
    }
    if (type !== 'content_block_delta' && type !== 'content_block_start' && type !== 'content_block_stop') {
      if (type === 'message_delta' || type === 'message_stop' || type === 'error') this.over = true;
      if (type === 'message_delta' || type === 'message_stop') {
        // an upstream that skipped content_block_stop: release held text before the message
        // ends, in the order the upstream sent it
        for (const [index, b] of this.content.blocks) {
          const d = this.content.flush(index, b);
          if (this.tally.blocked !== undefined) return;
          if (d !== undefined) parts.push(d);
        }
        // Stryker disable next-line all: a finished stream left in the map holds nothing and starts afresh
        this.content.blocks.clear();
      } else if (type === 'error') {
        // an upstream that failed mid-block: its text did not end there, so what is held (the
        // start of a value that may go on: `4111 1111 1111 111`, `jane.doe@exam`) is dropped,
        // not decided as if the text had ended; the caller must retry anyway
        this.content.blocks.clear();
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
    this.content.event(ev, parts, parsed, type);
  }
}
