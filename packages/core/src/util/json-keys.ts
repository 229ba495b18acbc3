// Duplicate object keys in JSON text. JSON.parse keeps the last copy of a repeated key, as
// Python's and Go's decoders do; a server whose parser keeps the first (or merges, or refuses)
// would read a different request from the one scopekeeper checked and forwarded byte for byte:
// another model, other tools, another tool name. Rather than depend on every upstream's parser,
// a body the sidecar decides on may name a key only once per object.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;

/** Past this many keys an object's keys are looked up in a Set (a linear scan is faster below it). */
const LINEAR_MAX = 16;

/** An open object or array: where its keys start in `keys` (an array has none of its own). */
interface Frame {
  readonly start: number;
  /** The object's keys, once it has more than LINEAR_MAX of them. */
  set: Set<string> | undefined;
}

/**
 * The first key that appears twice in one object of `text`, decoded (so `"a\u0062"` and `"ab"`
 * are the same key, as JSON.parse sees them); undefined when there is none. `text` must be JSON
 * that JSON.parse accepted: the scan relies on it (a string followed by a colon is a key). No
 * recursion, so nesting depth is bounded by memory only, as it is for JSON.parse.
 */
export function firstDuplicateKey(text: string): string | undefined {
  // Stryker disable next-line ArrayDeclaration: a frame under the outermost one is never read
  const frames: Frame[] = [];
  // Stryker disable next-line ArrayDeclaration: an entry before the first object's start is never compared
  const keys: string[] = [];
  const n = text.length;
  // Stryker disable next-line EqualityOperator: charCodeAt(n) is NaN, which no branch takes
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      let j = end + 1;
      while (isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === COLON) {
        const key = keyAt(text, i, end);
        if (seenBefore(frames[frames.length - 1]!, keys, key)) return key;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) frames.push({ start: keys.length, set: undefined });
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) keys.length = frames.pop()!.start;
  }
  return undefined;
}

/** What a body that repeats a key is told (the Messages API's 400 and MCP's invalid request). */
export function duplicateKeyMessage(key: string): string {
  const shown = JSON.stringify(key.length > 100 ? `${key.slice(0, 97)}...` : key);
  return `The body repeats the key ${shown} in one object: send each key once (servers read a repeated key differently, so the request checked would not be the request served).`;
}

/** Whether `key` is already a key of the object of `frame`; if not, it is one now. */
function seenBefore(frame: Frame, keys: string[], key: string): boolean {
  if (frame.set !== undefined) {
    if (frame.set.has(key)) return true;
    frame.set.add(key);
    return false;
  }
  // Stryker disable next-line ArithmeticOperator: starting past the end only reads undefined first
  for (let k = keys.length - 1; k >= frame.start; k--) if (keys[k] === key) return true;
  keys.push(key);
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: a Set or the linear scan give the same answer; only the speed differs
  if (keys.length - frame.start > LINEAR_MAX) frame.set = new Set(keys.slice(frame.start));
  return false;
}

/** The decoded text of the key whose quotes are at `open` and `close`. */
function keyAt(text: string, open: number, close: number): string {
  const raw = text.slice(open + 1, close);
  // Stryker disable next-line ConditionalExpression,StringLiteral: JSON.parse gives an unescaped key back as it is; the test only saves the call
  return raw.indexOf('\\') === -1 ? raw : (JSON.parse(text.slice(open, close + 1)) as string);
}

/** The index of the quote that closes the string opening at `open`. */
function stringEnd(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  for (;;) {
    // A quote after an odd number of backslashes is escaped.
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
