// The Pike VM that runs a compiled custom pattern (custom-program.ts) over response text: find()
// for the masking scan, hold() for how much of a streamed response must wait for more text. Each
// text position is handled once, with at most one thread per NFA state, which is what keeps custom
// patterns linear-time; the thread lists are preallocated and reused, so the work per character
// allocates nothing.

import type { Detector, Span } from './detector.ts';
import type { CharSet } from './custom-charset.ts';
import type { Node } from './custom-reader.ts';
import { compileProgram, OP_CHAR, OP_MATCH, OP_NWORDB, OP_SPLIT, OP_WORDB } from './custom-program.ts';
import type { Sizes } from './custom-program.ts';

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95 || (c >= 97 && c <= 122);
}

/** A compiled custom pattern: a Detector plus the facts the docs and tests look at. */
export interface CustomDetector extends Detector {
  readonly minLen: number;
  readonly maxMatch: number;
  readonly states: number;
}

export class PikeDetector implements CustomDetector {
  readonly id: string;
  readonly category: string;
  readonly maxLen: number;
  readonly minLen: number;
  readonly maxMatch: number;
  readonly states: number;
  /** Set when the pattern can begin with \b or \B (the only way it reads the character before a match). */
  readonly leftContext: ((text: string, q: number) => boolean) | undefined;
  private readonly op: Uint8Array;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly set: (CharSet | null)[];
  private readonly start: number;
  private readonly skip: RegExp;
  /**
   * A literal every match contains, at an offset from the match start in [litMin, litMax]
   * ("-" at 2..8 in [a-z]{2,8}-[0-9]{4,8}). Threads start only where an occurrence of it
   * can follow; in between, the scan jumps from occurrence to occurrence with indexOf.
   */
  private readonly lit: string;
  private readonly litMin: number;
  private readonly litMax: number;
  private readonly first: CharSet;
  /** In hold(): an assertion was reached at the end of the text (its outcome is not known yet). */
  private endUnknown = false;
  private endMin = 0;
  // scratch (one match runs at a time; JavaScript is single-threaded)
  private readonly mark: Int32Array;
  private gen = 0;
  private cs: Int32Array;
  private cp: Int32Array;
  private ns: Int32Array;
  private np: Int32Array;
  private readonly stack: Int32Array;

  constructor(name: string, ast: Node, z: Sizes) {
    this.id = `custom/${name}`;
    this.category = name;
    this.minLen = z.min;
    this.maxMatch = z.max;
    this.maxLen = z.max + 1; // \b may look at the character after the match
    const { states: count, op, a, b, set, start, leadingAssert, first, skip, lit, litMin, litMax } = compileProgram(ast);
    this.states = count;
    this.op = op;
    this.a = a;
    this.b = b;
    this.set = set;
    this.start = start;
    // a non-word character before q reads as the boundary a mask's ']' would be
    this.leftContext = leadingAssert ? (text, q) => isWordChar(text.charCodeAt(q - 1)) : undefined;
    this.first = first;
    this.skip = skip;
    this.lit = lit;
    this.litMin = litMin;
    this.litMax = litMax;
    this.mark = new Int32Array(count);
    this.cs = new Int32Array(count);
    this.cp = new Int32Array(count);
    this.ns = new Int32Array(count);
    this.np = new Int32Array(count);
    this.stack = new Int32Array(count * 2 + 2);
  }

  /** Adds `state` and its epsilon closure at position `pos` to list (s, p); returns the new length. */
  // The Pike VM's innermost step, run per state per character: an options object here would allocate on
  // every character of every response, so it keeps positional parameters (the one max-params exception).
  // eslint-disable-next-line max-params
  private addThread(ls: Int32Array, lp: Int32Array, n: number, state: number, startPos: number, text: string, pos: number): number {
    const { op, a, b, mark, stack } = this;
    const gen = this.gen;
    let sp = 0;
    stack[sp++] = state;
    while (sp > 0) {
      const s = stack[--sp]!;
      if (mark[s] === gen) continue;
      mark[s] = gen;
      switch (op[s]) {
        case OP_SPLIT:
          stack[sp++] = b[s]!;
          stack[sp++] = a[s]!;
          break;
        case OP_WORDB:
        case OP_NWORDB: {
          if (this.endUnknown && pos === text.length) {
            // hold(): the character after the end has not arrived yet
            // Stryker disable next-line EqualityOperator: at equality the same value is written
            if (startPos < this.endMin) this.endMin = startPos;
            break;
          }
          // (charCodeAt out of range is NaN: not a word character)
          const before = isWordChar(text.charCodeAt(pos - 1));
          const after = isWordChar(text.charCodeAt(pos));
          if ((before !== after) === (op[s] === OP_WORDB)) stack[sp++] = a[s]!;
          break;
        }
        default:
          ls[n] = s;
          lp[n] = startPos;
          n++;
      }
    }
    return n;
  }

