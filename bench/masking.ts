// Masking engine benchmark (DESIGN.md §9: masking >= 100 MB/s per core on the default detectors).
//
//   node_modules/.bin/node bench/masking.ts            # full run (~1 min)
//   node_modules/.bin/node bench/masking.ts --quick    # smaller inputs
//
// Single-threaded, so every figure is per core. Prints markdown tables that go into
// docs/masking.md as they are.

import os from 'node:os';
import { compileMasking, BUILTIN_CATEGORIES, type Masking, type MaskingPolicy } from '../packages/core/src/masking/index.ts';
import { buildCorpus, measureCorpus, realisticText, rng } from '../packages/core/src/masking/fixtures.ts';
import { SseParser } from '../packages/core/src/sse/parser.ts';
import { sseResponse } from './lib/fixtures.ts';

const quick = process.argv.includes('--quick');
const MB = 1024 * 1024;

/** The data section of the DESIGN.md example scope. */
const DESIGN_EXAMPLE: MaskingPolicy = {
  mask: ['email', 'phone', 'credit-card', 'iban', 'api-key', 'jwt'],
  block: ['private-key'],
  custom: [{ name: 'ticket-id', pattern: 'TCK-[0-9]{6}', action: 'mask' }],
};
const ALL_BUILTIN: MaskingPolicy = { mask: [...BUILTIN_CATEGORIES] };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * MB/s of maskText over `text` after warm-up: the fastest run (what the code costs when the core
 * is not shared) and the median (what a busy machine gave).
 */
function throughput(m: Masking, text: string, runs = quick ? 3 : 9): { best: number; median: number; masked: number } {
  const bytes = Buffer.byteLength(text);
  let masked = 0;
  for (let i = 0; i < 2; i++) masked = Object.values(m.maskText(text).counts).reduce((a, b) => a + b, 0);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    m.maskText(text);
    times.push(performance.now() - t0);
  }
  return { best: bytes / MB / (Math.min(...times) / 1000), median: bytes / MB / (median(times) / 1000), masked };
}

function line(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

// ---------------------------------------------------------------------------- text

const SIZE = quick ? 2 * MB : 16 * MB;
const texts: [string, string][] = [
  ['realistic model output (2% of paragraphs carry a sensitive value)', realisticText(SIZE, 7, 0.02)],
  ['same, no sensitive values', realisticText(SIZE, 8, 0)],
  ['dense: a sensitive value in every 2nd paragraph', realisticText(SIZE, 9, 0.5)],
];

console.log(`# masking benchmark\n`);
const load = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), ${os.platform()} ${os.arch()}; load average at start ${load}; ${quick ? 'quick' : 'full'} run, inputs ${SIZE / MB} MB\n`,
);
console.log('## maskText throughput (one core)\n');
console.log(line(['text', 'policy', 'MB/s (fastest run)', 'MB/s (median run)', 'values masked']));
console.log(line(['---', '---', '---:', '---:', '---:']));
for (const [name, text] of texts) {
  for (const [pname, policy] of [
    ['DESIGN.md example (6 mask + 1 block + 1 custom)', DESIGN_EXAMPLE],
    ['all 9 built-in categories', ALL_BUILTIN],
  ] as const) {
    const r = throughput(compileMasking(policy), text);
    console.log(line([name, pname, r.best.toFixed(0), r.median.toFixed(0), r.masked]));
  }
}

// --------------------------------------------------------------------- custom patterns

console.log('\n## custom patterns (all built-ins plus the pattern; realistic text)\n');
console.log(line(['custom pattern', 'MB/s (fastest run)', 'MB/s (median run)']));
console.log(line(['---', '---:', '---:']));
const customText = texts[0]![1].slice(0, quick ? MB : 4 * MB);
for (const p of ['TCK-[0-9]{6}', '\\b(?:ACME|acme)-[A-Z0-9]{4,12}\\b', '[a-z]{2,8}-[0-9]{4,8}', '(?:[a-z]{1,8}\\.){1,4}internal']) {
  const r = throughput(compileMasking({ ...ALL_BUILTIN, custom: [{ name: 'c', pattern: p }] }), customText, 5);
  console.log(line([`\`${p}\``, r.best.toFixed(0), r.median.toFixed(0)]));
}

// ------------------------------------------------------------------------------ JSON

console.log('\n## maskMessageJson (non-streamed Messages response, DESIGN.md example policy)\n');
{
  const m = compileMasking(DESIGN_EXAMPLE);
  const text = realisticText(quick ? 64 * 1024 : 256 * 1024, 11, 0.02);
  const body = Buffer.from(
    JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text }],
      usage: { input_tokens: 10, output_tokens: 9000 },
    }),
  );
  const clean = Buffer.from(
    JSON.stringify({ id: 'msg_1', type: 'message', content: [{ type: 'text', text: realisticText(body.length, 12, 0) }] }),
  );
  console.log(line(['body', 'size', 'MB/s (fastest run)']));
  console.log(line(['---', '---:', '---:']));
  for (const [name, b] of [
    ['with sensitive values (re-serialized)', body],
    ['nothing to mask (original bytes returned)', clean],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < (quick ? 10 : 40); i++) {
      const t0 = performance.now();
      m.maskMessageJson(b);
      times.push(performance.now() - t0);
    }
    console.log(line([name, `${(b.length / 1024).toFixed(0)} KB`, (b.length / MB / (Math.min(...times.slice(3)) / 1000)).toFixed(0)]));
  }
}

// ------------------------------------------------------------------------------- SSE

