// Property tests of the SSE parser on hostile input: arbitrary bytes in arbitrary chunks never
// throw, never lose a byte, and parse the same whatever the chunking; what it parsed, written
// back with formatSseEvent and parsed again, is the same events.
import fc from 'fast-check';
import { SseParser, type SseEvent } from './parser.ts';
import { formatSseEvent } from './serialize.ts';

function parseInChunks(buf: Buffer, cuts: number[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  let prev = 0;
  for (const c of [...new Set(cuts.map((x) => x % (buf.length + 1)))].sort((a, b) => a - b)) {
    if (c <= prev) continue;
    out.push(...p.push(buf.subarray(prev, c)));
    prev = c;
  }
  out.push(...p.push(buf.subarray(prev)));
  out.push(...p.end());
  return out;
}

const fields = (e: SseEvent) => ({
  event: e.event,
  data: e.data,
  id: e.id,
  retry: e.retry,
  comments: e.comments,
  incomplete: e.incomplete,
});

/** Bytes that look like SSE often enough to reach every branch: field names, separators, line breaks, BOMs, UTF-8 fragments. */
const sseLike = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'data',
        'data:',
        'data: ',
        'event:',
        'event: ',
        'id:',
        'id: ',
        'retry:',
        'retry: ',
        ':',
        ': ping',
        'unknown:',
        '\n',
        '\r',
        '\r\n',
        '\n\n',
        '\r\r',
        '\ufeff',
        '\0',
        '1000',
        '99999999999999999999999',
        '{"type":"x"}',
        'é',
        '🌍',
      ),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => Buffer.from(parts.join('')));
const bytes = fc.oneof(
  sseLike,
  fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
);
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('SseParser on arbitrary bytes', () => {
  test('never throws; the raw bytes of the blocks are exactly the input; chunking changes nothing', () => {
    fc.assert(
      fc.property(bytes, cuts, (buf, cs) => {
        const whole = parseInChunks(buf, []);
        const chunked = parseInChunks(buf, cs);
        expect(Buffer.concat(chunked.map((e) => e.raw)).equals(buf)).toBe(true);
        // A "\r\n" cut between its two bytes at the very end leaves the "\n" as an empty
        // incomplete block (documented: no byte is lost); clients discard such blocks.
        const lone = (e: SseEvent) => e.incomplete && e.raw.length === 1 && e.raw[0] === 0x0a;
        expect(chunked.filter((e) => !lone(e)).map(fields)).toEqual(whole.map(fields));
        // Only the last block can be incomplete, and only from end().
        expect(chunked.slice(0, -1).every((e) => !e.incomplete)).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  test('parsed events, serialized with formatSseEvent and parsed again, are the same events', () => {
    fc.assert(
      fc.property(bytes, cuts, (buf, cs) => {
        const events = parseInChunks(buf, []).filter((e) => !e.incomplete && e.data !== undefined);
        const text = events
          .map((e) =>
            formatSseEvent({
              data: e.data!,
              ...(e.event !== undefined && { event: e.event }),
              ...(e.id !== undefined && { id: e.id }),
              ...(e.retry !== undefined && { retry: e.retry }),
            }),
          )
          .join('');
        const again = parseInChunks(Buffer.from(text), cs);
        const pick = (e: SseEvent) => ({ event: e.event, data: e.data, id: e.id, retry: e.retry });
        expect(again.filter((e) => !e.incomplete).map(pick)).toEqual(events.map(pick));
        expect(again.every((e) => !e.incomplete)).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  test('a retry value of 1e21 and more is written back as digits', () => {
    const [ev] = new SseParser().push(Buffer.from('retry: 99999999999999999999999\ndata: x\n\n'));
    const text = formatSseEvent({ data: ev!.data!, retry: ev!.retry! });
    expect(text).toMatch(/^retry: \d+\n/);
    expect(new SseParser().push(Buffer.from(text))[0]!.retry).toBe(ev!.retry);
  });

  test('a large block split into many chunks is parsed once, without quadratic blow-up', () => {
    const big = Buffer.from(`event: content_block_delta\ndata: ${'x'.repeat(2 * 1024 * 1024)}\n\n`);
    const p = new SseParser();
    const t0 = process.cpuUsage();
    const out: SseEvent[] = [];
    for (let i = 0; i < big.length; i += 4096) out.push(...p.push(big.subarray(i, i + 4096)));
    expect(out).toHaveLength(1);
    expect(out[0]!.data!.length).toBe(2 * 1024 * 1024);
    const cpu = process.cpuUsage(t0); // CPU time: quadratic copying would take seconds of it; other work adds none
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(2000);
  });
});
