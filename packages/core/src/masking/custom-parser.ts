// Parses a custom pattern (the JavaScript-regex subset custom.ts describes) into a small AST.
// Whatever cannot be matched in linear time, or could match without bound, is refused here, at
// configuration time, with a message that says what to write instead: a scope author learns it
// when the scope is applied, not from a stalled or truncated response.

import { DOT } from './custom-charset.ts';
import { PatternError, PatternReader, type Node } from './custom-reader.ts';

export const CUSTOM_MAX_MATCH = 256;

const UNBOUNDED_FIX = `give it an upper bound, e.g. {1,64} instead of + or {0,64} instead of * (a custom match is at most ${CUSTOM_MAX_MATCH} characters, which is also the most a streamed response holds back for it)`;

/** The grammar of a custom pattern: alternatives, sequences, groups and bounded quantifiers. */
export class Parser extends PatternReader {
  parse(): Node {
    const n = this.alt();
    if (this.i < this.s.length) throw new PatternError("unmatched ')'", this.i);
    return n;
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
}