function sseStream(text: string, seed: number): Buffer[] {
  const r = rng(seed);
  const ev = (event: string, data: unknown) => Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const out: Buffer[] = [
    ev('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [],
        usage: { input_tokens: 25, output_tokens: 1 },
      },
    }),
  ];
  out.push(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  let i = 0;
  while (i < text.length) {
    const n = 4 + Math.floor(r() * 20); // deltas of 4-23 characters, like the API's
    out.push(
      ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(i, i + n) } }),
    );
    if (r() < 0.01) out.push(ev('ping', { type: 'ping' }));
    i += n;
  }
  out.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
  out.push(
    ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 900 } }),
  );
  out.push(ev('message_stop', { type: 'message_stop' }));
  return out;
}

/** Per-event cost (µs) of pushing each event as its own chunk. */
function perEvent(events: Buffer[], make: () => { push(c: Buffer): unknown; end(): unknown }): number[] {
  const samples: number[] = [];
  const s = make();
  for (const e of events) {
    const t0 = process.hrtime.bigint();
    s.push(e);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  s.end();
  return samples;
}

console.log('\n## SSE: time per event (each event pushed as its own chunk)\n');
{
  const text = realisticText(quick ? 256 * 1024 : 1024 * 1024, 13, 0.02);
  const events = sseStream(text, 5);
  const parserOnly = () => {
    const p = new SseParser();
    return { push: (c: Buffer) => p.push(c), end: () => p.end() };
  };
  const policies: [string, Masking][] = [
    ['DESIGN.md example policy', compileMasking(DESIGN_EXAMPLE)],
    ['all 9 built-in categories', compileMasking(ALL_BUILTIN)],
  ];
  // warm-up
  for (let k = 0; k < 3; k++) {
    perEvent(events, parserOnly);
    for (const [, m] of policies) perEvent(events, () => m.createSseMasker());
  }
  /** Of three runs, the one with the lowest mean (the others were disturbed by other processes). */
  const bestOf3 = (make: () => { push(c: Buffer): unknown; end(): unknown }) => {
    let best: number[] | undefined;
    let bestMean = Infinity;
    for (let k = 0; k < 3; k++) {
      const s = perEvent(events, make);
      const mean = s.reduce((a, b) => a + b, 0) / s.length;
      if (mean < bestMean) {
        bestMean = mean;
        best = s;
      }
    }
    return best!;
  };
  const base = bestOf3(parserOnly);
  console.log(
    `${events.length} events, ${(text.length / 1024).toFixed(0)} K characters of text in deltas of 4-23 characters; each row is the best of three runs\n`,
  );
  console.log(line(['what', 'mean µs/event', 'p50', 'p99', 'p99.9', 'max chars held']));
  console.log(line(['---', '---:', '---:', '---:', '---:', '---:']));
  console.log(
    line([
      'SSE parse only (baseline)',
      (base.reduce((a, b) => a + b, 0) / base.length).toFixed(2),
      pct(base, 50).toFixed(2),
      pct(base, 99).toFixed(2),
      pct(base, 99.9).toFixed(2),
      '-',
    ]),
  );
  for (const [name, m] of policies) {
    const samples = bestOf3(() => m.createSseMasker());
    let held = 0;
    const sm = m.createSseMasker();
    for (const e of events) {
      sm.push(e);
      held = Math.max(held, sm.held);
    }
    console.log(
      line([
        `masking: ${name}`,
        (samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(2),
        pct(samples, 50).toFixed(2),
        pct(samples, 99).toFixed(2),
        pct(samples, 99.9).toFixed(2),
        held,
      ]),
    );
  }
}

// ---------------------------------------------------------------------------- corpus

console.log('\n## SSE: one whole response in one chunk (the canned stream of `npm run bench`)\n');
{
  // What the sidecar's masker does with the bench's upstream answer: 37 events, 31 text deltas
  // of ~12 characters, one e-mail address, all in one read.
  const stream = Buffer.from(sseResponse());
  const m = compileMasking(DESIGN_EXAMPLE);
  const n = quick ? 2_000 : 20_000;
  const perResponse = (chunks: Buffer[]) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const s = m.createSseMasker();
      for (const c of chunks) s.push(Buffer.from(c));
      s.end();
    }
    return Number(process.hrtime.bigint() - t0) / 1000 / n;
  };
  const byEvent = new SseParser().push(stream).map((e) => e.raw);
  console.log(`${stream.length} bytes, ${byEvent.length} events; DESIGN.md example policy; best of 3 runs of ${n} responses\n`);
  console.log(line(['chunks', 'µs per response']));
  console.log(line(['---', '---:']));
  for (const [name, chunks] of [
    ['the whole stream in one chunk', [stream]],
    ['one chunk per event', byEvent],
  ] as const) {
    perResponse([...chunks]);
    console.log(line([name, Math.min(perResponse([...chunks]), perResponse([...chunks]), perResponse([...chunks])).toFixed(1)]));
  }
}

console.log('\n## detection quality on the generated corpus (all built-in detectors on)\n');
{
  const results = measureCorpus(compileMasking(ALL_BUILTIN), buildCorpus(20260101, 300));
  console.log(line(['category', 'positives', 'missed', 'negatives', 'false positives', 'FP rate', 'negatives masked as another category']));
  console.log(line(['---', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const r of results) {
    console.log(
      line([
        r.category,
        r.positives,
        r.falseNegatives.length,
        r.negatives,
        r.falsePositives.length,
        `${((100 * r.falsePositives.length) / r.negatives).toFixed(1)}%`,
        r.anyCategory - r.falsePositives.length,
      ]),
    );
  }
  console.log('\nFalse positives by kind of near-miss:\n');
  for (const r of results) {
    for (const [kind, k] of Object.entries(r.byKind)) if (k.fp > 0) console.log(`- ${r.category} / ${kind}: ${k.fp} of ${k.n}`);
  }
}
