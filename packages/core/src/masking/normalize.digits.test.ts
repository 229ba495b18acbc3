// Decimal digits of every script fold to ASCII digits before the detectors run; the characters
// as written are replaced. NFKC folds fullwidth and mathematical digits but leaves Arabic-Indic
// '٤١١١', Devanagari '४१११', Thai, Mongolian, Adlam, … as they are: a card written in them passed
// every detector, in one piece and streamed (docs/SECURITY.md, class 8).
import { compileMasking, BUILTIN_CATEGORIES } from './index.ts';
import { newTally } from './engine.ts';
import { buildEngine } from './policy.ts';
import { TextStream } from './text-stream.ts';
import { fold } from './normalize.ts';

/** `s` with its ASCII digits written in the script whose zero is `zero`. */
const inScript = (s: string, zero: number) => s.replace(/[0-9]/g, (d) => String.fromCodePoint(zero + Number(d)));

const SCRIPTS: [string, number][] = [
  ['Arabic-Indic', 0x0660],
  ['Extended Arabic-Indic (Persian, Urdu)', 0x06f0],
  ['Devanagari', 0x0966],
  ['Bengali', 0x09e6],
  ['Thai', 0x0e50],
  ['Mongolian', 0x1810],
  ['Adlam (outside the BMP)', 0x1e950],
];

const VALUES: [string, string, string][] = [
  ['a card', 'card 4111 1111 1111 1111 ok', 'card [MASKED:credit-card] ok'],
  ['an SSN', 'ssn 078-05-1120 ok', 'ssn [MASKED:ssn] ok'],
  ['a phone number', 'call +1 415-555-2671 ok', 'call [MASKED:phone] ok'],
  ['an IP address', 'host 192.168.10.20 ok', 'host [MASKED:ip-address] ok'],
  ['an IBAN', 'iban DE89 3704 0044 0532 0130 00 ok', 'iban [MASKED:iban] ok'],
];

const m = compileMasking({ mask: [...BUILTIN_CATEGORIES] });

describe.each(SCRIPTS)('digits of %s', (_script, zero) => {
  test.each(VALUES)('%s is masked, the digits as written replaced', (_what, ascii, want) => {
    const r = m.maskText(inScript(ascii, zero));
    expect(r.text).toBe(want);
    expect(r.changed).toBe(true);
  });

  test('streamed, cut anywhere (inside a surrogate pair too), each value comes out as in one piece', () => {
    const engine = buildEngine({ mask: [...BUILTIN_CATEGORIES] });
    for (const [, ascii, want] of VALUES.slice(0, 3)) {
      const text = inScript(ascii, zero);
      for (let i = 1; i < text.length; i++)
        for (let j = i; j < text.length; j++) {
          const s = new TextStream(engine, newTally());
          const out = s.push(text.slice(0, i)) + s.push(text.slice(i, j)) + s.push(text.slice(j)) + s.finish();
          expect([i, j, out]).toEqual([i, j, want]);
        }
    }
  });

  test('a number that is nothing to mask is left as written', () => {
    const s = inScript('page 12 of 2026, 3 items', zero);
    expect(m.maskText(s)).toMatchObject({ text: s, changed: false });
  });
});

test('fold writes each digit as its ASCII digit, pointing at the code point it came from', () => {
  const f = fold('a\u0664\u0661\u{1E951}\u0e59b')!;
  expect(f.text).toBe('a4119b');
  expect([...f.from]).toEqual([0, 1, 2, 3, 5, 6]);
  expect([...f.to]).toEqual([1, 2, 3, 5, 6, 7]);
});

test('every decimal digit Unicode has folds to one ASCII digit, each run of ten to 0 through 9 in order', () => {
  const digit = /^\p{Nd}$/u;
  const runs: number[][] = [];
  for (let cp = 0x80; cp < 0x110000; cp++) {
    if (!digit.test(String.fromCodePoint(cp))) continue;
    const last = runs.at(-1);
    if (last && last.at(-1) === cp - 1 && last.length < 10) last.push(cp);
    else runs.push([cp]);
  }
  expect(runs.length).toBeGreaterThan(60);
  for (const run of runs) {
    expect(run).toHaveLength(10);
    const folded = run.map((cp) => fold(String.fromCodePoint(cp))?.text ?? String.fromCodePoint(cp));
    expect([run[0]!.toString(16), folded.join('')]).toEqual([run[0]!.toString(16), '0123456789']);
  }
});
