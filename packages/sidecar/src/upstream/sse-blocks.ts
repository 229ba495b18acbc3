// Whole SSE blocks out of what the upstream sent: the relay never lets the caller hold half an
// event, so an error event it adds after a cut is read as an event of its own.
import { SseParser, type MessageStreamObserver, type SseEvent } from '@scopekeeper/core';

const EMPTY = Buffer.alloc(0);

/** The complete SSE blocks of `buf` (which starts at a block boundary); an unterminated last block is dropped. */
export function completeBlocks(buf: Buffer): Buffer {
  if (buf.length === 0) return buf;
  const events = new SseParser().push(buf);
  return events.length === 0 ? EMPTY : Buffer.concat(events.map((e) => e.raw));
}

/**
 * The bytes of the complete blocks among `events`, each shown to the observer: the chunk itself
 * when it is exactly those blocks (the usual case: no copy).
 */
export function completeOf(events: SseEvent[], observer: MessageStreamObserver, chunk: Buffer): Buffer {
  if (events.length === 0) return EMPTY;
  let size = 0;
  for (const ev of events) {
    observer.observe(ev);
    size += ev.raw.length;
  }
  const first = events[0]!.raw;
  if (size === chunk.length && first.buffer === chunk.buffer && first.byteOffset === chunk.byteOffset) return chunk;
  return events.length === 1
    ? first
    : Buffer.concat(
        events.map((e) => e.raw),
        size,
      );
}
