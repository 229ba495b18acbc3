// Duplicate object keys in JSON text. JSON.parse keeps the last copy of a repeated key, as
// Python's and Go's decoders do; a server whose parser keeps the first (or merges, or refuses)
// would read a different request from the one scopekeeper checked and forwarded byte for byte:
// another model, other tools, another tool name. Rather than depend on every upstream's parser,
// a body the sidecar decides on may name a key only once per object.
//
// Nor twice under case folding: Go's encoding/json (which folds with Unicode simple folding, so
// `ſ` is `s` and the Kelvin sign `K` is `k`), Jackson with ACCEPT_CASE_INSENSITIVE_PROPERTIES and
// .NET with case-insensitive names read `{"name":"Read","NAME":"Bash"}` as name=Bash, and read
// `{"Type":"web_search_20250305"}` or `{"\u017fkills":[…]}` as fields JSON.parse left unchecked.
// Responses need no folding (both keys are in JSON.parse's tree, so both were checked and a
// rebuild would change nothing): their callers pass `{ caseFold: false }`.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

/** Past this many keys an object's keys are looked up in a Set (a linear scan is faster below it). */
const LINEAR_MAX = 16;

/** An open object or array: where its keys start in `keys` (an array has none of its own). */
interface Frame {
  readonly start: number;
  /** The object's keys, once it has more than LINEAR_MAX of them. */
  set: Set<string> | undefined;
  /** The object's keys that case folding changes or that are not ASCII, by their folded form (see foldedTwin). */
  folded: Map<string, string> | undefined;
}

/** A key named twice in one object: the same key, or two keys equal under case folding. */
export interface RepeatedKey {
  /** The later key, decoded. */
  readonly key: string;
  /** The earlier key of the same object: `key` itself, or a key equal to it under case folding ("name" for "NAME"). */
  readonly first: string;
  /** Where the object is: its path of keys and indexes from the top ("tools.0"), "" for the top-level object. */
  readonly at: string;
}

/**
 * The first key that appears twice in one object of `text`, decoded (so `"a\u0062"` and `"ab"`
 * are the same key, as JSON.parse sees them); undefined when there is none. Unless
 * `caseFold` is false, two keys equal under case folding ("name" and "NAME", "skills" and
 * "\u017fkills") are a repeat too. `text` must be JSON that JSON.parse accepted: the scan relies
 * on it (a string followed by a colon is a key). No recursion, so nesting depth is bounded by
 * memory only, as it is for JSON.parse.
 */
export function firstDuplicateKey(text: string, opts?: { caseFold?: boolean }): RepeatedKey | undefined {
  const caseFold = opts?.caseFold !== false;
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
        const frame = frames[frames.length - 1]!;
        if (seenBefore(frame, keys, key)) return repeat(text, i, key, key);
        const twin = caseFold ? foldedTwin(frame, keys, key) : undefined;
        if (twin !== undefined) return repeat(text, i, twin, key);
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) frames.push({ start: keys.length, set: undefined, folded: undefined });
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) keys.length = frames.pop()!.start;
  }
  return undefined;
}

/** What a body that repeats a key is told (the Messages API's 400 and MCP's invalid request). */
export function duplicateKeyMessage(repeated: RepeatedKey | string): string {
  const { key, first } = typeof repeated === 'string' ? { key: repeated, first: repeated } : repeated;
  if (key === first)
    return `The body repeats the key ${shown(key)} in one object: send each key once (servers read a repeated key differently, so the request checked would not be the request served).`;
  const at = (repeated as RepeatedKey).at;
  const where = at === '' ? 'the top-level object' : `the object at ${at.length > 200 ? `${at.slice(0, 197)}...` : at}`;
  return `The body names the keys ${shown(first)} and ${shown(key)} in ${where}: they differ only by case, and servers that match keys case-insensitively read one for the other. Send each key once, spelled as documented (the request checked would not be the request served).`;
}

function shown(key: string): string {
  return JSON.stringify(key.length > 100 ? `${key.slice(0, 97)}...` : key);
}

/** The repeat of `first` by the key whose quote opens at `open`; its place is found only when asked for. */
function repeat(text: string, open: number, first: string, key: string): RepeatedKey {
  let at: string | undefined;
  return {
    key,
    first,
    get at() {
      return (at ??= objectPath(text, open));
    },
  };
}

/**
 * The earlier key of `frame`'s object that `key` (already added to it, and not a repeat of one)
 * equals under case folding, or undefined. Two distinct keys that folding leaves alone never
 * collide, so only the keys it may change are folded and kept (in `frame.folded`); a key of ASCII
 * lowercase, digits and punctuation, as the API's own keys are, costs one pass over its
 * characters and one lookup when the object has such keys.
 */
function foldedTwin(frame: Frame, keys: string[], key: string): string | undefined {
  const folded = foldKey(key);
  if (folded === key) return frame.folded?.get(key);
  const twin = frame.folded?.get(folded) ?? (has(frame, keys, folded) ? folded : undefined);
  (frame.folded ??= new Map()).set(folded, key);
  return twin;
}

/**
 * `key` case-folded, as Go's encoding/json matches field names (Unicode simple folding: `ſ`, `S`
 * and `s` are one letter, so are `K` (U+212A), `K` and `k`); `key` itself when folding leaves it
 * alone (no ASCII capital, nothing outside ASCII: one pass over its characters, no allocation).
 * Beyond ASCII: lower, upper, lower. Upper-casing maps `ſ` to `S`, and lower-casing first maps
 * `ẞ` (U+1E9E) to `ß` so that both become `ss`. A few keys collide that Go keeps apart (`ß` and
 * `ss`, `ı` and `i`): refused, which fails closed.
 */
export function foldKey(key: string): string {
  let capital = false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return key.toLowerCase().toUpperCase().toLowerCase();
    if (c >= 0x41 && c <= 0x5a) capital = true;
  }
  return capital ? key.toLowerCase() : key;
}

/** Whether `key` is a key of `frame`'s object (its keys are in `keys` from frame.start, or in frame.set). */
function has(frame: Frame, keys: string[], key: string): boolean {
  if (frame.set !== undefined) return frame.set.has(key);
  for (let k = frame.start; k < keys.length; k++) if (keys[k] === key) return true;
  return false;
}

/** The path from the top to the object holding the key whose quote opens at `open` ("tools.0"). */
function objectPath(text: string, open: number): string {
  // One entry per container open at `open`: its current key, or its current index.
  const path: (string | number)[] = [];
  for (let i = 0; i < open; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      let j = end + 1;
      while (isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === COLON) path[path.length - 1] = keyAt(text, i, end);
      i = end;
    } else if (c === OPEN_OBJECT) path.push('');
    else if (c === OPEN_ARRAY) path.push(0);
    else if (c === COMMA && typeof path[path.length - 1] === 'number') path[path.length - 1] = (path[path.length - 1] as number) + 1;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) path.pop();
  }
  path.pop(); // the object holding the key: its current key is an earlier one
  return path.map((p) => (typeof p === 'number' || /^[\w$-]+$/.test(p) ? String(p) : JSON.stringify(p))).join('.');
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
