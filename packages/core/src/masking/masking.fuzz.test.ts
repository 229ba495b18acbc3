// Property tests of masking on hostile input: it never throws, and it is idempotent — masking
// the masked output changes nothing (no detector matches a mask, nor what masking left
// around it). Bodies and streams of arbitrary bytes never make it throw either.
//
// Detectors judge a candidate by its neighbours, and masking replaces neighbours; so right
// after a masked value the engine gives every detector the boundary the mask would be, and the
// phone rule does not look at numbers that follow. Glued values are therefore held to the same
// strict property as separated ones (docs/SECURITY.md, "Masking").
import fc from 'fast-check';
import { compileMasking, BUILTIN_CATEGORIES, type Masking, type MaskingPolicy } from './index.ts';
import { buildCorpus } from './fixtures.ts';

const POLICY: MaskingPolicy = {
  mask: BUILTIN_CATEGORIES.filter((c) => c !== 'private-key'),
  block: ['private-key'],
  custom: [
    { name: 'ticket-id', pattern: 'TCK-[0-9]{6}' },
    { name: 'acme-id', pattern: '\\b(?:ACME|acme)-[A-Z0-9]{4,12}\\b' },
  ],
};
// Built before each test, not while the file loads: a custom pattern compiled at load time makes
// every mutant of the pattern compiler "hybrid" under StrykerJS (run against every masking test).
let masking: Masking;
beforeEach(() => {
  masking = compileMasking(POLICY);
});

