// The lexical half of the custom-pattern parser: the pattern text with its cursor, escapes
// (\d, \w, \s, \b, \uXXXX, escaped punctuation) and character classes ([a-z0-9], [^…]). What
// a class or an escape cannot mean in the supported subset is refused with what to write instead.

import { complement, DIGIT, normalize, SPACE, WORDR } from './custom-charset.ts';
import type { Ranges } from './custom-charset.ts';

export type Node =
  | { t: 'set'; r: Ranges }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number }
  | { t: 'assert'; word: boolean };

export class PatternError extends Error {
  readonly at: number;
  constructor(message: string, at: number) {
    super(message);
    this.at = at;
  }
}

/** The pattern and the parser's position in it, with the escapes and classes (Parser reads the rest). */
export class PatternReader {
  protected i = 0;
  protected readonly s: string;
  constructor(s: string) {
    this.s = s;
  }

  protected fail(msg: string, at = this.i): never {
    throw new PatternError(msg, at);
  }

  /** After a backslash. Returns ranges inside a class, a node outside. */
  protected escape(inClass: boolean): Node | Ranges {
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

  protected cls(): Ranges {
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

  protected classAtom(): Ranges {
    const c = this.s[this.i]!;
    if (c === '\\') return this.escape(true) as Ranges;
    if (c === '[' && this.s[this.i + 1] === ':') this.fail('POSIX classes like [:alpha:] are not supported; use \\w, \\d, \\s or ranges');
    this.i++;
    const code = c.charCodeAt(0);
    return [code, code];
  }
}
