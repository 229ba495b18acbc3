// A run: consecutive text deltas of one block that arrived in one chunk. They are masked as one
// text (a detector pass costs the same whatever the text's length): the leading ones that come
// out unchanged go byte for byte, the rest of the output rides with the last of them
// (docs/masking.md).

import { type Engine, type Tally } from './engine.ts';
import { KEEP_BLOCK_DELTA, KEEP_TEXT_DELTA, maskFields, reserialize, type TextDelta } from './sse-events.ts';
import { type TextStream } from './text-stream.ts';

/**
 * A run of text deltas of one block, masked as one text. What comes out is split back over the
 * run's events: the leading ones whose text came out unchanged pass through byte for byte (the
 * first carries the text held back before the run, if any), and the rest of the output rides
 * with the run's last event (the events in between are left with nothing to say: dropped).
 */
export function maskTextRun(engine: Engine, tally: Tally, b: { kind: 'text'; s: TextStream }, run: TextDelta[], parts: Buffer[]): void {
  const held = b.s.pending;
  let all = '';
  for (const td of run) {
    all += td.text;
    // Stryker disable next-line ConditionalExpression,BooleanLiteral: a bare delta has no field maskFields would mask; the test saves the walk
    if (td.bare === true) continue;
    const before = tally.matches;
    maskFields(engine, td.obj, KEEP_BLOCK_DELTA, tally);
    maskFields(engine, td.delta, KEEP_TEXT_DELTA, tally);
    td.extras = tally.matches !== before;
  }
  const out = b.s.push(all);
  if (tally.blocked !== undefined) return;
  const last = run.length - 1;
  let pos = 0;
  let j = 0;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: with one event (last = 0) the tail below gives it the same text (without a mask, out can hold its text after the held characters only as the whole of out)
  if (held > 0 && last > 0 && out.startsWith(run[0]!.text, held)) {
    pos = held + run[0]!.text.length;
    retext(run[0]!, out.slice(0, pos), parts);
    j = 1;
  }
  // Stryker disable next-line EqualityOperator: the last event passed here (j <= last) is the last event passed by the tail below
  for (; j < last && out.startsWith(run[j]!.text, pos); j++) {
    parts.push(asIs(run[j]!));
    pos += run[j]!.text.length;
  }
  const rest = out.slice(pos);
  if (rest === run[last]!.text) parts.push(asIs(run[last]!));
  else if (rest !== '') retext(run[last]!, rest, parts);
}

/** A text delta whose text came out unchanged. */
function asIs(td: TextDelta): Buffer {
  return td.extras ? reserialize(td.ev, td.obj) : td.ev.raw;
}

function retext(td: TextDelta, text: string, parts: Buffer[]): void {
  td.delta.text = text;
  parts.push(reserialize(td.ev, td.obj));
}
