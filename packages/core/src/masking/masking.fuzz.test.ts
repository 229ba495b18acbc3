// Property tests of masking on hostile input: it never throws, and it is idempotent — masking
// the masked output changes nothing (no detector matches a mask, nor what masking left
// around it). Bodies and streams of arbitrary bytes never make it throw either.
//
// Two known gaps (docs/SECURITY.md, "Masking"): detectors judge a candidate by its neighbours
// (one character before it; for phones, whether more digits follow), and masking replaces
// neighbours. So (1) a value glued to the end of a masked value ("…1111jane@x.com") and (2) a
// phone number followed by another number ("(229) 512-0694 64.91.117.64") pass the first time
// and are masked only the second time (an open gap, not pinned by a test here); the strict property
// separates values by words, and glued values are held to the weaker property that a second
// pass only adds masks.
import fc from 'fast-check';
import { compileMasking, BUILTIN_CATEGORIES, type MaskingPolicy } from './index.ts';
import { buildCorpus } from './fixtures.ts';

const POLICY: MaskingPolicy = {
  mask: BUILTIN_CATEGORIES.filter((c) => c !== 'private-key'),
  block: ['private-key'],
  custom: [
    { name: 'ticket-id', pattern: 'TCK-[0-9]{6}' },
    { name: 'acme-id', pattern: '\\b(?:ACME|acme)-[A-Z0-9]{4,12}\\b' },
  ],
};
const masking = compileMasking(POLICY);

const corpus = buildCorpus(4242, 30);
const SAMPLES = corpus.flatMap((f) => [...f.positives.map((p) => p.text), ...f.negatives.map((n) => n.text)]);
const LITERALS = ['[MASKED:', ']', '[MASKED:email]', '[MASKED:credit-card]', 'MASKED', 'sk-ant-', 'Bearer ', 'eyJ', '.', '@', '@example.com', '+44 ', '-', ' ', '\n', 'é', '🌍', 'TCK-', 'ACME-', '4111', 'DE89', '192.168.', '::', '-----BEGIN ', '-----END '];
const CHARS = 'aZ09 .-@:+()_/=[]\n\té🌍';
const pieces = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...SAMPLES) },
      { weight: 3, arbitrary: fc.constantFrom(...LITERALS) },
      { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 12 }) },
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9 -]{1,24}$/) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
    ),
    { maxLength: 16 },
  );
/** Pieces separated by words (each piece may still be anything). */
const text = fc.tuple(pieces, fc.array(fc.constantFrom(' and ', '\nthen ', ' or ', ', see ', '; also '), { minLength: 16, maxLength: 16 })).map(([xs, seps]) => xs.map((x, i) => x + seps[i]).join(''));

describe('maskText', () => {
  test('is idempotent and never throws (adversarial mixes of detector samples)', () => {
    fc.assert(
      fc.property(text, (s) => {
        const once = masking.maskText(s);
        if (once.blocked) return; // a block category ends delivery; nothing is re-masked
        const twice = masking.maskText(once.text);
        expect(twice.text).toBe(once.text);
        expect(twice.changed).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  test('is idempotent and never throws (arbitrary unicode strings)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const once = masking.maskText(s);
        if (once.blocked) return;
        expect(masking.maskText(once.text).text).toBe(once.text);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('known gaps: neighbours that masking replaces', () => {
  test('glued values: never throws, and a second pass only adds masks (it never undoes or alters one)', () => {
    const token = /\[MASKED:[a-z0-9-]+\]/g;
    fc.assert(
      fc.property(pieces.map((xs) => xs.join('')), (s) => {
        const once = masking.maskText(s);
        if (once.blocked) return;
        const twice = masking.maskText(once.text).text;
        // Removing the masks the second pass added gives back the first pass's text around them.
        const firstTokens = [...once.text.matchAll(token)].map((m) => m[0]);
        const secondTokens = [...twice.matchAll(token)].map((m) => m[0]);
        expect(secondTokens.length).toBeGreaterThanOrEqual(firstTokens.length);
        let rest = twice;
        for (const t of firstTokens) {
          const at = rest.indexOf(t);
          expect(at).toBeGreaterThanOrEqual(0);
          rest = rest.slice(at + t.length);
        }
      }),
      { numRuns: 1500 },
    );
  });
});

describe('bodies and streams of arbitrary bytes', () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify({ content: [{ type: 'text', text: JSON.stringify(v) }], customers: [v] }))),
    text.map((t) => Buffer.from(JSON.stringify({ type: 'message', content: [{ type: 'text', text: t }, { type: 'tool_use', input: { q: t } }] }))),
  );

  test('maskMessageJson and maskServiceJson never throw, and masking their output again changes nothing', () => {
    fc.assert(
      fc.property(bytes, (body) => {
        const m = masking.maskMessageJson(body);
        if (!m.blocked) expect(masking.maskMessageJson(m.body).changed).toBe(false);
        const s = masking.maskServiceJson(body, ['$.customers[*].ssn', '$..secret']);
        if (!s.blocked) expect(masking.maskServiceJson(s.body, ['$.customers[*].ssn', '$..secret']).changed).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });

  test('the SSE masker takes arbitrary bytes in arbitrary chunks without throwing', () => {
    const sseBytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
      fc.array(text, { maxLength: 6 }).map((ts) =>
        Buffer.from(
          ts
            .map((t, i) => `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: i % 2, delta: { type: i % 3 ? 'text_delta' : 'input_json_delta', text: t, partial_json: JSON.stringify(t) } })}\n\n`)
            .join(''),
        ),
      ),
    );
    fc.assert(
      fc.property(sseBytes, fc.array(fc.nat(), { maxLength: 10 }), (buf, cuts) => {
        const m = masking.createSseMasker();
        let prev = 0;
        for (const c of [...new Set(cuts.map((x) => x % (buf.length + 1)))].sort((a, b) => a - b)) {
          if (c <= prev) continue;
          m.push(Buffer.from(buf.subarray(prev, c)));
          prev = c;
        }
        m.push(Buffer.from(buf.subarray(prev)));
        m.end();
      }),
      { numRuns: 1500 },
    );
  });
});
