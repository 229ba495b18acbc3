// A percent-encoded printable character folds to that character before the detectors run, and
// the characters as written ("%40") are replaced: an address, phone number, card or key in a URL
// (?email=jane.doe%40example.com) passed every detector, in one piece and streamed.
import { compileMasking, BUILTIN_CATEGORIES } from './index.ts';
import { newTally } from './engine.ts';
import { buildEngine } from './policy.ts';
import { TextStream } from './text-stream.ts';
import { fold, settledLength } from './normalize.ts';

const ALL = { mask: [...BUILTIN_CATEGORIES] };
const m = compileMasking(ALL);

const VALUES: [string, string, string][] = [
  ['an address in a query', 'see https://crm.example/?q=jane.doe%40example.com&x=1', 'see https://crm.example/?q=[MASKED:email]&x=1'],
  ['an address, lowercase hex', 'to=jane.doe%40example%2ecom', 'to=[MASKED:email]'],
  ['an address, every letter encoded', 'to=%6A%61%6E%65%40%65%78%61%6D%70%6C%65%2E%63%6F%6D.', 'to=[MASKED:email].'],
  ['a phone number', 'tel=%2B1%20415-555-2671&', 'tel=[MASKED:phone]&'],
  ['a card', 'card=4111%201111%201111%201111;', 'card=[MASKED:credit-card];'],
  ['an SSN', 'ssn=078%2D05%2D1120 ok', 'ssn=[MASKED:ssn] ok'],
  ['an IP address', 'host=192%2E168%2E10%2E20 ok', 'host=[MASKED:ip-address] ok'],
  ['an IBAN', 'iban=DE89%203704%200044%200532%200130%2000 ok', 'iban=[MASKED:iban] ok'],
  ['a key after "Bearer%20"', 'h=Bearer%20abcdef0123456789xyz', 'h=Bearer%20[MASKED:api-key]'],
];

test.each(VALUES)('%s is masked, the encoded characters replaced', (_what, text, want) => {
  const r = m.maskText(text);
  expect(r.text).toBe(want);
  expect(r.changed).toBe(true);
});

test.each(VALUES)('%s, streamed and cut at every pair of positions, comes out as in one piece', (_what, text, want) => {
  const engine = buildEngine(ALL);
  for (let i = 0; i <= text.length; i++)
    for (let j = i; j <= text.length; j++) {
      const s = new TextStream(engine, newTally());
      const out = s.push(text.slice(0, i)) + s.push(text.slice(i, j)) + s.push(text.slice(j)) + s.finish();
      expect([i, j, out]).toEqual([i, j, want]);
    }
});

test.each([
  ['a percent sign', '50% off, 100%'],
  ['a sequence that is no printable character', 'a%0A%09%7F%80%C3%A9b'],
  ['a sequence cut by the end', 'done %4'],
  ['a percent sign before a digit that is not hex', 'rate %2G'],
  ['twice encoded: one fold decodes once', 'q=jane.doe%2540example.com'],
])('%s passes as written', (_what, text) => {
  expect(m.maskText(text).text).toBe(text);
  const s = new TextStream(buildEngine(ALL), newTally());
  expect(s.push(text) + s.finish()).toBe(text);
});

test('fold: each decoded character points at its three characters, the others at themselves', () => {
  const f = fold('a%40b%2Bc%7Fd')!;
  expect(f.text).toBe('a@b+c%7Fd');
  expect([...f.from]).toEqual([0, 1, 4, 5, 8, 9, 10, 11, 12]);
  expect([...f.to]).toEqual([1, 4, 5, 8, 9, 10, 11, 12, 13]);
  expect(fold('plain ascii, 50% off')).toBeUndefined();
});

test.each([
  ['', 0],
  ['abc', 3],
  ['abc%', 3],
  ['abc%2', 3],
  ['abc%7', 3],
  ['abc%1', 5],
  ['abc%8', 5],
  ['abc%40', 6],
  ['abc%4x', 6],
  ['ab%%', 3],
  ['a\ud835', 1],
  ['a\ud835\udfcf', 3],
])('settledLength(%j) is %d', (text, want) => {
  expect(settledLength(text)).toBe(want);
});
