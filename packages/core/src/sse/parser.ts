// Incremental Server-Sent Events parser (WHATWG HTML "event stream interpretation").
//
// Works on bytes, so a chunk may end anywhere: inside a UTF-8 multibyte character, inside a
// "\r\n" pair, inside a field name. A line is decoded only once it is complete. Lines end with
// "\n", "\r\n" or a lone "\r". Every blank line closes a *block*; the parser reports every block
// (also comment-only and empty ones) together with the exact bytes it was made of, so a proxy
// can pass unchanged events through byte for byte and re-serialize only the ones it edits.
// What the parser decodes of those bytes, and when, is decode.ts's.
import { eventName, fieldName, KNOWN_EVENTS, ParsedEvent } from './decode.ts';

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/**
 * The most bytes of one block (event) the parser holds while it has not ended. A stream that sends
 * an event without its blank line, or one larger than any real event, would otherwise be held
 * whole: 300 MB of one `data:` line took a sidecar to 1.6 GB (docs/SECURITY.md, "Bursts and
 * overload"). The largest Messages events (a server tool's results) and MCP messages are far smaller.
 */
export const MAX_SSE_BLOCK_BYTES = 16 * 1024 * 1024;

/** A block grew past the parser's limit; the parser dropped what it held and must not be pushed to again. */
export class SseBlockTooLargeError extends Error {}

export interface SseEvent {
  /** Value of the `event:` field, or undefined when the block had none (the spec's type "message"). */
  event: string | undefined;
  /** `data:` lines joined with "\n"; undefined when the block had no data field (comments, keep-alives). */
  data: string | undefined;
  /** Value of an `id:` field in this block (not the stream's last-event-id). */
  id: string | undefined;
  /** Value of a valid `retry:` field in this block. */
  retry: number | undefined;
  /** Number of comment lines (lines starting with ':') in this block. */
  comments: number;
  /**
   * The block has a line that no reader of its data reads, but a client reading the raw stream
   * (or its `id`, or its event name) could: a comment, an `id`, `retry` or unknown field, or an
   * event name other than the known ones (KNOWN_EVENTS). A masker checks those lines
   * (masking/sse-framing.ts) before it lets the block's bytes through.
   */
  framed?: boolean;
  /** The bytes of this block exactly as received, including its terminating blank line. */
  raw: Buffer;
  /**
   * True only for the block returned by end() when the stream stopped before the blank line
   * that would have dispatched it. A conforming client discards such a block.
   */
  incomplete: boolean;
}

/**
 * Feed it chunks, get complete blocks back. The chunks passed to push() are referenced, not
 * copied (raw may be a view into them, and a block's data line is decoded from them when `data`
 * is first read): do not reuse a chunk's memory after pushing it.
 */
export class SseParser {
  /** Raw bytes of the current block that arrived in earlier chunks. */
  private blockParts: Buffer[] = [];
  /** Bytes of the current, unterminated line that arrived in earlier chunks. */
  private lineParts: Buffer[] = [];
  /** The previous chunk ended with "\r": a "\n" at the start of the next one belongs to it. */
  private skipLF = false;
  private event: string | undefined = undefined;
  /**
   * The block's first data line, not yet decoded: its bytes[dataStart, dataEnd). Most blocks have
   * one, and most of a Messages stream's are deltas that no reader but the masker looks at, so it
   * is decoded only when the event's `data` is read (the chunk is referenced anyway, by `raw`).
   */
  private dataBytes: Buffer | undefined = undefined;
  private dataStart = 0;
  private dataEnd = 0;
  /** The block's data lines after the first, decoded. */
  private moreData: string[] | undefined = undefined;
  private id: string | undefined = undefined;
  private retry: number | undefined = undefined;
  private comments = 0;
  private framed = false;
  /** Bytes in blockParts. */
  private held = 0;
  private readonly maxBlockBytes: number;

  constructor(maxBlockBytes = MAX_SSE_BLOCK_BYTES) {
    this.maxBlockBytes = maxBlockBytes;
  }

  /** Bytes of the unfinished block held from the chunks pushed so far. */
  get pendingBytes(): number {
    return this.held;
  }

  /** Throws SseBlockTooLargeError once the unfinished block holds more than the limit. */
  push(chunk: Buffer): SseEvent[] {
    const out: SseEvent[] = [];
    const len = chunk.length;
    if (len === 0) return out;
    let pos = 0;
    let blockStart = 0;
    if (this.skipLF) {
      this.skipLF = false;
      if (chunk[0] === LF) pos = 1;
    }
    // Positions of the next LF / CR at or after pos (-1: none left in this chunk).
    let nextLF = chunk.indexOf(LF, pos);
    let nextCR = chunk.indexOf(CR, pos);
    while (pos < len) {
      let eol: number;
      if (nextLF < 0 && nextCR < 0) break;
      if (nextCR < 0 || (nextLF >= 0 && nextLF < nextCR)) eol = nextLF;
      else eol = nextCR;
      let next = eol + 1;
      if (eol === nextCR) {
        if (next < len) {
          if (chunk[next] === LF) next++;
        } else {
          this.skipLF = true;
        }
      }
      let ended: boolean;
      if (this.lineParts.length > 0) {
        this.lineParts.push(chunk.subarray(pos, eol));
        const line = Buffer.concat(this.lineParts);
        this.lineParts = [];
        ended = this.line(line, 0, line.length);
      } else {
        ended = this.line(chunk, pos, eol);
      }
      if (ended) {
        let raw: Buffer;
        if (this.blockParts.length > 0) {
          this.blockParts.push(chunk.subarray(blockStart, next));
          raw = Buffer.concat(this.blockParts);
          this.blockParts = [];
          this.held = 0;
        } else {
          raw = chunk.subarray(blockStart, next);
        }
        out.push(this.dispatch(raw, false));
        blockStart = next;
      }
      pos = next;
      if (nextLF >= 0 && nextLF < pos) nextLF = chunk.indexOf(LF, pos);
      if (nextCR >= 0 && nextCR < pos) nextCR = chunk.indexOf(CR, pos);
    }
    if (pos < len) this.lineParts.push(chunk.subarray(pos));
    if (blockStart < len) {
      this.blockParts.push(chunk.subarray(blockStart));
      this.held += len - blockStart;
      if (this.held > this.maxBlockBytes) {
        const held = this.held;
        this.blockParts = [];
        this.lineParts = [];
        this.dataBytes = undefined;
        this.moreData = undefined;
        this.held = 0;
        throw new SseBlockTooLargeError(`an event still without its end after ${held} bytes (at most ${this.maxBlockBytes} are held)`);
      }
    }
    return out;
  }

