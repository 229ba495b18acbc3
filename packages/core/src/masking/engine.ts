// The scanning core shared by one-shot and streaming masking.
//
// Semantics (the same for maskText and for a stream cut into any pieces): starting at a
// cursor, take the leftmost span any enabled detector reports; on a tie the longest; on a
// tie again the detector listed first. Replace it by [MASKED:<category>], continue after it.
//
// Streaming: for a text that is still growing, each detector says from where on its answer
// could still change (hold). Everything left of the smallest such position is final: masks
// starting there are emitted, the rest is held back and re-examined with the next piece.
// Because each decision is made from exactly the characters the one-shot scan would look at,
// the concatenated stream output equals maskText of the whole text, for any split.
//
// Right after a masked value the detectors see a boundary, as they would in the masked output
// (whose mask ends in ']'): "4111 1111 1111 1111jane@x.com" masks both values in one pass, so
// masking the output again changes nothing. Only the attempt exactly at the end of a mask is
// affected (a detector reads one character to the left); it is re-tried on a window that starts
// there, where every detector already treats the start of its text as a boundary.

import type { Detector, Span } from './detector.ts';
import { fold, originalEnd, originalStart, type Folded } from './normalize.ts';

/** Running totals of one response. */
export interface Tally {
  counts: Record<string, number> | null;
  /** The first block category found. */
  blocked: string | undefined;
  matches: number;
  /** When set, scan() records each match as (start, end, detector index). */
  spans?: number[];
}

export const newTally = (): Tally => ({ counts: null, blocked: undefined, matches: 0 });

export const EMPTY_COUNTS: Readonly<Record<string, number>> = Object.freeze({});

/** A detector's entry in Engine.qc when it has no attempt left in the text. */
const NONE = 0x7fffffff;

export class Engine {
  readonly detectors: readonly Detector[];
  readonly categories: readonly string[];
  readonly blockCategories: readonly string[];
  private readonly isBlock: Uint8Array;
  private readonly tokens: readonly string[];
  private readonly qc: Int32Array;
  private readonly sc: Int32Array;
  private readonly ec: Int32Array;
  private readonly span: Span = { start: 0, end: 0 };
  /** Cursor after the last scan() (saves allocating a result object). */
  cursor = 0;
  /** Whether that cursor is the end of a masked value. */
  glued = false;

  constructor(detectors: readonly Detector[], block: ReadonlySet<string>) {
    this.detectors = detectors;
    this.isBlock = Uint8Array.from(detectors, (d) => (block.has(d.category) ? 1 : 0));
    this.tokens = detectors.map((d) => `[MASKED:${d.category}]`);
    this.categories = [...new Set(detectors.map((d) => d.category))];
    this.blockCategories = this.categories.filter((c) => block.has(c));
    const n = detectors.length;
    this.qc = new Int32Array(n);
    this.sc = new Int32Array(n);
    this.ec = new Int32Array(n);
  }

  /**
   * Masks text[cursor, …): every match that starts before `limit` is replaced, text up to
   * `limit` (or the end of the last match) is emitted. Sets this.cursor to the first
   * character not emitted (and this.glued). `glued`: `cursor` is the end of a masked value;
   * `final`: the text is complete (else a glued attempt more text could change stops the scan).
   * Returns the emitted text.
   */
  scan(text: string, cursor: number, limit: number, tally: Tally, mode: ScanMode = WHOLE): string {
    const { glued, final } = mode;
    const dets = this.detectors;
    const n = dets.length;
    const qc = this.qc;
    const sc = this.sc;
    const ec = this.ec;
    const span = this.span;
    qc.fill(-1); // not looked for yet: before every cursor
    let out = '';
    let cur = cursor;
    // the end of the last masked value (-1: none); its attempt is re-tried once as glued (glue is
    // read only by the pass over the detectors right after that mask)
    let maskEnd = glued ? cursor : -1;
    let glue = maskEnd;
    for (;;) {
      let bi = -1;
      let bs = 0;
      let be = 0;
      for (let i = 0; i < n; i++) {
        let q = qc[i]!;
        // the detector's next attempt, looked for again once the cursor has passed it
        // Stryker disable next-line EqualityOperator: looking again at the cursor finds the same attempt
        if (q < cur) {
          q = dets[i]!.find(text, cur, span);
          if (q < 0) q = NONE;
          qc[i] = q;
          sc[i] = span.start; // (not read for NONE)
          ec[i] = span.end;
        }
        if (glue >= 0 && q !== glue && gluedAttempt(dets[i]!, text, glue, span)) {
          q = glue;
          qc[i] = q;
          sc[i] = span.start;
          ec[i] = span.end;
        }
        if (q === NONE) continue;
        const s = sc[i]!;
        const e = ec[i]!;
        if (bi < 0 || s < bs || (s === bs && e > be)) {
          bi = i;
          bs = s;
          be = e;
        }
      }
      if (bi < 0 || bs >= limit) break;
      out += text.slice(cur, bs) + this.tokens[bi];
      if (tally.spans !== undefined) tally.spans.push(bs, be, bi);
      const cat = dets[bi]!.category;
      const counts = tally.counts ?? (tally.counts = {});
      counts[cat] = (counts[cat] ?? 0) + 1;
      tally.matches++;
      if (this.isBlock[bi] === 1 && tally.blocked === undefined) tally.blocked = cat;
      cur = be;
      maskEnd = be;
      glue = be;
      // Stryker disable next-line EqualityOperator: at be === limit, limit = be changes nothing
      if (!final && be < limit) for (const d of dets) if (gluedUndetermined(d, text, be)) limit = be;
    }
    // A found attempt whose span starts at/after `limit` (e.g. "Bearer" at q, token later) must
    // stay reachable: plain text is emitted only up to the earliest such attempt.
    for (let i = 0; i < n; i++) limit = Math.min(limit, qc[i]!);
    // Stryker disable next-line EqualityOperator: at limit === cur there is nothing to add
    if (limit > cur) {
      out += text.slice(cur, limit);
      cur = limit;
    }
    this.cursor = cur;
    this.glued = maskEnd === cur;
    return out;
  }

