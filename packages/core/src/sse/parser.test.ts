import fc from 'fast-check';
import { MAX_SSE_BLOCK_BYTES, SseBlockTooLargeError, SseParser, sseEventType, type SseEvent } from './parser.ts';
import { formatSseEvent, formatSseComment, formatSseJson } from './serialize.ts';
import { MessageStreamObserver } from './anthropic.ts';

interface Plain {
  event: string | undefined;
  data: string | undefined;
  id: string | undefined;
  retry: number | undefined;
  comments: number;
}

const plain = (e: SseEvent): Plain => ({ event: e.event, data: e.data, id: e.id, retry: e.retry, comments: e.comments });

/** Parses a whole stream in the given chunks; returns the blocks and the concatenated raw bytes. */
function parseChunks(chunks: Buffer[]): { events: SseEvent[]; raw: Buffer } {
  const p = new SseParser();
  const events: SseEvent[] = [];
  for (const c of chunks) events.push(...p.push(c));
  events.push(...p.end());
  return { events, raw: Buffer.concat(events.map((e) => e.raw)) };
}

/** Splits a buffer at the given (sorted, deduplicated) cut points. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= prev || c >= buf.length) continue;
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** A straightforward, whole-string reading of the spec to compare against. */
function referenceParse(text: string): Plain[] {
  // a BOM at the start of any line is ignored (as the Anthropic TypeScript SDK reads it)
  const lines = text.split(/\r\n|\r|\n/).map((l) => (l.startsWith('\ufeff') ? l.slice(1) : l));
  lines.pop(); // text after the final line break: an unterminated line, never dispatched
  const out: Plain[] = [];
  let cur: Plain = { event: undefined, data: undefined, id: undefined, retry: undefined, comments: 0 };
  const reset = () => (cur = { event: undefined, data: undefined, id: undefined, retry: undefined, comments: 0 });
  for (const line of lines) {
    if (line === '') {
      out.push(cur);
      reset();
      continue;
    }
    if (line.startsWith(':')) {
      cur.comments++;
      continue;
    }
    const i = line.indexOf(':');
    const name = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') cur.data = cur.data === undefined ? value : cur.data + '\n' + value;
    else if (name === 'event') cur.event = value;
    else if (name === 'id' && !value.includes('\0')) cur.id = value;
    else if (name === 'retry' && /^[0-9]+$/.test(value)) cur.retry = Number(value);
  }
  return out;
}

const ANTHROPIC_STREAM = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":12,"output_tokens":1}}}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
  'event: ping\ndata: {"type": "ping"}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Grüße 🌍"}}\n\n',
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
].join('');

