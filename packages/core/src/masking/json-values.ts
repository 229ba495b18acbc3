// Masking of JSON values whose shape nobody fixed (tool inputs, internal services' answers), and
// the pieces every JSON masker shares: numbers kept as their source text, number masking, and
// the masking of object keys.
//
// Detectors run on the *decoded* content of JSON strings (never on the JSON text: a match there
// could swallow half an escape sequence and break the document) and the result is re-encoded,
// and on the source text of numbers (a card number written as a JSON number is a card number: it
// becomes the masked string). Object keys are masked too, wherever a value would be checked: a
// key is data as much as a value is (`{"jane@example.com": …}` in a tool input, whole or streamed,
// in a result block, in an internal service's answer), and the API's own field names never match
// a detector. A key that masks to a name its object already has gets `#2`, `#3`, … (both values
// kept); structure is never changed.

import { type Engine, type Tally } from './engine.ts';
import { parseJson } from '../util/json-size.ts';

interface JsonWithRaw {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
}
/** JSON with Node 24's rawJSON / isRawJSON, which TypeScript's lib does not declare yet. */
export const J = JSON as unknown as JsonWithRaw;

/** JSON.parse that keeps every number's source text, so re-serializing cannot round big integers or 1.0. */
export function parsePreservingNumbers(text: string): unknown {
  // Node 24 gives every primitive's reviver a context with its source text
  return parseJson(text, (_key, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' ? J.rawJSON(context!.source!) : value,
  );
}

/** Plain-parsed numbers that may have lost digits a detector needs (tallies of a first, plain parse). */
export const LOSSY = new WeakSet<Tally>();

/**
 * A number (a plain one, or one kept as source text): the detectors run on the value as
 * JavaScript writes it (`4111111111111111.0`, `4.111111111111111e15` and `41111111111111110e-1`
 * all read as 4111111111111111), then on its source text; a match makes the number the masked
 * string. Otherwise the number itself is returned.
 */
export function maskNumber(engine: Engine, v: unknown, tally: Tally): unknown {
  let src: string;
  if (typeof v === 'number') {
    src = String(v);
    // beyond 2^53 (a 17-19 digit card) a plain parse rounds the digits: the caller parses again
    if (Math.abs(v) >= 1e12 && !Number.isSafeInteger(v)) LOSSY.add(tally);
  } else src = (v as { rawJSON: string }).rawJSON;
  return maskNumberSource(engine, src, tally) ?? v;
}

/** The masked string for a number written as `src`, or undefined when no detector matches it. */
export function maskNumberSource(engine: Engine, src: string, tally: Tally): string | undefined {
  const canon = String(Number(src));
  const c = engine.maskString(canon, tally);
  if (c !== canon) return c;
  if (canon === src) return undefined;
  const m = engine.maskString(src, tally);
  return m === src ? undefined : m;
}

export const isNumber = (v: unknown): boolean => typeof v === 'number' || J.isRawJSON(v);

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
export function freeName(masked: string, taken: (name: string) => boolean): string {
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

export function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}