  /** Original offset emitted up to after the last scanFolded(). */
  origCursor = 0;

  /**
   * scan() over the folded text of `orig` (see normalize.ts), emitting the ORIGINAL characters:
   * plain text as it was written, each match (whole code points) replaced by its token. `at.oc` is
   * the original offset already emitted; this.origCursor is set to the new one.
   */
  scanFolded(
    src: { f: Folded; orig: string },
    at: { cursor: number; oc: number },
    limit: number,
    tally: Tally,
    mode: ScanMode = WHOLE,
  ): string {
    const { f, orig } = src;
    let oc = at.oc;
    const spans: number[] = [];
    tally.spans = spans;
    try {
      this.scan(f.text, at.cursor, limit, tally, mode);
    } finally {
      tally.spans = undefined;
    }
    let out = '';
    for (let k = 0; k < spans.length; k += 3) {
      const start = originalStart(f, spans[k]!);
      out += orig.slice(oc, start); // nothing when start <= oc (a match inside a code point already replaced)
      out += this.tokens[spans[k + 2]!];
      oc = Math.max(oc, start, originalEnd(f, spans[k + 1]!));
    }
    const done = originalStart(f, this.cursor);
    // Stryker disable next-line EqualityOperator: at done === oc there is nothing to add
    if (done > oc) {
      out += orig.slice(oc, done);
      oc = done;
    }
    this.origCursor = oc;
    return out;
  }

  /**
   * The first position >= from whose outcome more text could still change. `glued`: `from`
   * is the end of a masked value.
   */
  holdLimit(text: string, from: number, glued = false): number {
    let best = text.length;
    const dets = this.detectors;
    if (glued) for (const d of dets) if (gluedUndetermined(d, text, from)) return from;
    for (let i = 0; i < dets.length && best > from; i++) {
      const h = dets[i]!.hold(text, from, best);
      // Stryker disable next-line EqualityOperator: at h === best, best = h changes nothing
      if (h < best) best = h;
    }
    // never split a surrogate pair between two emitted pieces
    if (best > from) {
      const c = text.charCodeAt(best - 1);
      if (c >= 0xd800 && c <= 0xdbff) best--;
    }
    return best;
  }

  /** One-shot masking of a whole string (the same string when nothing matched). */
  maskString(s: string, tally: Tally): string {
    if (this.detectors.length === 0 || s.length === 0) return s;
    const f = fold(s);
    return f === undefined ? this.scan(s, 0, s.length, tally) : this.scanFolded({ f, orig: s }, { cursor: 0, oc: 0 }, f.text.length, tally);
  }
}

/**
 * How a scan treats its text. `glued`: the cursor is the end of a masked value; `final`: the text is
 * complete (else a glued attempt that more text could change stops the scan). Four shared objects, so a
 * streamed chunk allocates none.
 */
export interface ScanMode {
  readonly glued: boolean;
  readonly final: boolean;
}
const WHOLE: ScanMode = Object.freeze({ glued: false, final: true });
const MODES: readonly ScanMode[] = [
  WHOLE,
  Object.freeze({ glued: true, final: true }),
  Object.freeze({ glued: false, final: false }),
  Object.freeze({ glued: true, final: false }),
];
export const scanMode = (glued: boolean, final: boolean): ScanMode => MODES[(glued ? 1 : 0) + (final ? 0 : 2)]!;

/**
 * The attempt of `d` at q (> 0) as if text[q-1] were a boundary. An attempt reads at most
 * text[q-1 .. q+maxLen] and every detector treats the start of its text as a boundary, so the
 * window text[q .. q+maxLen] answers exactly that. Writes the span (in `text`) to `out`.
 */
function gluedAttempt(d: Detector, text: string, q: number, out: Span): boolean {
  if (q === 0 || q >= text.length || d.leftContext === undefined || !d.leftContext(text, q)) return false;
  if (d.find(text.slice(q, q + d.maxLen + 1), 0, out) !== 0) return false;
  out.start += q;
  out.end += q;
  return true;
}

/** Whether more text could still change the glued attempt of `d` at q. */
function gluedUndetermined(d: Detector, text: string, q: number): boolean {
  if (q === 0 || q >= text.length || q + d.maxLen < text.length || d.leftContext === undefined) return false;
  if (!d.leftContext(text, q)) return false;
  return d.hold(text.slice(q), 0, 1) === 0;
}
