// Compiles a parsed custom pattern (custom-parser.ts) into the program the Pike VM in custom.ts
// runs: a Thompson NFA as flat arrays (an opcode, two successors and a character set per state),
// and what lets find() skip text without starting threads: the characters a match can start with
// and a literal every match contains. It runs once, when a scope is loaded; the VM only reads the
// result, so the work per response is the VM's alone.

import { CharSet } from './custom-charset.ts';
import type { Ranges } from './custom-charset.ts';
import type { Node } from './custom-reader.ts';

export const OP_MATCH = 0;
export const OP_CHAR = 1;
export const OP_SPLIT = 2;
export const OP_WORDB = 3;
export const OP_NWORDB = 4;

export interface Sizes {
  min: number;
  max: number;
  states: number;
}

export function sizes(n: Node): Sizes {
  switch (n.t) {
    case 'set':
      return { min: 1, max: 1, states: 1 };
    case 'assert':
      return { min: 0, max: 0, states: 1 };
    case 'seq': {
      let min = 0;
      let max = 0;
      let states = 0;
      for (const it of n.items) {
        const z = sizes(it);
        min += z.min;
        max += z.max;
        states += z.states;
      }
      return { min, max, states };
    }
    case 'alt': {
      let min = Infinity;
      let max = 0;
      let states = 0;
      for (const a of n.alts) {
        const z = sizes(a);
        // Stryker disable next-line EqualityOperator: at equality the same value is written
        if (z.min < min) min = z.min;
        // Stryker disable next-line EqualityOperator: at equality the same value is written
        if (z.max > max) max = z.max;
        states += z.states + 1;
      }
      return { min, max, states };
    }
    case 'rep': {
      const z = sizes(n.node);
      return { min: z.min * n.min, max: z.max * n.max, states: (z.states + 1) * n.max };
    }
  }
}

/** A compiled custom pattern: the NFA (state 0 is the match state) and what find() skips by. */
export interface Program {
  readonly states: number;
  readonly op: Uint8Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly set: (CharSet | null)[];
  readonly start: number;
  /** The pattern can begin with \b or \B (whether it matches depends on the character before it). */
  readonly leadingAssert: boolean;
  /** The characters a match can start with; skip is a class of them, for find() to search with. */
  readonly first: CharSet;
  readonly skip: RegExp;
  /** A literal every match contains, at an offset from the match start in [litMin, litMax]; '' if none. */
  readonly lit: string;
  readonly litMin: number;
  readonly litMax: number;
}

