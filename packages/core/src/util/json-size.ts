// How much a JSON text costs once parsed, counted before it is. JSON.parse turns each object or
// array into 40–70 bytes of heap and each value into 10–80, whatever the text spent on it: 5 MB
// of `{},` is ~110 MB of heap, past the sidecar's bounded heap (--max-old-space-size=96), and V8
// then aborts the process with every request in it. So every JSON the data path parses (a
// request, an MCP message, an answer it masks or reads usage from) is counted first and refused
// above MAX_JSON_VALUES: at most ~20 MB of parsed values, however the text is written.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;

/**
 * The most values one parsed JSON text may hold (objects, arrays, members and elements), far
 * above a real request: a Messages request of 200k tokens of conversation and 50 tool schemas
 * holds some 20,000.
 */
export const MAX_JSON_VALUES = 250_000;

/**
 * `n` with a comma between groups of three digits, as en-US writes it. Not toLocaleString: its
 * first call loads ICU's locale data, ~5 MB more RSS in every sidecar (idle 72 → 78 MB).
 */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/** The text holds more values than the sidecar parses; the message says how many at most. */
export class JsonTooLargeError extends Error {
  constructor(max: number) {
    super(`it holds more than ${thousands(max)} JSON values (objects, arrays, members and elements)`);
  }
}

/**
 * The values of `text`, counted up to `max + 1` (the count stops there): one for the document,
 * one per object or array opened and one per comma outside strings. That is at least the number
 * of values JSON.parse would make (an empty container counts once, a non-empty one twice) and
 * needs no valid JSON: a text that is not is counted all the same, and JSON.parse refuses it later.
 */
export function jsonValues(text: string, max: number = MAX_JSON_VALUES): number {
  let count = 1;
  const n = text.length;
  // Stryker disable next-line EqualityOperator: charCodeAt(n) is NaN, which no branch takes
  for (let i = 0; i < n && count <= max; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      // Stryker disable next-line EqualityOperator: a closing quote is never at 0 (it follows an opening one)
      if (i < 0) break;
    } else if (c === COMMA || c === OPEN_OBJECT || c === OPEN_ARRAY) count++;
  }
  return count;
}

/** JSON.parse, after refusing a text of more than MAX_JSON_VALUES values (JsonTooLargeError). */
export function parseJson(
  text: string,
  reviver?: (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown,
): unknown {
  // The count is at most one more than the text's length (one per character at most, plus the
  // document), so only a text of MAX_JSON_VALUES characters or more can exceed it: every ordinary
  // request, answer and stream event skips the scan.
  // Stryker disable next-line ConditionalExpression: scanning every text gives the same answers; the length test only saves the scan (docs/testing.md)
  if (text.length >= MAX_JSON_VALUES && jsonValues(text) > MAX_JSON_VALUES) throw new JsonTooLargeError(MAX_JSON_VALUES);
  return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
}

/** The index of the quote closing the string that opens at `open`; -1 when it never closes. */
function closingQuote(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  // Stryker disable next-line EqualityOperator: indexOf from open + 1 is -1 or at least 1
  while (q > 0) {
    // A quote after an odd number of backslashes is escaped.
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
  return -1;
}
