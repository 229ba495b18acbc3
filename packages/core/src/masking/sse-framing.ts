// The lines of an event that no reader of its data reads: comments, `id`, `retry`, unknown fields,
// an event name that is not a known one. The SDKs skip them, but they are in the bytes a masker
// lets through when the data came out unchanged, and a browser's EventSource hands the `id` and
// the name to the page. So an event passes byte for byte only when those lines hold no match;
// the parser flags the blocks that have such lines (SseEvent.framed), so a Messages stream, which
// has none, is not scanned twice. Both stream maskers (Messages, MCP) decide it here.

import { readBlock, type SseEvent } from '../sse/parser.ts';

const LINE_BREAK = /\r\n|\r|\n/;

/** A data line, as the parser reads its field name (one byte order mark before it is ignored). */
function isData(line: string): boolean {
  const l = line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
  return l === 'data' || l.startsWith('data:');
}

/**
 * `ev` itself when no line beside its data lines holds a match; else the event rebuilt from its
 * lines in order, those lines masked (or left out where `mask` says so) and the data lines as
 * they were, then read again as a client would read it (its event name, id and data).
 *
 * `mask`: one line masked (the line itself when nothing matched), or undefined to leave it out.
 */
export function maskFraming(ev: SseEvent, mask: (line: string) => string | undefined): SseEvent {
  if (ev.framed !== true) return ev;
  const lines = ev.raw.toString('utf8').split(LINE_BREAK);
  // A "\n" first completes the previous block's "\r\n" (split across chunks, see SseParser): read
  // alone it would end an empty block here. It is left out: the "\r" before it already ended that
  // line. (No other line break can come first: the parser would have ended a block there.)
  if (ev.raw[0] === 0x0a) lines.shift();
  let changed = false;
  const out: string[] = [];
  for (const line of lines) {
    if (line === '' || isData(line)) {
      out.push(line);
      continue;
    }
    const masked = mask(line);
    if (masked !== line) changed = true;
    if (masked !== undefined) out.push(masked);
  }
  return changed ? readBlock(out.join('\n'), ev.incomplete) : ev;
}
