// Masking inside JSON: Messages API response bodies, tool inputs streamed as partial JSON,
// and JSON responses of internal services.
//
// Detectors run on the *decoded* content of JSON strings (never on the JSON text: a match there
// could swallow half an escape sequence and break the document) and the result is re-encoded,
// and on the source text of numbers (a card number written as a JSON number is a card number: it
// becomes the masked string). Object keys are masked too, wherever a value would be checked: a
// key is data as much as a value is (`{"jane@example.com": …}` in a tool input, whole or streamed,
// in a result block, in an internal service's answer), and the API's own field names never match
// a detector. A key that masks to a name its object already has gets `#2`, `#3`, … (both values
// kept); structure is never changed.

import { isUtf8 } from 'node:buffer';
import { TextStream, newTally, type Engine, type Tally } from './engine.ts';
import { applyJsonPaths, type JsonPath } from './jsonpath.ts';
import { firstDuplicateKey } from '../util/json-keys.ts';
import { JsonTooLargeError, parseJson } from '../util/json-size.ts';

interface JsonWithRaw {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
}
const J = JSON as unknown as JsonWithRaw;

/** JSON.parse that keeps every number's source text, so re-serializing cannot round big integers or 1.0. */
export function parsePreservingNumbers(text: string): unknown {
  // Node 24 gives every primitive's reviver a context with its source text
  return parseJson(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' ? J.rawJSON(context!.source!) : value,
  );
}

/** Plain-parsed numbers that may have lost digits a detector needs (tallies of a first, plain parse). */
const LOSSY = new WeakSet<Tally>();

/**
 * A number (a plain one, or one kept as source text): the detectors run on the value as
 * JavaScript writes it (`4111111111111111.0`, `4.111111111111111e15` and `41111111111111110e-1`
 * all read as 4111111111111111), then on its source text; a match makes the number the masked
 * string. Otherwise the number itself is returned.
 */
function maskNumber(engine: Engine, v: unknown, tally: Tally): unknown {
  let src: string;
  if (typeof v === 'number') {
    src = String(v);
    // beyond 2^53 (a 17-19 digit card) a plain parse rounds the digits: the caller parses again
    if (Math.abs(v) >= 1e12 && !Number.isSafeInteger(v)) LOSSY.add(tally);
  } else src = (v as { rawJSON: string }).rawJSON;
  return maskNumberSource(engine, src, tally) ?? v;
}

/** The masked string for a number written as `src`, or undefined when no detector matches it. */
function maskNumberSource(engine: Engine, src: string, tally: Tally): string | undefined {
  const canon = String(Number(src));
  const c = engine.maskString(canon, tally);
  if (c !== canon) return c;
  if (canon === src) return undefined;
  const m = engine.maskString(src, tally);
  return m === src ? undefined : m;
}

const isNumber = (v: unknown): boolean => typeof v === 'number' || J.isRawJSON(v);

/**
 * Masks every string value, object key and number below `value`, in place; returns the new value
 * (a string root is replaced). For data whose shape nobody fixed (tool inputs, internal services'
 * answers), where a key is as much the data as a value: `{"jane@example.com":{"status":"vip"}}`.
 */
export function maskStringValues(engine: Engine, value: unknown, tally: Tally): unknown {
  if (typeof value === 'string') return engine.maskString(value, tally);
  if (isNumber(value)) return maskNumber(engine, value, tally);
  if (typeof value !== 'object' || value === null) return value;
  // iterative: a deeply nested document must not overflow the stack
  const stack: object[] = [value];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (J.isRawJSON(node)) continue;
    // Stryker disable next-line ConditionalExpression: an array read through Object.keys is the same walk: this branch only saves building index strings (docs/testing.md)
    if (Array.isArray(node)) {
      // Stryker disable next-line EqualityOperator: node[node.length] is undefined, which this loop leaves alone (docs/testing.md)
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'string') node[i] = engine.maskString(v, tally);
        else if (isNumber(v)) node[i] = maskNumber(engine, v, tally);
        else if (typeof v === 'object' && v !== null) stack.push(v);
      }
    } else {
      const rec = node as Record<string, unknown>;
      maskKeys(engine, rec, tally);
      for (const k of Object.keys(rec)) {
        const v = rec[k];
        if (typeof v === 'string') rec[k] = engine.maskString(v, tally);
        else if (isNumber(v)) rec[k] = maskNumber(engine, v, tally);
        else if (typeof v === 'object' && v !== null) stack.push(v);
      }
    }
  }
  return value;
}

/**
 * The name a key that masks to `masked` gets in its object: `masked`, or, when `taken` says an
 * earlier key of the object already has that name, `masked#2`, `masked#3`, …: two keys that mask
 * to the same token (or a key the model wrote as the token itself) keep both values. JsonStream
 * gives the same names, key by key, as the keys arrive.
 */