  /**
   * The stream ended. Returns the unterminated last block, if any bytes of one arrived, marked
   * `incomplete` (its last line is interpreted as if it had ended). This includes the lone "\n"
   * of a "\r\n" split across the last two chunks, so that no byte is lost. Resets the parser.
   */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.lineParts.length > 0) {
      const line = Buffer.concat(this.lineParts);
      this.line(line, 0, line.length);
      this.lineParts = [];
    }
    if (this.blockParts.length > 0) {
      const raw = Buffer.concat(this.blockParts);
      this.blockParts = [];
      this.held = 0;
      out.push(this.dispatch(raw, true));
    } else {
      this.dispatch(EMPTY, true);
    }
    this.skipLF = false;
    return out;
  }

  /**
   * Interprets the complete line bytes[start, end) in place (a stream has thousands of lines:
   * no view or field-name string is made for the known fields); returns true when it is the
   * blank line that ends a block.
   */
  private line(bytes: Buffer, start: number, end: number): boolean {
    // A UTF-8 byte order mark at the start of a line is ignored: at the start of the stream (the
    // spec) and also at the start of any later line, as the Anthropic TypeScript SDK reads it (a
    // line of only a BOM is a blank line to it). A parser that kept "\uFEFFdata" as a field name
    // of its own would let an event through unread that the SDK reads.
    // (no length check: the byte at `end` is the line's CR or LF, or past the buffer's end)
    if (bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) start += 3;
    if (end === start) return true;
    if (bytes[start] === 0x3a /* : */) {
      this.comments++;
      this.framed = true;
      return false;
    }
    // (a loop, not indexOf: that would search past the line, to the end of the chunk, for every line without a colon)
    let colon = start;
    while (colon < end && bytes[colon] !== 0x3a) colon++;
    // The value: after the colon and one space, or empty when the line has no colon.
    let v = end;
    let name: string;
    if (colon === end) name = bytes.toString('utf8', start, end);
    else {
      name = fieldName(bytes, start, colon);
      v = colon + 1;
      if (v < end && bytes[v] === 0x20) v++;
    }
    switch (name) {
      case 'data':
        if (this.dataBytes === undefined) {
          this.dataBytes = bytes;
          this.dataStart = v;
          this.dataEnd = end;
        } else (this.moreData ??= []).push(bytes.toString('utf8', v, end));
        break;
      case 'event':
        this.event = eventName(bytes, v, end);
        if (!KNOWN_EVENTS.has(this.event)) this.framed = true;
        break;
      case 'id': {
        const value = bytes.toString('utf8', v, end);
        if (!value.includes('\0')) this.id = value;
        this.framed = true;
        break;
      }
      case 'retry': {
        const value = bytes.toString('utf8', v, end);
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        this.framed = true;
        break;
      }
      default:
        this.framed = true; // unknown fields are ignored, by clients that read fields
    }
    return false;
  }

  private dispatch(raw: Buffer, incomplete: boolean): SseEvent {
    const ev = new ParsedEvent(raw, incomplete);
    ev.event = this.event;
    ev.id = this.id;
    ev.retry = this.retry;
    ev.comments = this.comments;
    ev.framed = this.framed;
    if (this.dataBytes !== undefined) {
      if (this.moreData === undefined) ev.dataFrom(this.dataBytes, this.dataStart, this.dataEnd);
      else ev.data = [this.dataBytes.toString('utf8', this.dataStart, this.dataEnd), ...this.moreData].join('\n');
    }
    this.event = undefined;
    this.dataBytes = undefined;
    this.moreData = undefined;
    this.id = undefined;
    this.retry = undefined;
    this.comments = 0;
    this.framed = false;
    return ev;
  }
}

/**
 * The one block `text` holds, read as a client reads it: ended by its blank line, or, when
 * `incomplete`, cut where the stream stopped. A masker that rewrites an event's lines reads it
 * again with this, so that its fields are what the bytes it sends say.
 */
export function readBlock(text: string, incomplete: boolean): SseEvent {
  const parser = new SseParser();
  const bytes = Buffer.from(text);
  const events = incomplete ? [...parser.push(bytes), ...parser.end()] : parser.push(bytes);
  // (a block whose every line was left out: nothing is left of it)
  return events[0] ?? new ParsedEvent(EMPTY, incomplete);
}

/** The event type a client dispatches for this block: the `event:` field, or "message". */
export function sseEventType(ev: SseEvent): string {
  return ev.event === undefined || ev.event === '' ? 'message' : ev.event;
}
