// The content blocks of one streamed message, as a client builds them: a masking stream per
// block, the order in which a client places the blocks, and the blocks that have stopped.
//
// Per content block index: text_delta.text goes through a TextStream, input_json_delta
// .partial_json through a JsonStream. A delta event is re-emitted with the text that is final
// now (held-back text rides along with a later delta of the same block; an event left with
// nothing to say is dropped); at content_block_stop a last delta carries the remainder, then
// the stop event. The text deltas of one block that arrive together are masked as one text
// (sse-text-run.ts).

import { type SseEvent } from '../sse/parser.ts';
import { formatSseEvent } from '../sse/serialize.ts';
import { type Engine, type Tally } from './engine.ts';
import { maskContentBlock } from './json-message.ts';
import { JsonStream } from './json-stream.ts';
import {
  DELTA_PAYLOAD,
  KEEP_BLOCK_DELTA,
  KEEP_BLOCK_START,
  KEEP_BLOCK_STOP,
  KEEP_MESSAGE,
  KEEP_MESSAGE_START,
  blockIndex,
  isRecord,
  maskFields,
  maskValue,
  reserialize,
  send,
  type TextDelta,
} from './sse-events.ts';
import { maskTextRun } from './sse-text-run.ts';
import { TextStream } from './text-stream.ts';

type BlockState = { kind: 'text'; s: TextStream } | { kind: 'json'; s: JsonStream } | { kind: 'other' };

/** The content blocks of one message (AnthropicSseMasker hands it the events that concern them). */
export class SseContent {
  private readonly engine: Engine;
  private readonly tally: Tally;
  readonly blocks = new Map<number, BlockState>();
  /** The index the next content_block_start must carry: where a client puts that block (blockIndex). */
  starts = 0;
  /** Blocks that had their content_block_stop: a client still appends a later delta to them. */
  readonly closed = new Set<number>();

  constructor(engine: Engine, tally: Tally) {
    this.engine = engine;
    this.tally = tally;
  }

  get held(): number {
    let n = 0;
    for (const b of this.blocks.values()) if (b.kind !== 'other') n += b.s.pending;
    return n;
  }

  /** A run of text deltas of one block (sse-text-run.ts), through the block's text stream. */
  text(run: TextDelta[], parts: Buffer[]): void {
    const b = this.state(run[0]!.index, 'text') as { kind: 'text'; s: TextStream };
    maskTextRun(this.engine, this.tally, b, run, parts);
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
  flush(index: number, b: BlockState): Buffer | undefined {
    if (b.kind === 'other') return undefined;
    const rest = b.s.finish();
    if (rest === '') return undefined;
    const delta = b.kind === 'text' ? { type: 'text_delta', text: rest } : { type: 'input_json_delta', partial_json: rest };
    return Buffer.from(
      formatSseEvent({ event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index, delta }) }),
    );
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
  messageStart(ev: SseEvent, parsed: unknown, parts: Buffer[]): boolean {
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
      // data that is not an object (an array, a string): a client's raw iterator hands it on as it
      // is, so its strings are masked as under any other event name
    } else parsed = maskValue(this.engine, parsed, this.tally);
    if (!changed && this.tally.matches === before) return false;
    if (this.tally.blocked === undefined) parts.push(reserialize(ev, parsed));
    return true;
  }

  /** A content_block_start, _delta or _stop whose data is an object (the rest of AnthropicSseMasker.event()). */
  event(ev: SseEvent, parts: Buffer[], parsed: unknown, type: string | undefined): void {
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
      send(this.tally, ev, obj, before, parts);
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
      parts.push(changed || this.tally.matches !== before ? reserialize(ev, obj) : ev.raw);
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
      if (out === pj) parts.push(extras ? reserialize(ev, obj) : ev.raw);
      else if (out !== '') {
        delta!.partial_json = out;
        parts.push(reserialize(ev, obj));
      }
      return;
    }
    send(this.tally, ev, obj, before, parts);
  }
}