function freeName(masked: string, taken: (name: string) => boolean): string {
  let name = masked;
  for (let n = 2; taken(name); n++) name = `${masked}#${n}`;
  return name;
}

/**
 * Renames the keys of `rec` that mask (freeName), keeping the order of its keys. Every object a
 * response carries has its keys masked: the API's own field names never match a detector, so only
 * data written as a key changes (`{"jane@example.com": …}` in a tool input, a result, a field the
 * API adds later).
 */
export function maskKeys(engine: Engine, rec: Record<string, unknown>, tally: Tally, kept?: ReadonlySet<string>): void {
  const keys = Object.keys(rec);
  // (the common case, no key masked, allocates nothing more; `kept`: field names of the API's, which no detector matches)
  let names: string[] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (kept?.has(k)) continue;
    const mk = engine.maskString(k, tally);
    if (mk !== k) (names ??= keys.slice())[i] = mk;
  }
  if (names === undefined) return;
  const values = keys.map((k) => rec[k]);
  for (const k of keys) delete rec[k];
  names.forEach((mk, i) => {
    const name = freeName(mk, (n) => Object.prototype.hasOwnProperty.call(rec, n));
    // defined, not assigned: assigning "__proto__" would set the prototype and drop the value
    Object.defineProperty(rec, name, { value: values[i], writable: true, enumerable: true });
  });
}

/** Top-level fields of a Messages response that identify or count: never masked. */
const MESSAGE_KEPT = new Set(['id', 'type', 'model', 'role', 'usage', 'stop_reason', 'stop_sequence']);

/**
 * Masks a Messages API response: its content blocks (thinking blocks stay untouched) and every
 * other top-level field (stop_details, container, fields the API adds later) but the ones that
 * identify or count.
 */
export function maskMessageObject(engine: Engine, msg: unknown, tally: Tally): void {
  if (typeof msg !== 'object' || msg === null) return;
  const rec = msg as Record<string, unknown>;
  maskKeys(engine, rec, tally, MESSAGE_KEPT);
  for (const k of Object.keys(rec)) {
    if (MESSAGE_KEPT.has(k)) continue;
    const v = rec[k];
    if (k === 'content' && Array.isArray(v)) for (const block of v) maskContentBlock(engine, block, tally);
    else if (typeof v === 'string') rec[k] = engine.maskString(v, tally);
    else if (isNumber(v)) rec[k] = maskNumber(engine, v, tally);
    else if (typeof v === 'object' && v !== null) maskData(engine, v, tally);
  }
}

/** Blocks never touched: their signatures would break (and they are the model's own reasoning). */
const UNTOUCHED_BLOCKS = new Set(['thinking', 'redacted_thinking']);
/** Fields that identify or encode rather than carry data: never masked, wherever they are. */
const STRUCTURAL = new Set([
  'type',
  'id',
  'tool_use_id',
  'signature',
  'encrypted_content',
  'encrypted_index',
  'encrypted_stdout',
  'file_id',
  'media_type',
  'cache_control',
]);
/** Block-level fields that name things the client dispatches on. */
const BLOCK_NAMES = new Set(['name', 'server_name', 'caller']);

/**
 * One content block (also used for content_block_start events): every block type whose content
 * is text or data, known or not (text, tool uses, tool results of every kind, web search and
 * fetch results, code execution output, MCP results, …) has its string values masked, except
 * identifiers, signatures, encrypted payloads and base64 data. Thinking blocks are untouched.
 */
export function maskContentBlock(engine: Engine, block: unknown, tally: Tally): void {
  // (an array where a block belongs is not a block the API sends: its strings are masked all the same)
  if (typeof block !== 'object' || block === null) return;
  const b = block as Record<string, unknown>;
  if (UNTOUCHED_BLOCKS.has(b.type as string)) return;
  maskKeys(engine, b, tally, STRUCTURAL);
  for (const k of Object.keys(b)) {
    if (STRUCTURAL.has(k) || BLOCK_NAMES.has(k)) continue;
    const v = b[k];
    // a tool's input (tool_use, server_tool_use, mcp_tool_use, …) is the model's own data: every
    // string in it, whatever its key, and its keys too
    if (k === 'input') b[k] = maskStringValues(engine, v, tally);
    else if (typeof v === 'string') b[k] = engine.maskString(v, tally);
    else if (isNumber(v)) b[k] = maskNumber(engine, v, tally);
    else if (typeof v === 'object' && v !== null) maskData(engine, v, tally);
  }
}

