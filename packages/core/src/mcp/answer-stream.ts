// An MCP event stream, governed event by event: each complete event (one JSON-RPC message, or
// a batch) goes out as soon as its blank line arrives, unchanged events byte for byte.
import { parsePreservingNumbers } from '../masking/json-values.ts';
import { SseParser, type SseEvent } from '../sse/parser.ts';
import { formatSseEvent } from '../sse/serialize.ts';
import { outcome, type McpMessageOutcome, type Work } from './answer.ts';

/** Governs an MCP event stream event by event; unchanged events go out byte for byte. */
export class McpSseRelay {
  private readonly parser = new SseParser();
  private readonly govern: (msg: unknown, w: Work) => unknown;
  private readonly onMessage: (o: McpMessageOutcome) => void;

  constructor(govern: (msg: unknown, w: Work) => unknown, onMessage: (o: McpMessageOutcome) => void) {
    this.govern = govern;
    this.onMessage = onMessage;
  }

  /** Throws SseBlockTooLargeError when an event grows past the parser's limit. */
  push(chunk: Buffer): Buffer {
    return this.emit(this.parser.push(chunk));
  }

  /** Bytes of an event still arriving. */
  get pendingBytes(): number {
    return this.parser.pendingBytes;
  }

  /** The stream ended: an unterminated last event is dropped, as a client would. */
  end(): Buffer {
    this.parser.end();
    return Buffer.alloc(0);
  }

  private emit(events: SseEvent[]): Buffer {
    if (events.length === 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (const ev of events) {
      const out = this.event(ev);
      if (out !== undefined) parts.push(out);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private event(ev: SseEvent): Buffer | undefined {
    // Comments, keep-alives and the transport's priming event (an id and no data) carry nothing.
    if (ev.data === undefined || ev.data === '') return ev.raw;
    let value: unknown;
    try {
      value = parsePreservingNumbers(ev.data);
    } catch {
      this.onMessage({ counts: {}, hidden: 0, unreadable: true });
      return undefined;
    }
    const list = Array.isArray(value) ? (value as unknown[]) : [value];
    const out: unknown[] = [];
    let changed = false;
    for (const msg of list) {
      const w: Work = { counts: {}, hidden: 0, changed: false };
      const sent = this.govern(msg, w);
      changed ||= w.changed || sent !== msg;
      if (sent !== undefined) out.push(sent);
      this.onMessage(outcome(msg, w));
    }
    if (!changed) return ev.raw;
    if (out.length === 0) return undefined;
    return Buffer.from(
      formatSseEvent({ event: ev.event, id: ev.id, retry: ev.retry, data: JSON.stringify(Array.isArray(value) ? out : out[0]) }),
      'utf8',
    );
  }
}

/** Our own messages (refusals) as one SSE event each. */
export function sseMessages(messages: readonly Record<string, unknown>[]): Buffer {
  return Buffer.from(messages.map((m) => formatSseEvent({ event: 'message', data: JSON.stringify(m) })).join(''), 'utf8');
}