  find(text: string, from: number, out: Span): number {
    const len = text.length;
    const { op, a, set, first, lit, litMin, litMax } = this;
    // Stryker disable next-line StringLiteral,ConditionalExpression: with an empty literal indexOf('', q) is q, so every check on the literal passes and only the skipping is lost
    const useLit = lit !== '';
    let occ = -1; // the first occurrence of lit at or after p + litMin (when useLit)
    let bestStart = -1;
    let bestEnd = 0; // (read only once bestStart >= 0)
    let cn = 0;
    let p = from;
    this.gen++;
    for (;;) {
      // Stryker disable next-line all: occ only decides where threads may start; a stale or early occ lets more start, each checked by the NFA, and a fresh one is what the cached one already was
      if (useLit && occ < p + litMin) occ = text.indexOf(lit, p + litMin);
      if (cn === 0) {
        if (bestStart >= 0) break;
        // Stryker disable next-line ConditionalExpression,EqualityOperator: at or past the end both scans below find nothing and return -1
        if (p >= len) return -1;
        // next position that can start a match: a first character, and (with a literal) an
        // occurrence of the literal at a feasible offset after it; two native scans alternate
        let next = p;
        for (;;) {
          // Stryker disable next-line ConditionalExpression: with an empty literal indexOf('', q) is q: every check on it passes
          if (useLit) {
            // Stryker disable next-line ConditionalExpression,EqualityOperator: an occurrence at or after next + litMin is already the first one there: searching again finds it
            if (occ < next + litMin) occ = text.indexOf(lit, next + litMin);
            if (occ < 0) return -1;
            // Stryker disable next-line ConditionalExpression,EqualityOperator: not jumping ahead only tries positions where the literal is too far away (no thread starts there)
            if (occ - litMax > next) next = occ - litMax;
          }
          this.skip.lastIndex = next;
          const m = this.skip.exec(text);
          if (m === null) return -1;
          next = m.index;
          // Stryker disable next-line ConditionalExpression,ArithmeticOperator: stopping earlier only tries a position where the literal cannot follow (its thread finds no match)
          if (!useLit || next + litMin <= occ) break;
        }
        // Stryker disable next-line all: not moving p tries every position one by one (same matches, slower); the gen bump only clears marks of states that led nowhere at this position
        if (next !== p) {
          // (the loop above left occ >= next + litMin)
          p = next;
          this.gen++;
        }
      }
      // a match starting at p needs an occurrence of lit in [p + litMin, p + litMax]
      // (past the end charCodeAt is NaN, in no set)
      if (bestStart < 0 && first.has(text.charCodeAt(p)) && (!useLit || (occ >= 0 && occ <= p + litMax))) {
        cn = this.addThread(this.cs, this.cp, cn, this.start, p, text, p);
      }
      this.gen++;
      let nn = 0;
      const cs = this.cs;
      const cp = this.cp;
      const c = text.charCodeAt(p);
      for (let i = 0; i < cn; i++) {
        const s = cs[i]!;
        const st = cp[i]!;
        if (bestStart >= 0 && st > bestStart) continue;
        if (op[s] === OP_MATCH) {
          // this thread starts at or before bestStart (above), and p grows by one per step with one
          // MATCH thread per step: its match is further left, or as far left and longer
          bestStart = st;
          bestEnd = p;
          continue;
        }
        if (set[s]!.has(c)) nn = this.addThread(this.ns, this.np, nn, a[s]!, st, text, p + 1);
      }
      // swap lists
      this.cs = this.ns;
      this.cp = this.np;
      this.ns = cs;
      this.np = cp;
      cn = nn;
      // past the end no character matches (charCodeAt is NaN): cn is 0, and the scan above returns
      p++;
    }
    out.start = bestStart;
    out.end = bestEnd;
    return bestStart;
  }

  /**
   * Exact: runs the NFA over the last maxLen characters, starting a thread at every position
   * that can start a match, and reports the earliest start that still has a live thread at
   * the end of the text (it could still match, or match longer).
   */
  hold(text: string, from: number, upTo: number): number {
    const len = text.length;
    let lo = len - this.maxLen;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a thread that starts more than maxLen characters before the end is dead or matched by the end: starting from `from` adds none that is still live
    if (lo < from) lo = from;
    // Stryker disable next-line all: a thread starting at or after upTo cannot lower the answer (at most upTo) and comes after every earlier one in the list; at the end charCodeAt is NaN, in no first set
    const hi = upTo < len ? upTo : len;
    const { op, a, set, first } = this;
    this.endUnknown = true;
    this.endMin = upTo;
    this.gen++;
    let cn = 0;
    // Stryker disable next-line EqualityOperator: the pass at p === len starts no thread (p < hi <= len) and stops before stepping
    for (let p = lo; p <= len; p++) {
      if (p < hi && first.has(text.charCodeAt(p))) cn = this.addThread(this.cs, this.cp, cn, this.start, p, text, p);
      if (p === len) break;
      this.gen++;
      let nn = 0;
      const cs = this.cs;
      const cp = this.cp;
      const c = text.charCodeAt(p);
      for (let i = 0; i < cn; i++) {
        const s = cs[i]!;
        if (op[s] === OP_CHAR && set[s]!.has(c)) nn = this.addThread(this.ns, this.np, nn, a[s]!, cp[i]!, text, p + 1);
      }
      this.cs = this.ns;
      this.cp = this.np;
      this.ns = cs;
      this.np = cp;
      cn = nn;
    }
    this.endUnknown = false;
    let best = this.endMin;
    for (let i = 0; i < cn; i++) {
      const s = this.cs[i]!;
      // Stryker disable next-line EqualityOperator: at equality the same value is written
      if (op[s] === OP_CHAR && this.cp[i]! < best) best = this.cp[i]!;
    }
    return best;
  }
}
