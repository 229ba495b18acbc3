// Custom patterns from a ModelScope (data.custom[].pattern), matched in linear time.
//
// A scope author's regex must not be able to stall the data path, so custom patterns are not
// handed to V8's backtracking engine. They are parsed here (a JavaScript-regex subset),
// compiled to a Thompson NFA and run by a Pike VM: every text position is handled once, with
// at most one thread per NFA state, so the cost is O(text length x pattern size) whatever the
// pattern. (V8's own linear engine needs a process-wide flag that a library cannot rely on.)
//
// Supported: literals and escapes (\. \\ \t \n \r \f \v \0 \xHH \uHHHH), '.', classes with
// ranges and negation, \d \D \w \W \s \S, groups ( ), (?: ), (?<name> ), alternation |,
// quantifiers ? {n} {n,m} (m <= 256), word boundaries \b \B. Not supported, with a message
// that says what to write instead: backreferences, lookaround, ^ $, unbounded quantifiers
// (* + {n,}), lazy quantifiers, inline flags, \p{…}. A match is at most 256 characters long
// (that bound is also how much a streamed response holds back for this pattern) and the
// longest match at the leftmost position wins.
/* eslint max-lines: ['error', { max: 800, skipBlankLines: true, skipComments: true }] -- the parser, the compiler and the Pike VM share one instruction encoding; split, each would export the others' internals */

import { MaskingConfigError } from './errors.ts';
import type { Detector, Span } from './detector.ts';

export const CUSTOM_MAX_MATCH = 256;
const MAX_STATES = 2048;

// ----------------------------------------------------------------------- character sets

/** Sorted, non-overlapping inclusive UTF-16 code unit ranges: [lo0, hi0, lo1, hi1, …]. */
type Ranges = number[];

