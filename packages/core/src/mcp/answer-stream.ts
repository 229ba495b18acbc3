// An MCP event stream, governed event by event: each complete event (one JSON-RPC message, or
// a batch) goes out as soon as its blank line arrives, unchanged events byte for byte. The lines
// beside an event's data (comments, its id, an unknown event name) are masked by the scope's
// detectors first (masking/sse-framing.ts), as in a Messages stream.
import type { Masking } from '../masking/index.ts';
import { parsePreservingNumbers } from '../masking/json-values.ts';
import { maskFraming } from '../masking/sse-framing.ts';
import { firstDuplicateKey } from '../util/json-keys.ts';
import { SseParser, type SseEvent } from '../sse/parser.ts';
import { formatSseEvent } from '../sse/serialize.ts';
import { outcome, type McpMessageOutcome, type Work } from './answer.ts';

/** Governs an MCP event stream event by event; unchanged events go out byte for byte. */
export class McpSseRelay {
  private readonly parser = new SseParser();
  private readonly govern: (msg: unknown, w: Work) => unknown;
  private readonly onMessage: (o: McpMessageOutcome) => void;
  private readonly masking: Masking | undefined;

  constructor(govern: (msg: unknown, w: Work) => unknown, onMessage: (o: McpMessageOutcome) => void, masking?: Masking) {
    this.govern = govern;
    this.onMessage = onMessage;
    this.masking = masking?.active === true ? masking : undefined;
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

  /**
   * The event with its lines beside the data masked; what they held counts into `w`, the first
   * message's work: a block category there makes that message blocked (a response becomes an
   * error, anything else is dropped), and the line itself is left out.
   */
  private framing(input: SseEvent, w: Work): SseEvent {
    const masking = this.masking;
    if (masking === undefined) return input;
    return maskFraming(input, (line) => {
      const r = masking.maskText(line);
      for (const k in r.counts) w.counts[k] = (w.counts[k] ?? 0) + r.counts[k]!;
      if (r.blocked === undefined) return r.text;
      w.blocked ??= r.blocked;
      return undefined;
    });
  }

  private event(input: SseEvent): Buffer | undefined {
    const fw: Work = { counts: {}, hidden: 0, changed: false };
    const ev = this.framing(input, fw);
    // Comments, keep-alives and the transport's priming event (an id and no data) carry nothing
    // more: their lines were masked above.
    if (ev.data === undefined || ev.data === '') {
      if (ev !== input) this.onMessage(outcome(undefined, fw));
      return ev.raw;
    }
    let value: unknown;
    try {
      value = parsePreservingNumbers(ev.data);
    } catch {
      this.onMessage({ counts: {}, hidden: 0, unreadable: true });
      return undefined;
    }
    const list = Array.isArray(value) ? (value as unknown[]) : [value];
    if (list.length === 0 && ev !== input) this.onMessage(outcome(undefined, fw));
    const out: unknown[] = [];
    // (only the framing changed: the rebuilt event's bytes, its data as the server wrote it)
    let changed = false;
    for (let i = 0; i < list.length; i++) {
      const msg = list[i];
      // the framing's matches are the first message's (its audit record)
      const w: Work = i === 0 ? fw : { counts: {}, hidden: 0, changed: false };
      const sent = this.govern(msg, w);
      changed ||= w.changed || sent !== msg;
      if (sent !== undefined) out.push(sent);
      this.onMessage(outcome(msg, w));
    }
    // (a key repeated in one object is serialized away, as in a JSON answer: McpAnswer.json)
    if (!changed && firstDuplicateKey(ev.data, { caseFold: false }) === undefined) return ev.raw;
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
