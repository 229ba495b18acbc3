// Masking of one text that arrives in pieces (a streamed content block, a JSON string value of a
// streamed tool input). Each piece goes out at once, but for its tail that a detector could still
// match with the next piece (Engine.holdLimit); the output, concatenated, equals maskString of the
// whole text, for any split.

import { scanMode, type Engine, type Tally } from './engine.ts';
import { fold, settledLength, type Folded } from './normalize.ts';

/** Left context kept before the cursor of a stream (detectors look one character back). */
const CONTEXT = 8;

/**
 * Incremental masking of one growing text (a content block, a JSON string value). push()
 * returns what can be sent now; finish() returns the rest once the text is complete.
 */
export class TextStream {
  private readonly engine: Engine;
  private readonly tally: Tally;
  private buf = '';
  private cur = 0;
  /** cur is the end of a masked value */
  // Stryker disable next-line BooleanLiteral: at offset 0 nothing is glued either way (a glued attempt needs q > 0)
  private glued = false;

  constructor(engine: Engine, tally: Tally) {
    this.engine = engine;
    this.tally = tally;
  }

  /** Characters received but not yet emitted. */
  get pending(): number {
    return this.buf.length - this.cur;
  }

  push(s: string): string {
    if (this.tally.blocked !== undefined) return '';
    const eng = this.engine;
    // Stryker disable next-line ConditionalExpression: without detectors the scan passes the text on; the test only saves its work (docs/testing.md)
    if (eng.detectors.length === 0) return s;
    let prev = this.buf;
    // Stryker disable next-line ConditionalExpression,BlockStatement: emitted text is kept only as left context; trimming it only saves copying (docs/testing.md)
    if (this.cur === prev.length) {
      // Stryker disable next-line all: keeping CONTEXT characters of emitted text (not all of it) only saves copying; detectors look one character back
      if (prev.length > CONTEXT) prev = prev.slice(-CONTEXT);
    }
    const buf = prev + s;
    const cur = buf.length - s.length - this.pending;
    // a high surrogate or a '%' at the end waits for what follows before it is folded
    const whole = buf.slice(0, settledLength(buf));
    const f = fold(whole);
    if (f !== undefined) return this.pushFolded(buf, whole, f, cur);
    // held as `whole`: what waits may continue a value (the first half of a digit, 𝟏 or 𞥑; "%40"
    // is '@'), not end it
    const limit = eng.holdLimit(whole, cur, this.glued);
    let out = '';
    let next = cur;
    // Stryker disable next-line EqualityOperator,ConditionalExpression: a scan up to its own cursor emits nothing
    if (limit > cur) {
      out = eng.scan(buf, cur, limit, this.tally, scanMode(this.glued, false));
      next = eng.cursor;
      this.glued = eng.glued;
    }
    // Stryker disable next-line EqualityOperator,ConditionalExpression: where the buffer is cut only changes its size
    if (next > 4 * CONTEXT) {
      this.buf = buf.slice(next - CONTEXT);
      this.cur = CONTEXT;
    } else {
      this.buf = buf;
      this.cur = next;
    }
    return out;
  }

  /** push() for text that folding changes: detectors run on the folded text, the original is emitted. */
  private pushFolded(buf: string, whole: string, f: Folded, cur: number): string {
    const eng = this.engine;
    const fcur = foldedIndex(f, cur);
    const limit = eng.holdLimit(f.text, fcur, this.glued);
    let out = '';
    let next = cur;
    let fnext = fcur;
    // Stryker disable next-line EqualityOperator,ConditionalExpression: a scan up to its own cursor emits nothing
    if (limit > fcur) {
      out = eng.scanFolded({ f, orig: whole }, { cursor: fcur, oc: cur }, limit, this.tally, scanMode(this.glued, false));
      next = eng.origCursor;
      fnext = eng.cursor;
      this.glued = eng.glued;
    }
    // Stryker disable next-line EqualityOperator,ConditionalExpression: where the buffer is cut only changes its size
    if (fnext > 4 * CONTEXT) {
      // keep CONTEXT folded characters of left context (whole code points)
      const cut = Math.min(f.from[fnext - CONTEXT]!, next);
      this.buf = buf.slice(cut);
      this.cur = next - cut;
    } else {
      this.buf = buf;
      this.cur = next;
    }
    return out;
  }

  finish(): string {
    const buf = this.buf;
    const cur = this.cur;
    const glued = this.glued;
    this.buf = '';
    this.cur = 0;
    // Stryker disable next-line BooleanLiteral: at offset 0 nothing is glued either way
    this.glued = false;
    if (this.tally.blocked !== undefined) return '';
    // Stryker disable next-line EqualityOperator,ConditionalExpression: an empty rest scans to nothing either
    if (cur >= buf.length) return '';
    const f = fold(buf);
    if (f === undefined) return this.engine.scan(buf, cur, buf.length, this.tally, scanMode(glued, true));
    return this.engine.scanFolded(
      { f, orig: buf },
      { cursor: foldedIndex(f, cur), oc: cur },
      f.text.length,
      this.tally,
      scanMode(glued, true),
    );
  }
}

/** The first folded position whose code point starts at or after original offset `orig`. */
function foldedIndex(f: Folded, orig: number): number {
  let i = 0;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: f.from past its end reads undefined, which ends the loop as well (docs/testing.md)
  while (i < f.text.length && f.from[i]! < orig) i++;
  return i;
}