export function compileProgram(ast: Node): Program {
  const op: number[] = [OP_MATCH];
  // Stryker disable next-line UnaryOperator: state 0 is the match state, whose successors are never read
  const a: number[] = [-1];
  // Stryker disable next-line UnaryOperator: state 0 is the match state, whose successors are never read
  const b: number[] = [-1];
  const sets: (CharSet | null)[] = [null];
  const add = (o: number, x: number, y: number, cs: CharSet | null): number => {
    op.push(o);
    a.push(x);
    b.push(y);
    sets.push(cs);
    return op.length - 1;
  };
  const setCache = new Map<string, CharSet>();
  const charset = (r: Ranges): CharSet => {
    const key = r.join(',');
    let cs = setCache.get(key);
    // Stryker disable next-line ConditionalExpression: without the cache each state gets its own equal CharSet
    if (cs === undefined) setCache.set(key, (cs = new CharSet(r)));
    return cs;
  };
  // Successors are always created first, so every state's successors have smaller ids.
  const emit = (n: Node, next: number): number => {
    switch (n.t) {
      case 'set':
        // Stryker disable next-line UnaryOperator: a character state has one successor; its second is never read
        return add(OP_CHAR, next, -1, charset(n.r));
      case 'assert':
        // Stryker disable next-line UnaryOperator: an assertion state has one successor; its second is never read
        return add(n.word ? OP_WORDB : OP_NWORDB, next, -1, null);
      case 'seq': {
        let s = next;
        for (let i = n.items.length - 1; i >= 0; i--) s = emit(n.items[i]!, s);
        return s;
      }
      case 'alt': {
        const starts = n.alts.map((x) => emit(x, next));
        let s = starts[starts.length - 1]!;
        for (let i = starts.length - 2; i >= 0; i--) s = add(OP_SPLIT, starts[i]!, s, null);
        return s;
      }
      case 'rep': {
        let s = next;
        for (let k = 0; k < n.max - n.min; k++) s = add(OP_SPLIT, emit(n.node, s), next, null);
        for (let k = 0; k < n.min; k++) s = emit(n.node, s);
        return s;
      }
    }
  };
  const start = emit(ast, 0);
  const count = op.length;
  // the characters a match can start with (to skip ahead and to pick hold candidates)
  const firstR: Ranges = [];
  const seen = new Uint8Array(count);
  const st = [start];
  // Stryker disable next-line BooleanLiteral: a leftContext that always says yes over-approximates, which detector.ts allows (the engine's re-try of a pattern that reads no character before it finds what the first attempt found)
  let leadingAssert = false;
  while (st.length > 0) {
    const s = st.pop()!;
    // Stryker disable next-line ConditionalExpression: the NFA has no cycles: revisiting a state only pushes its first characters again
    if (seen[s]) continue;
    seen[s] = 1;
    const o = op[s];
    if (o === OP_SPLIT) st.push(a[s]!, b[s]!);
    else if (o === OP_WORDB || o === OP_NWORDB) {
      leadingAssert = true;
      st.push(a[s]!);
      // only character states are left: the match state is never reached from the start without a
      // character (a pattern cannot match empty text)
    } else firstR.push(...rangesOf(sets[s]!));
  }
  const first = new CharSet(firstR);
  const skip = new RegExp(first.classSource(), 'g');
  const lit = requiredLiteral(ast);
  return {
    states: count,
    op: Uint8Array.from(op),
    a: Int32Array.from(a),
    b: Int32Array.from(b),
    set: sets,
    start,
    leadingAssert,
    first,
    skip,
    lit: lit.text,
    litMin: lit.min,
    litMax: lit.max,
  };
}

/**
 * The longest run of literal characters in the pattern's top-level sequence, with the range of
 * offsets (from the match start) it can appear at; text '' when there is none (e.g. a top-level
 * alternation).
 */
function requiredLiteral(n: Node): { text: string; min: number; max: number } {
  const items: Node[] = [];
  const flat = (x: Node) => {
    // Stryker disable next-line CallExpression: without the items no literal is found, and find() scans position by position: the same matches
    if (x.t === 'seq') for (const it of x.items) flat(it);
    else items.push(x);
  };
  // Stryker disable next-line CallExpression: without the literal find() scans position by position: the same matches
  flat(n);
  let best = { text: '', min: 0, max: 0 };
  let min = 0;
  let max = 0;
  let run = '';
  let runMin = 0;
  let runMax = 0;
  for (const it of items) {
    if (it.t === 'set' && it.r.length === 2 && it.r[0] === it.r[1]) {
      if (run === '') {
        runMin = min;
        runMax = max;
      }
      // Stryker disable next-line AssignmentOperator: a run made NaN has no length and is never chosen: no literal, the same matches
      run += String.fromCharCode(it.r[0]!);
    } else {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: every run is a literal each match contains at its offsets; which one is used only changes how far find() skips
      if (run.length > best.text.length) best = { text: run, min: runMin, max: runMax };
      run = '';
    }
    const z = sizes(it);
    min += z.min;
    max += z.max;
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: every run is a literal each match contains at its offsets; which one is used only changes how far find() skips
  if (run.length > best.text.length) best = { text: run, min: runMin, max: runMax };
  return best;
}

function rangesOf(cs: CharSet): Ranges {
  const r: Ranges = [];
  // Stryker disable next-line EqualityOperator,ConditionalExpression: ascii[128] is undefined, never 1; a wider first set only starts threads that die on their first character
  for (let c = 0; c < 128; c++) if (cs.ascii[c] === 1) r.push(c, c);
  for (let i = 0; i < cs.hi.length; i++) r.push(cs.hi[i]!);
  return r;
}
