// Masking of whole JSON bodies: a Messages API response, and an internal service's answer (its
// maskFields, then the detectors). A body without a match goes out as the bytes that came; a body
// that changed is serialized from the masked tree, keeping every number as it was written.

import { isUtf8 } from 'node:buffer';
import { newTally, type Engine, type Tally } from './engine.ts';
import { applyJsonPaths, type JsonPath } from './jsonpath.ts';
import { maskMessageObject } from './json-message.ts';
import { J, LOSSY, isNumberChar, maskStringValues, parsePreservingNumbers } from './json-values.ts';
import { firstDuplicateKey } from '../util/json-keys.ts';
import { JsonTooLargeError, parseJson } from '../util/json-size.ts';

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
  if (probe.matches === 0 && !lossy && firstDuplicateKey(text, { caseFold: false }) === undefined) return result(body, probe, false);
  try {
    if (!lossy && numbersRoundTrip(text)) return result(Buffer.from(JSON.stringify(masked)), probe, true);
    const tally = newTally();
    const root = edit(parsePreservingNumbers(text), tally);
    if (tally.matches === 0 && firstDuplicateKey(text, { caseFold: false }) === undefined) return result(body, tally, false);
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
  return maskJsonBody(engine, body, (root, tally) => maskMessageObject(engine, root, tally));
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
  if (tally.matches === 0 && firstDuplicateKey(source, { caseFold: false }) === undefined) return result(body, tally, false);
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