describe('SseParser', () => {
  it('parses an Anthropic stream and keeps every byte', () => {
    const buf = Buffer.from(ANTHROPIC_STREAM);
    const { events, raw } = parseChunks([buf]);
    expect(raw.equals(buf)).toBe(true);
    expect(events.map(sseEventType)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(JSON.parse(events[3]!.data!).delta.text).toBe('Grüße 🌍');
  });

  it('gives the same events for a split at every byte (inside UTF-8 characters and CRLF pairs too)', () => {
    const text = ANTHROPIC_STREAM.replace(/\n/g, '\r\n');
    const buf = Buffer.from(text);
    const whole = parseChunks([buf]).events.map(plain);
    for (let i = 1; i < buf.length; i++) {
      const { events, raw } = parseChunks([buf.subarray(0, i), buf.subarray(i)]);
      expect(events.filter((e) => !e.incomplete).map(plain)).toEqual(whole);
      expect(raw.equals(buf)).toBe(true);
    }
    // one byte at a time
    const bytes = Array.from(buf, (_, i) => buf.subarray(i, i + 1));
    expect(
      parseChunks(bytes)
        .events.filter((e) => !e.incomplete)
        .map(plain),
    ).toEqual(whole);
  });

  it('handles CR-only lines, comments, multi-line data, fields without colon, BOM and ids', () => {
    const text = '\ufeff: hello\r\rdata\revent: x\rdata:a\rdata: b\r\rid: 7\rretry: 1500\rretry: x\rdata:  two spaces\n\n';
    const { events, raw } = parseChunks([Buffer.from(text)]);
    expect(raw.toString()).toBe(text);
    expect(events.map(plain)).toEqual([
      { event: undefined, data: undefined, id: undefined, retry: undefined, comments: 1 },
      { event: 'x', data: '\na\nb', id: undefined, retry: undefined, comments: 0 },
      { event: undefined, data: ' two spaces', id: '7', retry: 1500, comments: 0 },
    ]);
  });

  it('ignores a BOM at the start of every line, as the Anthropic TypeScript SDK does', () => {
    // the SDK strips U+FEFF at the start of each line: "\uFEFFdata: …" is a data line to it
    const text = 'event: content_block_delta\n\ufeffdata: {"a":1}\n\n\ufeffevent: x\r\ndata: 2\r\n\ufeff\r\n: c\n\ufeff\ufeffdata: 3\n\n';
    for (const chunks of [[Buffer.from(text)], Array.from(Buffer.from(text), (b) => Buffer.from([b]))]) {
      const { events, raw } = parseChunks(chunks);
      expect(raw.toString()).toBe(text);
      expect(events.map(plain)).toEqual([
        { event: 'content_block_delta', data: '{"a":1}', id: undefined, retry: undefined, comments: 0 },
        { event: 'x', data: '2', id: undefined, retry: undefined, comments: 0 },
        // only one BOM is stripped: the field is "\uFEFFdata", which is ignored
        { event: undefined, data: undefined, id: undefined, retry: undefined, comments: 1 },
      ]);
    }
  });

  it('strips a whole BOM only: a line that starts with part of one keeps it, whatever the chunking', () => {
    const line = (lead: number[], rest: string) => Buffer.concat([Buffer.from(lead), Buffer.from(rest)]);
    const text = Buffer.concat([
      line([0x61, 0xbb, 0xbf], 'data: 1\n'),
      line([0xef, 0x41, 0xbf], 'data: 2\n'),
      line([0xef, 0xbb, 0x41], 'data: 3\n'),
      line([0xef, 0xbb], '\n'),
      line([0xef], '\n'),
      line([0xef, 0xbb, 0xbf], 'data: 4\n\n'),
    ]);
    for (const chunks of [[text], Array.from(text, (b) => Buffer.from([b]))]) {
      const { events } = parseChunks(chunks);
      expect(events.map(plain)).toEqual([{ event: undefined, data: '4', id: undefined, retry: undefined, comments: 0 }]);
    }
  });

  it('reports an unterminated last block as incomplete', () => {
    const p = new SseParser();
    expect(p.push(Buffer.from('event: a\ndata: 1\n\nevent: b\ndata: 2'))).toHaveLength(1);
    const [last] = p.end();
    expect(last).toMatchObject({ event: 'b', data: '2', incomplete: true });
    expect(last!.raw.toString()).toBe('event: b\ndata: 2');
    expect(new SseParser().end()).toEqual([]);
  });

  it('matches a whole-string reference parser for any stream and any chunking (property)', () => {
    const value = fc.string({ unit: fc.constantFrom('a', 'é', '🌍', ' ', ':', '{', '"', '\u2028'), maxLength: 12 });
    const line = fc.oneof(
      value.map((v) => `data: ${v}`),
      value.map((v) => `data:${v}`),
      fc.constant('data'),
      value.map((v) => `event: ${v.replace(/:/g, '')}`),
      value.map((v) => `: ${v}`),
      fc.constant('id: 42'),
      fc.constant('retry: 100'),
      value.map((v) => `x-unknown: ${v}`),
      value.map((v) => `\ufeffdata: ${v}`),
      fc.constant('\ufeffevent: y'),
      fc.constant('\ufeff'),
    );
    const block = fc.array(line, { minLength: 0, maxLength: 4 });
    const stream = fc.record({
      blocks: fc.array(block, { maxLength: 6 }),
      eol: fc.constantFrom('\n', '\r\n', '\r'),
      bom: fc.boolean(),
    });
    fc.assert(
      fc.property(stream, fc.array(fc.nat(400), { maxLength: 12 }), ({ blocks, eol, bom }, cuts) => {
        let text = bom ? '\ufeff' : '';
        for (const b of blocks) text += b.map((l) => l + eol).join('') + eol;
        const buf = Buffer.from(text);
        const { events, raw } = parseChunks(split(buf, cuts));
        expect(raw.equals(buf)).toBe(true);
        expect(events.filter((e) => !e.incomplete).map(plain)).toEqual(referenceParse(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('SSE serializer', () => {
  it('round-trips through the parser', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }),
        fc.option(fc.stringMatching(/^[a-z_]{1,12}$/), { nil: undefined }),
        fc.option(fc.stringMatching(/^[0-9a-z]{1,5}$/), { nil: undefined }),
        (data, event, id) => {
          const text = formatSseEvent({ data, event, id }) + formatSseComment('keep\nalive');
          const [ev, comment] = parseChunks([Buffer.from(text)]).events;
          // a lone "\r\n" or "\r" in the data comes back as "\n": SSE has no way to carry them
          expect(ev).toMatchObject({ data: data.replace(/\r\n|\r/g, '\n'), event, id });
          expect(comment).toMatchObject({ data: undefined, comments: 2 });
        },
      ),
    );
  });

  it('formats JSON events like the Anthropic API', () => {
    expect(formatSseJson('ping', { type: 'ping' })).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    expect(() => formatSseEvent({ event: 'a\nb', data: '' })).toThrow(/line break/);
  });
});

describe('MessageStreamObserver', () => {
  it('collects model, cumulative usage, stop reason and upstream errors', () => {
    const obs = new MessageStreamObserver();
    const stream =
      ANTHROPIC_STREAM +
      'event: message_delta\ndata: {"type":"message_delta","delta":{},"usage":{"output_tokens":20}}\n\n' +
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    for (const ev of parseChunks([Buffer.from(stream)]).events) obs.observe(ev);
    expect(obs.facts).toEqual({
      model: 'claude-sonnet-4-5',
      messageId: 'msg_1',
      usage: { input_tokens: 12, output_tokens: 20 },
      stopReason: 'end_turn',
      complete: true,
      error: { type: 'overloaded_error', message: 'Overloaded' },
      toolsUsed: [],
    });
  });
});

describe('SseParser reads event names and data as they are written', () => {
  // The names a Messages stream uses are kept as one string each, and a data line is decoded
  // when it is read: neither may change what a name or a data line reads as.
  const names = [
    'message_start',
    'message_delta',
    'message_stop',
    'content_block_start',
    'content_block_delta',
    'content_block_stop',
    'ping',
    'error',
    'message_stars',
    'Message_start',
    'content_block_delt',
    'content_block_deltas',
    'pinG',
    'errör',
    'érror',
    'ping ',
    '',
  ];
  it.each(names)('event: %j, in one chunk and cut at every byte', (name) => {
    const text = Buffer.from(`event: ${name}\ndata: {"n":"${name}"}\n\n`);
    for (let cut = 0; cut <= text.length; cut++) {
      const { events } = parseChunks(cut === 0 ? [text] : [text.subarray(0, cut), text.subarray(cut)]);
      expect(events.map(plain)).toEqual([{ event: name, data: `{"n":"${name}"}`, id: undefined, retry: undefined, comments: 0 }]);
    }
  });

  it('the data of an event reads the same at once, after the next chunks and after end()', () => {
    const p = new SseParser();
    const first = p.push(Buffer.from('data: ünï\n\nevent: a\ndata: x\ndata: y\n\ndata: ta'));
    const early = first.map((e) => e.data);
    const late = p.push(Buffer.from('il\n\n'));
    const ended = p.end();
    expect(early).toEqual(['ünï', 'x\ny']);
    expect(first.map((e) => e.data)).toEqual(early);
    expect(late.map((e) => e.data)).toEqual(['tail']);
    expect(ended).toEqual([]);
  });
});

describe('MessageStreamObserver reads only the events it needs', () => {
  it("never reads a delta's or a ping's data", () => {
    const obs = new MessageStreamObserver();
    let reads = 0;
    const event = (type: string): SseEvent => ({
      event: type,
      get data() {
        reads++;
        return '{"type":"x"}';
      },
      id: undefined,
      retry: undefined,
      comments: 0,
      raw: Buffer.alloc(0),
      incomplete: false,
    });
    for (const t of ['content_block_delta', 'ping', 'content_block_stop']) obs.observe(event(t));
    expect(reads).toBe(0);
    obs.observe(event('message_delta'));
    expect(reads).toBe(1);
  });
});

describe('SseParser lines without a colon', () => {
  it('a field name alone has an empty value, and the next line of the chunk keeps its own colon', () => {
    const p = new SseParser();
    const events = p.push(Buffer.from('data\nevent: x\n\nid\nretry\ndata:y\n\n'));
    expect(events.map((e) => [e.event, e.data, e.id, e.retry])).toEqual([
      ['x', '', undefined, undefined],
      [undefined, 'y', '', undefined],
    ]);
  });

  it('recognises data, event and id only by their exact bytes', () => {
    const p = new SseParser();
    const events = p.push(Buffer.from('dat:a\ndatA: b\nevenT: c\nevent\u00e9: d\ni: e\nid: f\ndata: g\nretry: 7\n\n'));
    expect(events.map((e) => [e.event, e.data, e.id, e.retry])).toEqual([[undefined, 'g', 'f', 7]]);
  });
});

describe('SseParser holds one unfinished block up to its limit', () => {
  it('counts only the unfinished block: complete blocks of any number cost nothing held', () => {
    const p = new SseParser(20);
    expect(p.push(Buffer.from('data: 1\n\n'.repeat(100) + 'data: 12'))).toHaveLength(100);
    expect(p.pendingBytes).toBe(8);
    expect(p.push(Buffer.from('34\n'))).toEqual([]);
    expect(p.pendingBytes).toBe(11);
    expect(p.push(Buffer.from('\ndata: x'))[0]!.data).toBe('1234');
    expect(p.pendingBytes).toBe(7);
    expect(p.end()[0]!.data).toBe('x');
    expect(p.pendingBytes).toBe(0);
  });

  it('a block of exactly the limit passes; one byte more throws, and what was held is dropped', () => {
    const at = new SseParser(10);
    at.push(Buffer.from('data: 1234'));
    expect(at.pendingBytes).toBe(10);
    expect(at.push(Buffer.from('\n\n'))[0]!.data).toBe('1234');
    const over = new SseParser(10);
    over.push(Buffer.from('data: 123'));
    expect(() => over.push(Buffer.from('45'))).toThrow(
      new SseBlockTooLargeError('an event still without its end after 11 bytes (at most 10 are held)'),
    );
    expect(over.pendingBytes).toBe(0);
    expect(over.end()).toEqual([]);
  });

  it('a line that never ends counts as the block it is in, across any number of chunks', () => {
    const p = new SseParser(1000);
    p.push(Buffer.from('event: x\ndata: '));
    let thrown: unknown;
    for (let i = 0; i < 100 && thrown === undefined; i++) {
      try {
        p.push(Buffer.alloc(64, 'a'));
      } catch (e) {
        thrown = e;
      }
    }
    expect(thrown).toBeInstanceOf(SseBlockTooLargeError);
  });

  it('defaults to MAX_SSE_BLOCK_BYTES (16 MiB)', () => {
    expect(MAX_SSE_BLOCK_BYTES).toBe(16 * 1024 * 1024);
    const p = new SseParser();
    p.push(Buffer.alloc(MAX_SSE_BLOCK_BYTES, 'a'));
    expect(() => p.push(Buffer.from('a'))).toThrow(SseBlockTooLargeError);
  });
});
