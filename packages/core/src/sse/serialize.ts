// Serializing SSE events. Output always uses "\n" line endings; a data value with line breaks
// becomes several `data:` lines, which a parser joins back with "\n".

export interface SseEventInit {
  event?: string;
  data: string;
  id?: string;
  retry?: number;
}

const LINE_BREAK = /\r\n|\r|\n/;

function checkSingleLine(field: string, value: string): void {
  if (value.includes('\n') || value.includes('\r')) throw new Error(`SSE ${field} must not contain a line break`);
}

/** One event, terminated by its blank line. */
export function formatSseEvent(ev: SseEventInit): string {
  let s = '';
  if (ev.event !== undefined) {
    checkSingleLine('event', ev.event);
    s += `event: ${ev.event}\n`;
  }
  if (ev.id !== undefined) {
    checkSingleLine('id', ev.id);
    s += `id: ${ev.id}\n`;
  }
  // Digits only, as the field requires: 1e21 and above would otherwise print as "1e+21"; a
  // value that is not finite is left out.
  if (ev.retry !== undefined && Number.isFinite(ev.retry)) s += `retry: ${BigInt(Math.max(0, Math.floor(ev.retry)))}\n`;
  const data = ev.data;
  if (data.includes('\n') || data.includes('\r')) {
    for (const line of data.split(LINE_BREAK)) s += `data: ${line}\n`;
  } else {
    s += `data: ${data}\n`;
  }
  return s + '\n';
}

/** A comment line (ignored by clients; used as a keep-alive). */
export function formatSseComment(text: string): string {
  let s = '';
  for (const line of text.split(LINE_BREAK)) s += `: ${line}\n`;
  return s + '\n';
}

/** An event whose data is JSON (the shape the Anthropic API streams). */
export function formatSseJson(event: string | undefined, value: unknown): string {
  return formatSseEvent(event === undefined ? { data: JSON.stringify(value) } : { event, data: JSON.stringify(value) });
}
