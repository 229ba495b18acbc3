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

import { BUILTIN, BUILTIN_CATEGORIES } from './builtin.ts';
import { compileCustomPattern } from './custom.ts';
import type { Detector, Span } from './detector.ts';
import { MaskingConfigError } from './errors.ts';
import { fold, originalEnd, originalStart, settledLength, type Folded } from './normalize.ts';

export interface CustomPatternPolicy {
  /** Category name: [MASKED:<name>], counts and metrics. A DNS label, not a built-in name. */
  name: string;
  /** Pattern in the supported regex subset (see docs/masking.md). */
  pattern: string;
  /** Default 'mask'. */
  action?: 'mask' | 'block';
}

/** The `data` section of a ModelScope (ModelScopeSpecData is assignable to it). */
export interface MaskingPolicy {
  mask?: readonly string[];
  block?: readonly string[];
  custom?: readonly CustomPatternPolicy[];
}

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

/** Left context kept before the cursor of a stream (detectors look one character back). */
const CONTEXT = 8;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

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
    if (eng.detectors.length === 0) return s;
    let prev = this.buf;
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
    // Stryker disable next-line EqualityOperator: a scan up to its own cursor emits nothing
    if (limit > cur) {
      out = eng.scan(buf, cur, limit, this.tally, scanMode(this.glued, false));
      next = eng.cursor;
      this.glued = eng.glued;
    }
    // Stryker disable next-line EqualityOperator: where the buffer is cut only changes its size
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
    // Stryker disable next-line EqualityOperator: a scan up to its own cursor emits nothing
    if (limit > fcur) {
      out = eng.scanFolded({ f, orig: whole }, { cursor: fcur, oc: cur }, limit, this.tally, scanMode(this.glued, false));
      next = eng.origCursor;
      fnext = eng.cursor;
      this.glued = eng.glued;
    }
    // Stryker disable next-line EqualityOperator: where the buffer is cut only changes its size
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
    // Stryker disable next-line EqualityOperator: at cur === buf.length the scan finds nothing either
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

/** The first folded position whose code point starts at or after original offset `orig`. */
function foldedIndex(f: Folded, orig: number): number {
  let i = 0;
  while (i < f.text.length && f.from[i]! < orig) i++;
  return i;
}

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

/** Builds the engine for a policy; throws MaskingConfigError naming the field and the fix. */
export function buildEngine(policy: MaskingPolicy | undefined): Engine {
  const mask = policy?.mask ?? [];
  const block = policy?.block ?? [];
  const custom = policy?.custom ?? [];
  const customNames = new Map<string, number>();
  custom.forEach((c, i) => {
    const where = `data.custom[${i}].name`;
    if (typeof c?.name !== 'string' || !DNS_LABEL.test(c.name)) {
      throw new MaskingConfigError(
        where,
        `"${String(c?.name)}" is not a valid name: use lower-case letters, digits and '-', at most 63 characters (it appears as [MASKED:<name>])`,
      );
    }
    if (BUILTIN_CATEGORIES.includes(c.name)) {
      throw new MaskingConfigError(
        where,
        `"${c.name}" is a built-in category; list it under data.mask or data.block instead, or pick another name for the custom pattern`,
      );
    }
    if (customNames.has(c.name)) {
      throw new MaskingConfigError(where, `"${c.name}" is already used by data.custom[${customNames.get(c.name)}]; names must be unique`);
    }
    if (c.action !== undefined && c.action !== 'mask' && c.action !== 'block') {
      throw new MaskingConfigError(`data.custom[${i}].action`, `"${String(c.action)}" is not an action: use mask or block`);
    }
    customNames.set(c.name, i);
  });
  const known = [...BUILTIN_CATEGORIES, ...customNames.keys()];
  const check = (list: readonly string[], field: string) =>
    list.forEach((cat, i) => {
      if (!known.includes(cat)) {
        const hint = suggest(cat, known);
        throw new MaskingConfigError(
          `data.${field}[${i}]`,
          `unknown category "${cat}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${known.join(', ')}`,
        );
      }
    });
  check(mask, 'mask');
  check(block, 'block');
  const blockSet = new Set<string>(block);
  const enabled = new Set<string>([...mask, ...block]);
  for (const c of custom) {
    enabled.add(c.name);
    if (c.action === 'block') blockSet.add(c.name);
  }
  const detectors: Detector[] = [];
  for (const [cat, dets] of BUILTIN) if (enabled.has(cat)) detectors.push(...dets);
  custom.forEach((c, i) => detectors.push(compileCustomPattern(c.name, c.pattern, `data.custom[${i}].pattern`)));
  return new Engine(detectors, blockSet);
}

function suggest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