function normalize(r: Ranges): Ranges {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    // (out[-1] is undefined: the comparison with NaN is false for the first pair)
    if (lo <= out[n - 1]! + 1) {
      // Stryker disable next-line EqualityOperator: at equality the same bound is written
      if (hi > out[n - 1]!) out[n - 1] = hi;
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

function complement(r: Ranges): Ranges {
  const n = normalize(r);
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < n.length; i += 2) {
    if (n[i]! > next) out.push(next, n[i]! - 1);
    next = n[i + 1]! + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

const DIGIT: Ranges = [48, 57];
const WORDR: Ranges = [48, 57, 65, 90, 95, 95, 97, 122];
const SPACE: Ranges = [
  9, 13, 32, 32, 160, 160, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
];
const DOT: Ranges = complement([10, 10, 13, 13, 0x2028, 0x2029]);

class CharSet {
  readonly ascii = new Uint8Array(128);
  readonly hi: Int32Array;
  constructor(ranges: Ranges) {
    const n = normalize(ranges);
    const hi: number[] = [];
    // Stryker disable next-line EqualityOperator: a pair read past the end is undefined, and adds nothing
    for (let i = 0; i < n.length; i += 2) {
      const lo = n[i]!;
      const h = n[i + 1]!;
      // Stryker disable next-line EqualityOperator: writing ascii[128] is a no-op (the table has 128 entries)
      for (let c = lo; c <= h && c < 128; c++) this.ascii[c] = 1;
      if (h >= 128) {
        // Stryker disable next-line ConditionalExpression,EqualityOperator: a range starting below 128 answers alike above it
        hi.push(lo < 128 ? 128 : lo, h);
      }
    }
    this.hi = Int32Array.from(hi);
  }
  has(c: number): boolean {
    if (c < 128) return this.ascii[c] === 1;
    const hi = this.hi;
    // Stryker disable next-line EqualityOperator: a pair read past the end is undefined: both comparisons are false
    for (let i = 0; i < hi.length; i += 2) {
      if (c < hi[i]!) return false;
      if (c <= hi[i + 1]!) return true;
    }
    return false;
  }
  /** Source of an equivalent JavaScript character class (used only to skip ahead). */
  // A wider class than the set only makes find() try more positions (each is checked by the NFA):
  // the mutants that widen it are equivalent and marked; those that narrow it are tested.
  // Stryker disable next-line BlockStatement: no source is new RegExp(undefined), which stops everywhere
  classSource(): string {
    const hex = (c: number) => '\\u' + c.toString(16).padStart(4, '0');
    // Stryker disable next-line StringLiteral: a stray start only widens the class
    let s = '';
    let c = 0;
    // Stryker disable next-line EqualityOperator: ascii[128] is undefined, never 1
    while (c < 128) {
      // Stryker disable next-line ConditionalExpression: a run started at a character outside the set only widens the class
      if (this.ascii[c] === 1) {
        const lo = c;
        // Stryker disable next-line all: shorter runs or a run to 127 give the same class or a wider one
        while (c + 1 < 128 && this.ascii[c + 1] === 1) c++;
        // Stryker disable next-line ConditionalExpression: a run of one character written as the range lo-lo is the same class
        s += lo === c ? hex(lo) : hex(lo) + '-' + hex(c);
      }
      c++;
    }
    for (let i = 0; i < this.hi.length; i += 2) s += hex(this.hi[i]!) + '-' + hex(this.hi[i + 1]!);
    // Stryker disable next-line StringLiteral,ConditionalExpression: unreachable: a pattern matches at least one character, so its first set is never empty
    return s === '' ? '[^\\s\\S]' : `[${s}]`;
  }
}

// ------------------------------------------------------------------------------- parser

type Node =
  | { t: 'set'; r: Ranges }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number }
  | { t: 'assert'; word: boolean };

class PatternError extends Error {
  readonly at: number;
  constructor(message: string, at: number) {
    super(message);
    this.at = at;
  }
}

const UNBOUNDED_FIX = `give it an upper bound, e.g. {1,64} instead of + or {0,64} instead of * (a custom match is at most ${CUSTOM_MAX_MATCH} characters, which is also the most a streamed response holds back for it)`;

class Parser {
  private i = 0;
  private readonly s: string;
  constructor(s: string) {
    this.s = s;
  }

  parse(): Node {
    const n = this.alt();
    if (this.i < this.s.length) throw new PatternError("unmatched ')'", this.i);
    return n;
  }

  private fail(msg: string, at = this.i): never {
    throw new PatternError(msg, at);
  }

  private alt(): Node {
    const alts: Node[] = [this.seq()];
    while (this.s[this.i] === '|') {
      this.i++;
      alts.push(this.seq());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '|' || c === ')') break;
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? items[0]! : { t: 'seq', items };
  }

  private quantified(atom: Node): Node {
    const c = this.s[this.i];
    let min: number;
    let max: number;
    const qAt = this.i;
    if (c === '?') {
      min = 0;
      max = 1;
      this.i++;
    } else if (c === '*' || c === '+') {
      this.fail(`unbounded quantifier '${c}': ${UNBOUNDED_FIX}`);
    } else if (c === '{') {
      const m = /^\{([0-9]{1,4})(?:(,)([0-9]{0,4}))?\}/.exec(this.s.slice(this.i));
      if (m === null) this.fail("'{' does not start a quantifier {n}, {n,m}; write \\{ for a literal brace");
      min = Number(m[1]);
      if (m[2] === undefined) max = min;
      else if (m[3] === '') this.fail(`unbounded quantifier '${m[0]}': ${UNBOUNDED_FIX}`);
      else max = Number(m[3]);
      if (min > max) this.fail(`quantifier ${m[0]} has its bounds the wrong way round`);
      if (max > CUSTOM_MAX_MATCH) this.fail(`quantifier ${m[0]} allows more than ${CUSTOM_MAX_MATCH} repetitions`);
      this.i += m[0].length;
    } else {
      return atom;
    }
    if (atom.t === 'assert') this.fail('nothing to repeat: \\b and \\B match no characters', qAt);
    const next = this.s[this.i];
    if (next === '?') this.fail("lazy quantifiers are not supported: custom patterns always mask the longest match; remove the '?'");
    // (a lazy '?' is refused just above)
    if (next === '*' || next === '+' || next === '{') this.fail('a quantifier cannot follow another quantifier; wrap the first in (?: )');
    return { t: 'rep', node: atom, min, max };
  }

  private atom(): Node {
    const s = this.s;
    const c = s[this.i]!;
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return { t: 'set', r: this.cls() };
      case '.':
        this.i++;
        return { t: 'set', r: DOT };
      case '\\':
        return this.escape(false) as Node;
      case '^':
      case '$':
        return this.fail(`anchor '${c}' is not supported: responses are scanned as running text; use \\b to require a word boundary`);
      case '*':
      case '+':
      case '?':
        return this.fail(`nothing to repeat before '${c}'`);
      case '{':
        if (/^\{[0-9]/.test(s.slice(this.i))) this.fail(`nothing to repeat before '${c}'`);
        return this.fail('write \\{ for a literal brace');
      case '}':
      case ']':
        return this.fail(`write \\${c} for a literal '${c}'`);
      default: {
        this.i++;
        const code = c.charCodeAt(0);
        return { t: 'set', r: [code, code] };
      }
    }
  }

  private group(): Node {
    const s = this.s;
    const open = this.i;
    this.i++;
    if (s[this.i] === '?') {
      const rest = s.slice(this.i);
      if (rest.startsWith('?:')) this.i += 2;
      else if (rest.startsWith('?=') || rest.startsWith('?!') || rest.startsWith('?<=') || rest.startsWith('?<!')) {
        this.fail(
          'lookahead and lookbehind are not supported (they cannot be matched in linear time); match the surrounding text explicitly, or use \\b for a word boundary',
          open,
        );
      } else {
        const m = /^\?<[A-Za-z_$][A-Za-z0-9_$]*>/.exec(rest);
        if (m === null)
          this.fail(
            "unsupported group syntax '(?'; use ( ), (?: ) or (?<name> ) — inline flags are not supported, write [Aa] for case variants",
            open,
          );
        this.i += m[0].length;
      }
    }
    const inner = this.alt();
    if (s[this.i] !== ')') this.fail("missing ')'", open);
    this.i++;
    return inner;
  }

  /** After a backslash. Returns ranges inside a class, a node outside. */
  private escape(inClass: boolean): Node | Ranges {
    const s = this.s;
    const at = this.i;
    this.i++;
    const c = s[this.i];
    if (c === undefined) this.fail('pattern ends with a lone backslash', at);
    this.i++;
    const one = (code: number): Node | Ranges => (inClass ? [code, code] : { t: 'set', r: [code, code] });
    const set = (r: Ranges): Node | Ranges => (inClass ? r : { t: 'set', r });
    switch (c) {
      case 'd':
        return set(DIGIT);
      case 'D':
        return set(complement(DIGIT));
      case 'w':
        return set(WORDR);
      case 'W':
        return set(complement(WORDR));
      case 's':
        return set(SPACE);
      case 'S':
        return set(complement(SPACE));
      case 't':
        return one(9);
      case 'n':
        return one(10);
      case 'v':
        return one(11);
      case 'f':
        return one(12);
      case 'r':
        return one(13);
      case 'b':
        if (inClass) return one(8);
        return { t: 'assert', word: true };
      case 'B':
        if (inClass) this.fail('\\B is not valid inside a class', at);
        return { t: 'assert', word: false };
      case '0':
        if (/[0-9]/.test(s[this.i] ?? '')) this.fail('octal escapes are not supported; use \\xHH', at);
        return one(0);
      case 'x': {
        const m = /^[0-9A-Fa-f]{2}/.exec(s.slice(this.i));
        if (m === null) this.fail('\\x needs two hex digits', at);
        this.i += 2;
        return one(parseInt(m[0], 16));
      }
      case 'u': {
        const m = /^[0-9A-Fa-f]{4}/.exec(s.slice(this.i));
        if (m === null) this.fail('\\u needs four hex digits (\\u{…} is not supported)', at);
        this.i += 4;
        return one(parseInt(m[0], 16));
      }
      case 'k':
        return this.fail('backreferences are not supported (they cannot be matched in linear time); repeat the sub-pattern instead', at);
      case 'p':
      case 'P':
        return this.fail('unicode property escapes (\\p{…}) are not supported; list the characters in a class, e.g. [A-Za-zÀ-ÿ]', at);
      case 'c':
        return this.fail('control escapes (\\cX) are not supported; use \\xHH', at);
      default:
        if (c >= '1' && c <= '9') {
          this.fail('backreferences are not supported (they cannot be matched in linear time); repeat the sub-pattern instead', at);
        }
        if (/[A-Za-z]/.test(c)) this.fail(`unknown escape '\\${c}'`, at);
        return one(c.charCodeAt(0));
    }
  }

  private cls(): Ranges {
    const s = this.s;
    const open = this.i;
    this.i++;
    let negate = false;
    if (s[this.i] === '^') {
      negate = true;
      this.i++;
    }
    const r: Ranges = [];
    let first = true;
    for (;;) {
      const c = s[this.i];
      if (c === undefined) this.fail("missing ']'", open);
      if (c === ']' && !first) break;
      if (c === ']') this.fail('empty class [] matches nothing; write \\] for a literal bracket', open);
      first = false;
      const lo = this.classAtom();
      if (s[this.i] === '-' && s[this.i + 1] !== ']' && s[this.i + 1] !== undefined) {
        const dash = this.i;
        this.i++;
        const hi = this.classAtom();
        // a class escape (\d \w \s and their complements) is several ranges, the first of them already
        // wider than one character: comparing the first pair's ends tells a single character
        if (lo[0] !== lo[1] || hi[0] !== hi[1]) {
          this.fail('a range in a class needs single characters at both ends', dash);
        }
        if (lo[0]! > hi[0]!) this.fail('class range out of order', dash);
        r.push(lo[0]!, hi[0]!);
      } else {
        r.push(...lo);
      }
    }
    this.i++;
    const n = negate ? complement(r) : normalize(r);
    if (n.length === 0) this.fail('this class matches no character', open);
    return n;
  }

  private classAtom(): Ranges {
    const c = this.s[this.i]!;
    if (c === '\\') return this.escape(true) as Ranges;
    if (c === '[' && this.s[this.i + 1] === ':') this.fail('POSIX classes like [:alpha:] are not supported; use \\w, \\d, \\s or ranges');
    this.i++;
    const code = c.charCodeAt(0);
    return [code, code];
  }
}

// ------------------------------------------------------------------------ NFA + Pike VM

const OP_MATCH = 0;
const OP_CHAR = 1;
const OP_SPLIT = 2;
const OP_WORDB = 3;
const OP_NWORDB = 4;

interface Sizes {
  min: number;
  max: number;
  states: number;
}

function sizes(n: Node): Sizes {
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

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95 || (c >= 97 && c <= 122);
}

/** A compiled custom pattern: a Detector plus the facts the docs and tests look at. */
export interface CustomDetector extends Detector {
  readonly minLen: number;
  readonly maxMatch: number;
  readonly states: number;
}

class PikeDetector implements CustomDetector {
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
    this.start = emit(ast, 0);
    const count = op.length;
    this.states = count;
    this.op = Uint8Array.from(op);
    this.a = Int32Array.from(a);
    this.b = Int32Array.from(b);
    this.set = sets;
    // the characters a match can start with (to skip ahead and to pick hold candidates)
    const firstR: Ranges = [];
    const seen = new Uint8Array(count);
    const st = [this.start];
    // Stryker disable next-line BooleanLiteral: a leftContext that always says yes over-approximates, which detector.ts allows (the engine's re-try of a pattern that reads no character before it finds what the first attempt found)
    let leadingAssert = false;
    while (st.length > 0) {
      const s = st.pop()!;
      // Stryker disable next-line ConditionalExpression: the NFA has no cycles: revisiting a state only pushes its first characters again
      if (seen[s]) continue;
      seen[s] = 1;
      const o = this.op[s];
      if (o === OP_SPLIT) st.push(this.a[s]!, this.b[s]!);
      else if (o === OP_WORDB || o === OP_NWORDB) {
        leadingAssert = true;
        st.push(this.a[s]!);
        // only character states are left: the match state is never reached from the start without a
        // character (a pattern cannot match empty text)
      } else firstR.push(...rangesOf(sets[s]!));
    }
    // a non-word character before q reads as the boundary a mask's ']' would be
    this.leftContext = leadingAssert ? (text, q) => isWordChar(text.charCodeAt(q - 1)) : undefined;
    const first = new CharSet(firstR);
    this.first = first;
    this.skip = new RegExp(first.classSource(), 'g');
    const lit = requiredLiteral(ast);
    this.lit = lit.text;
    this.litMin = lit.min;
    this.litMax = lit.max;
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

/**
 * Compiles a custom pattern. `where` names the field for error messages, e.g.
 * 'data.custom[0].pattern'. Throws MaskingConfigError with a message saying what to change.
 */
export function compileCustomPattern(name: string, pattern: string, where: string): CustomDetector {
  const problem = (msg: string, at?: number): never => {
    const pos = at === undefined ? '' : ` at offset ${at} (…${JSON.stringify(pattern.slice(at, at + 12))})`;
    throw new MaskingConfigError(where, `custom pattern "${name}"${pos}: ${msg}`);
  };
  if (pattern.length === 0) problem('the pattern is empty');
  let ast: Node;
  try {
    ast = new Parser(pattern).parse();
  } catch (e) {
    if (e instanceof PatternError) problem(e.message, e.at);
    throw e;
  }
  const z = sizes(ast);
  if (z.min === 0) problem('the pattern can match empty text; require at least one character (check for a trailing ? or {0,n})');
  if (z.max > CUSTOM_MAX_MATCH)
    problem(`the pattern can match up to ${z.max} characters; the limit is ${CUSTOM_MAX_MATCH}: lower the upper bounds of its quantifiers`);
  if (z.states > MAX_STATES)
    problem(`the pattern is too large once its repetitions are expanded (${z.states} states, limit ${MAX_STATES}); use smaller bounds`);
  return new PikeDetector(name, ast, z);
}
