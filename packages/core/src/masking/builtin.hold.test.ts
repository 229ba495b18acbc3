// api-key's hold() at the end of a streamed piece: a key whose literal (sk-, AKIA, ASIA, ghp_,
// github_pat_, xoxb-, Bearer, …) is cut anywhere by the end of a piece must be held back, or
// its first characters leave before the rest shows it is a key. Every kind, cut at every
// position, streamed, equals the one-shot result.
import { newTally, type Engine } from './engine.ts';
import { buildEngine } from './policy.ts';
import { TextStream } from './text-stream.ts';

const KEYS = [
  'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  'AKIAIOSFODNN7EXAMPLE',
  'ASIAIOSFODNN7EXAMPLE',
  'ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  'gho_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
  'github_pat_11ABCDEFG0123456789_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnopqrstu',
  'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
  'xoxp-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
  'Bearer AbCdEfGhIjKlMnOp0123456789',
  'bearer AbCdEfGhIjKlMnOp0123456789',
  'BEARER AbCdEfGhIjKlMnOp0123456789',
];

let engine: Engine;
beforeEach(() => (engine = buildEngine({ mask: ['api-key'] })));

function streamed(pieces: string[]): string {
  const s = new TextStream(engine, newTally());
  return pieces.map((p) => s.push(p)).join('') + s.finish();
}

test.each(KEYS)('%s cut at every position: streamed = one-shot, and the key is masked', (key) => {
  const text = `the key is ${key} ok`;
  const whole = engine.maskString(text, newTally());
  expect(whole).toBe(
    'the key is ' + (key.toLowerCase().startsWith('bearer') ? `${key.slice(0, 7)}[MASKED:api-key]` : '[MASKED:api-key]') + ' ok',
  );
  for (let i = 'the key is '.length; i <= 'the key is '.length + 12; i++) {
    expect([i, streamed([text.slice(0, i), text.slice(i)])]).toEqual([i, whole]);
  }
});

test('a piece that ends with a whole surrogate pair is emitted whole; a lone high surrogate at the end waits for its partner', () => {
  const s = new TextStream(engine, newTally());
  expect(s.push('hi \u{1F600}')).toBe('hi \u{1F600}');
  expect(s.push(' ok \uD83D')).toBe(' ok ');
  expect(s.push('\uDE00!')).toBe('\u{1F600}!');
  // the same where the text is folded first (fullwidth letters)
  const f = new TextStream(engine, newTally());
  expect(f.push('\uFF48\uFF49 \u{1F600}')).toBe('\uFF48\uFF49 \u{1F600}');
  expect(f.push(' \uFF4F\uFF4B \uD83D')).toBe(' \uFF4F\uFF4B ');
  expect(f.push('\uDE00!')).toBe('\u{1F600}!');
});