const corpus = buildCorpus(4242, 30);
const SAMPLES = corpus.flatMap((f) => [...f.positives.map((p) => p.text), ...f.negatives.map((n) => n.text)]);
const LITERALS = [
  '[MASKED:',
  ']',
  '[MASKED:email]',
  '[MASKED:credit-card]',
  'MASKED',
  'sk-ant-',
  'Bearer ',
  'eyJ',
  '.',
  '@',
  '@example.com',
  '+44 ',
  '-',
  ' ',
  '\n',
  'é',
  '🌍',
  'TCK-',
  'ACME-',
  '4111',
  'DE89',
  '192.168.',
  '::',
  '-----BEGIN ',
  '-----END ',
];
const CHARS = 'aZ09 .-@:+()_/=[]\n\té🌍';
const pieces = fc.array(
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
const text = fc
  .tuple(pieces, fc.array(fc.constantFrom(' and ', '\nthen ', ' or ', ', see ', '; also '), { minLength: 16, maxLength: 16 }))
  .map(([xs, seps]) => xs.map((x, i) => x + seps[i]).join(''));

describe('maskText', () => {
  test('is idempotent and never throws (adversarial mixes of detector samples)', () => {
    const seen = { masked: 0, clear: 0 };
    fc.assert(
      fc.property(text, (s) => {
        const once = masking.maskText(s);
        if (once.blocked) return; // a block category ends delivery; nothing is re-masked
        seen[once.changed ? 'masked' : 'clear']++;
        const twice = masking.maskText(once.text);
        expect(twice.text).toBe(once.text);
        expect(twice.changed).toBe(false);
      }),
      { numRuns: 3000 },
    );
    // the property met both cases (masking switched off would leave masked at 0)
    expect(seen.masked).toBeGreaterThan(1000);
    expect(seen.clear).toBeGreaterThan(100);
  });

  test('is idempotent and never throws (arbitrary unicode strings around a sample)', () => {
    const seen = { masked: 0, clear: 0 };
    const unicode = fc.string({ unit: 'binary', maxLength: 100 });
    fc.assert(
      fc.property(unicode, fc.option(fc.constantFrom(...SAMPLES)), unicode, (a, sample, b) => {
        const once = masking.maskText(a + (sample ?? '') + b);
        if (once.blocked) return;
        seen[once.changed ? 'masked' : 'clear']++;
        expect(masking.maskText(once.text).text).toBe(once.text);
      }),
      { numRuns: 2000 },
    );
    expect(seen.masked).toBeGreaterThan(400);
    expect(seen.clear).toBeGreaterThan(400);
  });
});

describe('neighbours that masking replaces', () => {
  test('a value glued to the end of a masked value is masked in the first pass', () => {
    expect(masking.maskText('card 4111 1111 1111 1111jane.doe@example.com').text).toBe('card [MASKED:credit-card][MASKED:email]');
  });

  test('a phone number followed by another number is masked in the first pass', () => {
    expect(masking.maskText('call (229) 512-0694 64.91.117.64').text).toBe('call [MASKED:phone] [MASKED:ip-address]');
  });

  test.each([
    ['grouped card, then an e-mail', '5500 0000 0000 0004jane.doe@example.com', '[MASKED:credit-card][MASKED:email]'],
    ['card, then an AWS key id', '4111 1111 1111 1111AKIAIOSFODNN7EXAMPLE', '[MASKED:credit-card][MASKED:api-key]'],
    ['card, then a phone', '4111111111111111(415) 555-2671', '[MASKED:credit-card][MASKED:phone]'],
    ['SSN, then a JWT', '123-45-6789eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', '[MASKED:ssn][MASKED:jwt]'],
    ['IBAN, then a card', 'DE89370400440532013000 4111111111111111', '[MASKED:iban] [MASKED:credit-card]'],
    ['e-mail, then an Anthropic key', 'jane@example.com sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345', '[MASKED:email] [MASKED:api-key]'],
    ['ticket id, then a custom acme id', 'TCK-123456ACME-AB12CD', '[MASKED:ticket-id][MASKED:acme-id]'],
    // a value glued to the end of an e-mail address: the address is masked too
    ['e-mail, then a grouped card', 'jane@example.com3057 950286 9339', '[MASKED:email][MASKED:credit-card]'],
    ['e-mail, then a card', 'jane@example.com4111111111111111', '[MASKED:email][MASKED:credit-card]'],
    ['e-mail, then an SSN', 'jane@example.com123-45-6789', '[MASKED:email][MASKED:ssn]'],
    ['e-mail, then an IP address', 'jane@example.com10.1.2.3', '[MASKED:email][MASKED:ip-address]'],
    ['e-mail, a dash, then a card', 'jane@example.com-4111111111111111', '[MASKED:email]-[MASKED:credit-card]'],
  ])('glued values are masked in one pass: %s', (_name, input, expected) => {
    const once = masking.maskText(input).text;
    expect(once).toBe(expected);
    expect(masking.maskText(once).text).toBe(once);
  });

  // Digits glued to digits ("10.1.2.34111111111111111") read as one longer number: neither value
  // is masked, in either pass (docs/SECURITY.md).
  test('glued values in general: never throws, and a second pass only adds masks (it never undoes or alters one)', () => {
    const token = /\[MASKED:[a-z0-9-]+\]/g;
    let masked = 0;
    fc.assert(
      fc.property(
        pieces.map((xs) => xs.join('')),
        (s) => {
          const once = masking.maskText(s);
          if (once.blocked) return;
          if (once.changed) masked++;
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
        },
      ),
      { numRuns: 1500 },
    );
    expect(masked).toBeGreaterThan(300);
  });
});

describe('bodies and streams of arbitrary bytes', () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
    fc
      .jsonValue({ maxDepth: 4 })
      .map((v) => Buffer.from(JSON.stringify({ content: [{ type: 'text', text: JSON.stringify(v) }], customers: [v] }))),
    text.map((t) =>
      Buffer.from(
        JSON.stringify({
          type: 'message',
          content: [
            { type: 'text', text: t },
            { type: 'tool_use', input: { q: t } },
          ],
        }),
      ),
    ),
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
      fc
        .array(text, { maxLength: 6 })
        .map((ts) =>
          Buffer.from(
            ts
              .map(
                (t, i) =>
                  `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: i % 2, delta: { type: i % 3 ? 'text_delta' : 'input_json_delta', text: t, partial_json: JSON.stringify(t) } })}\n\n`,
              )
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
