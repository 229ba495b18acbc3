// Turning a block's bytes into strings, no more of them than its readers need: a Messages stream
// has thousands of lines, and most of its events are deltas that no reader but the masker looks
// at. The field names and the known event names are recognised by their bytes, and an event's
// one data line is decoded when it is first read. SseParser (parser.ts) interprets the lines.
import type { SseEvent } from './parser.ts';

/** A block as the parser reports it: its one data line is decoded on first read (see SseParser.dataBytes). */
export class ParsedEvent implements SseEvent {
  event: string | undefined = undefined;
  id: string | undefined = undefined;
  retry: number | undefined = undefined;
  comments = 0;
  framed = false;
  readonly raw: Buffer;
  readonly incomplete: boolean;
  #data: string | undefined = undefined;
  #bytes: Buffer | undefined = undefined;
  #start = 0;
  #end = 0;

  constructor(raw: Buffer, incomplete: boolean) {
    this.raw = raw;
    this.incomplete = incomplete;
  }

  get data(): string | undefined {
    if (this.#bytes !== undefined) {
      this.#data = this.#bytes.toString('utf8', this.#start, this.#end);
      this.#bytes = undefined;
    }
    return this.#data;
  }

  set data(value: string | undefined) {
    this.#data = value;
    this.#bytes = undefined;
  }

  dataFrom(bytes: Buffer, start: number, end: number): void {
    this.#bytes = bytes;
    this.#start = start;
    this.#end = end;
  }
}

/**
 * The `event:` values of a Messages stream, and the spec's default (an MCP stream's): one string
 * each, not one decoded per event. Such a name carries no data; any other may (SseEvent.framed).
 */
const EVENT_NAMES = [
  'message_start',
  'message_delta',
  'message_stop',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'ping',
  'error',
  'message',
];
export const KNOWN_EVENTS: ReadonlySet<string> = new Set(EVENT_NAMES);

/** The event name bytes[start, end): a known one as its one string, any other decoded. */
export function eventName(b: Buffer, start: number, end: number): string {
  const n = end - start;
  next: for (const name of EVENT_NAMES) {
    if (name.length !== n) continue;
    for (let i = 0; i < n; i++) if (b[start + i] !== name.charCodeAt(i)) continue next;
    return name;
  }
  return b.toString('utf8', start, end);
}

/** The name of the field bytes[start, colon): the frequent ones are recognised without making a string of them. */
export function fieldName(b: Buffer, start: number, colon: number): string {
  switch (colon - start) {
    case 4:
      if (b[start] === 0x64 && b[start + 1] === 0x61 && b[start + 2] === 0x74 && b[start + 3] === 0x61) return 'data';
      break;
    case 5:
      if (b[start] === 0x65 && b[start + 1] === 0x76 && b[start + 2] === 0x65 && b[start + 3] === 0x6e && b[start + 4] === 0x74)
        return 'event';
      break;
    case 2:
      if (b[start] === 0x69 && b[start + 1] === 0x64) return 'id';
      break;
  }
  return b.toString('latin1', start, colon);
}