/** Masks keys and string values below `root` in place, skipping structural fields and base64 payloads. */
function maskData(engine: Engine, root: object, tally: Tally): void {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (J.isRawJSON(node)) continue;
    // Stryker disable next-line ConditionalExpression,BlockStatement: an array read through Object.keys is the same walk: this branch only saves building index strings (docs/testing.md)
    if (Array.isArray(node)) {
      // Stryker disable next-line EqualityOperator: node[node.length] is undefined, which this loop leaves alone (docs/testing.md)
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'string') node[i] = engine.maskString(v, tally);
        else if (isNumber(v)) node[i] = maskNumber(engine, v, tally);
        else if (typeof v === 'object' && v !== null) stack.push(v);
      }
      continue;
    }
    const rec = node as Record<string, unknown>;
    maskKeys(engine, rec, tally, STRUCTURAL);
    // {type: "base64", data: …} (images, PDFs): bytes, not text
    const base64 = rec.type === 'base64';
    for (const k of Object.keys(rec)) {
      if (STRUCTURAL.has(k) || (base64 && k === 'data')) continue;
      const v = rec[k];
      if (typeof v === 'string') rec[k] = engine.maskString(v, tally);
      else if (isNumber(v)) rec[k] = maskNumber(engine, v, tally);
      else if (typeof v === 'object' && v !== null) stack.push(v);
    }
  }
}

export function maskCitation(engine: Engine, c: unknown, tally: Tally): void {
  if (typeof c === 'object' && c !== null && typeof (c as Record<string, unknown>).cited_text === 'string') {
    const r = c as Record<string, unknown>;
    r.cited_text = engine.maskString(r.cited_text as string, tally);
  }
}

export interface BodyMaskResult {
  /** The body to send: the input Buffer itself when nothing changed. */
  body: Buffer;
  /** Masked values by category ("field" for maskFields). Read-only; empty when nothing matched. */
  counts: Readonly<Record<string, number>>;
  /** A block category found; the caller must answer with an error instead of this body. */
  blocked?: string;
  changed: boolean;
  /** The body was left alone: not UTF-8 text, or (internal services) not JSON. */
  skipped?: 'binary' | 'not-json' | 'too-large';
}

function result(body: Buffer, tally: Tally, changed: boolean): BodyMaskResult {
  const r: BodyMaskResult = { body, counts: tally.counts ?? {}, changed };
  if (tally.blocked !== undefined) r.blocked = tally.blocked;
  return r;
}

/** The parsed text; undefined when it is not JSON; JsonTooLargeError when it holds more than the sidecar parses. */
function parseOrUndefined(text: string): { value: unknown } | undefined {
  try {
    return { value: parseJson(text) };
  } catch (e) {
    if (e instanceof JsonTooLargeError) throw e;
    // not JSON: undefined below
  }
  return undefined;
}

/**
 * True when JSON.stringify writes every number of this (valid) JSON text as it is written there,
 * so a plain parse loses nothing on the way back. The text is scanned once: outside strings, a
 * number starts with '-' or a digit and runs over [0-9.eE+-].
 */
export function numbersRoundTrip(text: string): boolean {
  const n = text.length;
  // (the bounds below: charCodeAt past the end is NaN, which no branch takes, so `<= n` reads the same)
  // Stryker disable next-line EqualityOperator
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: to its closing quote, over escapes
      // Stryker disable next-line EqualityOperator
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      // Stryker disable next-line EqualityOperator,ConditionalExpression
      while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      const token = text.slice(i, j);
      if (String(Number(token)) !== token) return false;
      i = j - 1;
    }
  }
  return true;
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/**
 * The common case (nothing to mask) costs one plain JSON.parse and a scan for repeated keys, and
 * returns the original bytes.
 * When something changes and every number survives a plain parse (numbersRoundTrip: a Messages
 * response's token counts do), the tree the first pass masked is serialized; otherwise the body is
 * parsed again keeping numbers verbatim, edited the same way and serialized.
 */
