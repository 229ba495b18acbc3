// Masking of a JSON text that arrives in pieces: a tool's input streamed as
// input_json_delta.partial_json events. The output of every piece goes out at once, but for what
// a detector could still match across the next piece.

import { type Engine, type Tally } from './engine.ts';
import { TextStream } from './text-stream.ts';
import { freeName, isNumberChar, maskNumberSource } from './json-values.ts';

const IN_STRUCTURE = 0;
const IN_KEY = 1;
const IN_VALUE = 2;
const OBJ = 1;
const ARR = 2;
const QUOTE_OR_BACKSLASH = /["\\]/g;

const encode = (s: string) => JSON.stringify(s).slice(1, -1);

/** How every mask the engine writes starts ([MASKED:<category>]). */
const TOKEN = '[MASKED:';

/** The names that keys of one open object holding a mask token went out as (freeName). */
interface KeyNames {
  /** By the key as decoded: a key written twice goes out twice alike, so a parser keeps one value, as for the parsed document. */
  readonly byKey: Map<string, string>;
  readonly taken: Set<string>;
}

/**
 * Masks a JSON text that arrives in pieces (input_json_delta.partial_json). Structure passes
 * through as it comes; the content of each key and string value goes through the TextStream
 * (decoded, masked, re-encoded: a key or value without a match and without escapes goes out as
 * written); a number is held back until its token ends and then goes out as written, or as the
 * masked string when a detector matches it. A key's masked text goes out before its end is
 * known, so freeName's `#n` is added at its end, before the closing quote: each open object
 * remembers the names of its keys that hold a mask token (a name without one is the key as
 * written, which no masked name can equal), and forgets them when it closes.
 *
 * JSON.parse of the concatenated output equals maskStringValues of the parsed document, for any
 * split. One exception: JSON.parse puts array-index keys ("0" to "4294967294") first, so when
 * such a key masks to a name another key of its object also masks to (no built-in detector
 * matches a bare number that small; a custom pattern can), the other key may get the `#2` here
 * and this one there. Both values are kept either way.
 */
export class JsonStream {
  // Stryker disable next-line ArrayDeclaration: the stack's bottom is only compared with OBJ, which an empty stack's undefined and a stray entry both fail (docs/testing.md)
  private readonly stack: number[] = [];
  /** Per entry of `stack`: an object's KeyNames once one of its keys holds a mask token. */
  // Stryker disable next-line ArrayDeclaration: a key only ever reads the entry of its own object, above the bottom (docs/testing.md)
  private readonly names: (KeyNames | undefined)[] = [];
  /** The key being read: as decoded, and as masked so far (emptied at its end). */
  private keyRaw = '';
  private keyOut = '';
  /** Part of the current key or string value went to the TextStream in an earlier push. */
  // Stryker disable next-line BooleanLiteral: true sends the first string through the TextStream, which gives the same text (docs/testing.md)
  private streamed = false;
  private expectKey = false;
  private mode = IN_STRUCTURE;
  /** 0: none; 1: after a backslash; 2..5: reading the hex digits of \uXXXX. */
  private esc = 0;
  /** The hex digits of a \u escape so far (reset when the escape starts). */
  // Stryker disable next-line StringLiteral: read only after a \u escape has reset it (docs/testing.md)
  private hex = '';
  private text: TextStream;
  /** The number token being read (held back until it ends). */
  private num = '';

  private readonly engine: Engine;
  private readonly tally: Tally;

  constructor(engine: Engine, tally: Tally) {
    this.engine = engine;
    this.tally = tally;
    this.text = new TextStream(engine, tally);
  }

  /** Characters of the current key, string value or number received but not yet emitted. */
  get pending(): number {
    return this.text.pending + this.num.length;
  }

  /** The held number, as written or masked. */
  private endNumber(): string {
    const src = this.num;
    this.num = '';
    const m = maskNumberSource(this.engine, src, this.tally);
    return m === undefined ? src : JSON.stringify(m);
  }

  push(s: string): string {
    let out = '';
    let dec = '';
    let i = 0;
    const n = s.length;
    while (i < n) {
      if (this.mode === IN_STRUCTURE) {
        const j = s.indexOf('"', i);
        const end = j < 0 ? n : j;
        // characters from `run` on go out as they are; from `numAt` on they belong to a number
        let run = i;
        let numAt = this.num === '' ? -1 : i;
        for (let k = i; k < end; k++) {
          const c = s.charCodeAt(k);
          if (numAt >= 0) {
            if (isNumberChar(c)) continue;
            this.num += s.slice(numAt, k);
            out += this.endNumber();
            numAt = -1;
            run = k;
          } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
            out += s.slice(run, k);
            numAt = k;
            continue;
          }
          this.structural(c);
        }
        if (numAt >= 0) {
          this.num += s.slice(numAt, end);
          // a quote ends a number too (malformed JSON, kept as the parser would see it)
          if (j >= 0) out += this.endNumber();
        } else out += s.slice(run, end);
        if (j < 0) break;
        // expectKey is only ever set inside an object
        this.mode = this.expectKey ? IN_KEY : IN_VALUE;
        out += '"';
        i = j + 1;
      } else {
        // a key or a string value: decode into `dec`
        if (this.esc !== 0) {
          i = this.escape(s, i, (d) => (dec += d));
          continue;
        }
        QUOTE_OR_BACKSLASH.lastIndex = i;
        const m = QUOTE_OR_BACKSLASH.exec(s);
        const k = m === null ? n : m.index;
        dec += s.slice(i, k);
        if (m === null) break;
        if (s.charCodeAt(k) === 92) {
          this.esc = 1;
          i = k + 1;
          continue;
        }
        out += this.content(dec, true) + '"';
        dec = '';
        this.mode = IN_STRUCTURE;
        this.expectKey = false;
        i = k + 1;
      }
    }
    // Stryker disable next-line ConditionalExpression,StringLiteral: pushing '' into a TextStream emits nothing (the same text gives the same hold limit); the test only saves the call (docs/testing.md)
    if (dec !== '') out += this.content(dec, false);
    return out;
  }

  /** Masks decoded characters of the current key or string value (`last`: up to its end), encoded. */
  private content(dec: string, last: boolean): string {
    let o: string;
    // A string that arrived whole (most keys and values) is masked in one go: the TextStream would
    // give the same text, after the work of deciding what to hold back (it gives nothing once a
    // block category matched).
    // Stryker disable next-line ConditionalExpression: the TextStream gives the same text; this only saves its work (docs/testing.md)
    if (last && !this.streamed && this.tally.blocked === undefined) o = this.engine.maskString(dec, this.tally);
    else {
      o = this.text.push(dec);
      if (last) o += this.text.finish();
    }
    this.streamed = !last;
    if (this.mode === IN_KEY) {
      this.keyRaw += dec;
      this.keyOut += o;
      if (last) {
        o += this.suffix();
        this.keyRaw = '';
        this.keyOut = '';
      }
    }
    return encode(o);
  }

  /** What goes after a key's masked text: freeName's `#n` when an earlier key of its object has its name. */
  private suffix(): string {
    const masked = this.keyOut;
    // Stryker disable next-line ConditionalExpression: remembering a key without a token changes no name (no masked name can equal it); the check only bounds what is remembered (docs/testing.md)
    if (!masked.includes(TOKEN)) return '';
    // expectKey is only ever set inside an object: the top entry is the key's object
    const top = this.names.length - 1;
    const names = this.names[top] ?? (this.names[top] = { byKey: new Map(), taken: new Set() });
    let name = names.byKey.get(this.keyRaw);
    if (name === undefined) {
      name = freeName(masked, (x) => names.taken.has(x));
      names.byKey.set(this.keyRaw, name);
      names.taken.add(name);
    }
    return name.slice(masked.length);
  }

  /** The JSON text ended (content_block_stop): flushes an unterminated key or string value. */
  finish(): string {
    // a cut-off \u escape (of a key or a string value): keep what came
    const tail = this.esc >= 2 ? 'u' + this.hex : '';
    this.esc = 0;
    this.mode = IN_STRUCTURE;
    this.keyRaw = '';
    this.keyOut = '';
    // (a number ends the text only when the input is a bare number)
    const num = this.num === '' ? '' : this.endNumber();
    return num + encode(this.text.push(tail)) + encode(this.text.finish());
  }

  private structural(c: number): void {
    switch (c) {
      case 123: // {
        this.stack.push(OBJ);
        this.names.push(undefined);
        this.expectKey = true;
        break;
      case 91: // [
        this.stack.push(ARR);
        this.names.push(undefined);
        this.expectKey = false;
        break;
      case 125: // }
      case 93: // ]
        this.stack.pop();
        this.names.pop();
        this.expectKey = false;
        break;
      case 58: // :
        this.expectKey = false;
        break;
      case 44: // ,
        this.expectKey = this.stack[this.stack.length - 1] === OBJ;
        break;
    }
  }

  /** Continues an escape sequence at s[i]; returns the next index. */
  private escape(s: string, i: number, emit: (d: string) => void): number {
    const c = s[i]!;
    if (this.esc === 1) {
      this.esc = 0;
      switch (c) {
        case 'n':
          emit('\n');
          break;
        case 't':
          emit('\t');
          break;
        case 'r':
          emit('\r');
          break;
        case 'b':
          emit('\b');
          break;
        case 'f':
          emit('\f');
          break;
        case 'u':
          this.esc = 2;
          this.hex = '';
          break;
        default:
          emit(c); // \" \\ \/ (and, leniently, anything else)
      }
      return i + 1;
    }
    if (/[0-9A-Fa-f]/.test(c)) {
      this.hex += c;
      if (this.hex.length === 4) {
        emit(String.fromCharCode(parseInt(this.hex, 16)));
        this.esc = 0;
      }
      return i + 1;
    }
    // malformed \u escape: keep its characters, reprocess this one
    emit('u' + this.hex);
    this.esc = 0;
    return i;
  }
}
