// Custom patterns from a ModelScope (data.custom[].pattern), matched in linear time.
//
// A scope author's regex must not be able to stall the data path, so custom patterns are not
// handed to V8's backtracking engine. They are parsed (a JavaScript-regex subset), compiled
// to a Thompson NFA and run by a Pike VM: every text position is handled once, with
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
//
// This module checks a pattern against the limits above and builds its detector; the parser
// (custom-parser.ts, over custom-reader.ts), the compiler (custom-program.ts) and the VM
// (custom-vm.ts) sit beside it, with the character sets they share in custom-charset.ts.

import { MaskingConfigError } from './errors.ts';
import { CUSTOM_MAX_MATCH, Parser } from './custom-parser.ts';
import { PatternError } from './custom-reader.ts';
import type { Node } from './custom-reader.ts';
import { sizes } from './custom-program.ts';
import { PikeDetector, type CustomDetector } from './custom-vm.ts';

const MAX_STATES = 2048;

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