function maskJsonBody(engine: Engine, body: Buffer, edit: (root: unknown, tally: Tally) => unknown): BodyMaskResult {
  if (!isUtf8(body)) return { body, counts: {}, changed: false, skipped: 'binary' };
  const text = body.toString('utf8');
  let parsed: { value: unknown } | undefined;
  try {
    parsed = parseOrUndefined(text);
  } catch {
    return { body, counts: {}, changed: false, skipped: 'too-large' };
  }
  // Not JSON: a client reads it as something the masker does not (an event stream, text cut
  // where a detector would not look for a value); the caller refuses it.
  if (parsed === undefined) return { body, counts: {}, changed: false, skipped: 'not-json' };
  const probe = newTally();
  const masked = edit(parsed.value, probe);
  // The original bytes go out only when they hold what was checked: with a key repeated in one
  // object, JSON.parse (and so the masker) saw only its last copy, while a client that reads the
  // first would read a value nobody checked. Such a body is serialized from the checked tree.
  // A number that may have lost digits in that parse is checked again from its source text.
  const lossy = LOSSY.has(probe);
  if (probe.matches === 0 && !lossy && firstDuplicateKey(text) === undefined) return result(body, probe, false);
  try {
    if (!lossy && numbersRoundTrip(text)) return result(Buffer.from(JSON.stringify(masked)), probe, true);
    const tally = newTally();
    const root = edit(parsePreservingNumbers(text), tally);
    if (tally.matches === 0 && firstDuplicateKey(text) === undefined) return result(body, tally, false);
    return result(Buffer.from(JSON.stringify(root)), tally, true);
  } catch (e) {
    // JSON.parse is iterative but the reviver and JSON.stringify recurse: a document nested
    // thousands of levels deep overflows them. Serialize the probe's (already masked) tree
    // iteratively instead; only integers beyond 2^53 lose their exact digits on this path.
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: nothing here throws anything but a RangeError; the check keeps it that way
    if (!(e instanceof RangeError)) throw e;
    return result(Buffer.from(stringifyIterative(masked)), probe, true);
  }
}

/** JSON.stringify for parsed JSON data (objects, arrays, strings, numbers, booleans, null), without recursion. */
export function stringifyIterative(value: unknown): string {
  const parts: string[] = [];
  // work items: a value to write, or a literal string to append
  const stack: { v?: unknown; lit?: string }[] = [{ v: value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (item.lit !== undefined) {
      parts.push(item.lit);
      continue;
    }
    const v = item.v;
    if (Array.isArray(v)) {
      parts.push('[');
      stack.push({ lit: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ v: v[i] }); // undefined is written as null below
        if (i > 0) stack.push({ lit: ',' });
      }
    } else if (typeof v === 'object' && v !== null && !J.isRawJSON(v)) {
      const rec = v as Record<string, unknown>;
      const keys = Object.keys(rec).filter((k) => rec[k] !== undefined);
      parts.push('{');
      stack.push({ lit: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ v: rec[keys[i]!] });
        stack.push({ lit: JSON.stringify(keys[i]) + ':' });
        if (i > 0) stack.push({ lit: ',' });
      }
    } else {
      parts.push(JSON.stringify(v) ?? 'null');
    }
  }
  return parts.join('');
}

export function maskMessageBody(engine: Engine, body: Buffer): BodyMaskResult {
  if (engine.detectors.length === 0) return { body, counts: {}, changed: false };
  return maskJsonBody(engine, body, (root, tally) => {
    maskMessageObject(engine, root, tally);
    return root;
  });
}

/**
 * An internal service's answer: JSON only (anything else is reported as skipped, and the caller
 * must not deliver it). maskFields first, then the detectors on every string value, every
 * object key and every number's source text (a card number sent as a number is a card number).
 */
export function maskServiceBody(engine: Engine, body: Buffer, paths: readonly JsonPath[]): BodyMaskResult {
  if (!isUtf8(body)) return { body, counts: {}, changed: false, skipped: 'binary' };
  const source = body.toString('utf8');
  let root: unknown;
  try {
    root = parsePreservingNumbers(source);
  } catch (e) {
    // not JSON, or nested deeper than the reviver can recurse: nothing we can vouch for
    return { body, counts: {}, changed: false, skipped: e instanceof JsonTooLargeError ? 'too-large' : 'not-json' };
  }
  const tally = newTally();
  const r = applyJsonPaths(root, paths, '[MASKED:field]');
  if (r.replaced > 0) {
    const counts = tally.counts ?? (tally.counts = {});
    counts.field = (counts.field ?? 0) + r.replaced;
    tally.matches += r.replaced;
  }
  // Stryker disable next-line ConditionalExpression: with no detector maskStringValues changes nothing; the test only saves the walk
  root = engine.detectors.length === 0 ? r.root : maskStringValues(engine, r.root, tally);
  // as in maskJsonBody: a repeated key's other copies were never checked, so the checked tree goes out
  if (tally.matches === 0 && firstDuplicateKey(source) === undefined) return result(body, tally, false);
  let text: string;
  // Stryker disable all: the catch is unreachable today: the reviver of parsePreservingNumbers recurses deeper than
  // JSON.stringify, so a body JSON.stringify cannot write was already refused as not JSON above; kept in case either
  // limit changes (docs/testing.md)
  try {
    text = JSON.stringify(root);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    text = stringifyIterative(root);
  }
  // Stryker restore all
  return result(Buffer.from(text), tally, true);
}

// ----------------------------------------------------------------- streamed partial JSON

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
