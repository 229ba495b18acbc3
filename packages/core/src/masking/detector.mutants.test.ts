// The shared detector helpers of detector.ts, each against a plain reference that says what it
// must answer (mutation testing, docs/testing.md): runHold (where a growing text is still
// undetermined), startsCompatible, inSet, and the find / hold / leftContext of a regexDetector
// (through the built-in detectors made with it), and the table helpers builtin.ts builds its
// detectors with (asciiSet, classSource, holdScan) on the inputs no built-in table has.
import fc from 'fast-check';
import { phone } from './builtin-contact.ts';
import { ipv4 } from './builtin-ip.ts';
import { jwt } from './builtin-keys.ts';
import { creditCard, ssn } from './builtin-numbers.ts';
import { asciiSet, classSource, holdScan, inSet, regexDetector, runHold, startsCompatible, type HoldScan, type Span } from './detector.ts';

/** A hand-made HoldScan: alphabet "ab", attempts start at "a" not right after "x", optional check. */
function scan(check?: (text: string, q: number) => boolean, cand = /(?<!x)a/g): HoldScan {
  const h: HoldScan = {
    nonAlpha: /[^ab]/g,
    cand,
    isAlpha: (c) => c === 97 || c === 98,
  };
  if (check !== undefined) h.check = check;
  return h;
}

/** What runHold must return: the first candidate q in [from, upTo) that more text can change. */
function holdReference(text: string, from: number, upTo: number, maxLen: number, h: HoldScan): number {
  const cand = new RegExp(h.cand.source, 'y');
  for (let q = from; q < upTo && q < text.length; q++) {
    if (q < text.length - maxLen) continue; // determined: text[q + maxLen] has arrived
    let alpha = true;
    for (let i = q; i < text.length; i++) if (!h.isAlpha(text.charCodeAt(i))) alpha = false;
    if (!alpha) continue; // determined: a character the detector can never consume
    cand.lastIndex = q;
    if (!cand.test(text)) continue;
    if (h.check === undefined || h.check(text, q)) return q;
  }
  return upTo;
}

const abText = (maxLength: number) => fc.array(fc.constantFrom('a', 'b', 'x', '-'), { maxLength }).map((cs) => cs.join(''));

describe('runHold', () => {
  test('equals the reference for any text, window and maxLen (texts up to 80 characters)', () => {
    fc.assert(
      fc.property(
        abText(80),
        fc.nat(90),
        fc.nat(90),
        fc.integer({ min: 1, max: 90 }),
        fc.boolean(),
        fc.boolean(),
        (text, a, b, maxLen, withCheck, twoChars) => {
          const from = Math.min(a, text.length);
          const upTo = from + b;
          // candidates of two characters overlap: after a refused one the next may start one later
          const h = scan(withCheck ? (t, q) => t[q + 1] !== 'a' : undefined, twoChars ? /(?<!x)a[ab]/g : /(?<!x)a/g);
          expect(runHold(text, from, upTo, maxLen, h)).toBe(holdReference(text, from, upTo, maxLen, h));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test.each([
    // [text, from, upTo, maxLen, expected]
    ['', 0, 0, 5, 0], // nothing at all: upTo
    ['aaaa', 0, 10, 10, 0], // all undetermined: the first candidate
    ['aaaa', 2, 10, 10, 2], // not before from
    ['aaaa', 0, 10, 2, 2], // only the last maxLen positions
    ['aaaa', 0, 1, 10, 0],
    ['aaaa', 1, 1, 10, 1], // an empty window: upTo
    ['aa-aa', 0, 10, 10, 3], // after the last non-alphabet character
    ['aa-', 0, 10, 10, 10], // ends in a non-alphabet character: nothing undetermined
    ['bbba', 0, 10, 10, 3], // only candidate starts
    ['bbbb', 0, 7, 10, 7], // no candidate: upTo
    ['xab', 0, 10, 10, 10], // "a" right after "x" is no candidate
    ['aaaa', 0, 3, 10, 0],
    ['baaa', 2, 3, 10, 2],
  ])('%j from %d up to %d, maxLen %d: %d', (text, from, upTo, maxLen, expected) => {
    expect(runHold(text, from, upTo, maxLen, scan())).toBe(expected);
  });

  test('a non-alphabet character more than 32 characters back (the regex search) still ends the window', () => {
    const text = 'a-' + 'b'.repeat(40) + 'ab';
    expect(runHold(text, 0, 100, 100, scan())).toBe(text.length - 2);
    // the character exactly 32 back from the end, and one closer
    const at32 = 'a'.repeat(10) + '-' + 'b'.repeat(31);
    expect(at32.length - 32).toBe(10);
    expect(runHold(at32 + 'a', 0, 100, 100, scan())).toBe(at32.length);
    expect(runHold('a'.repeat(10) + '-' + 'b'.repeat(30) + 'a', 0, 100, 100, scan())).toBe(41);
    // two non-alphabet characters far back: the later one counts
    const two = 'a-a-' + 'b'.repeat(40) + 'a';
    expect(runHold(two, 0, 100, 100, scan())).toBe(two.length - 1);
    // none at all in a long run: the first candidate
    expect(runHold('b'.repeat(50) + 'a' + 'b'.repeat(40), 0, 200, 200, scan())).toBe(50);
    // a non-alphabet character before `from` does not matter; one in [from, end) does
    expect(runHold('-' + 'a'.repeat(50), 1, 100, 100, scan())).toBe(1);
    expect(runHold('a'.repeat(5) + '-' + 'a'.repeat(50), 3, 100, 100, scan())).toBe(6);
  });

  test('a candidate the check refuses is skipped, the next one is returned', () => {
    const h = scan((t, q) => t[q + 1] !== 'a');
    expect(runHold('aab', 0, 10, 10, h)).toBe(1);
    expect(runHold('aaa', 0, 10, 10, h)).toBe(2);
    expect(runHold('aaa', 0, 2, 10, h)).toBe(2);
  });
});

describe('startsCompatible', () => {
  test('equals the reference: text[q..] is a prefix of, or starts with, a literal', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 8 }).map((cs) => cs.join('')),
        fc.nat(8),
        fc.array(
          fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 4 }).map((cs) => cs.join('')),
          {
            maxLength: 3,
          },
        ),
        (text, a, literals) => {
          const q = Math.min(a, text.length);
          const rest = text.slice(q);
          const expected = literals.some((lit) => (rest.length < lit.length ? lit.startsWith(rest) : rest.startsWith(lit)));
          expect(startsCompatible(text, q, literals)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test.each([
    ['eyJhb', 0, true],
    ['xeyJ', 1, true],
    ['xey', 1, true], // cut short: still compatible
    ['x', 1, true], // nothing yet
    ['eyK', 0, false],
    ['eXJ', 0, false],
    ['Jye', 0, false],
    ['aeyJ', 0, false],
  ])('%j at %d against "eyJ": %s', (text, q, expected) => {
    expect(startsCompatible(text, q, ['eyJ'])).toBe(expected);
  });

  test('no literal: never compatible; any literal that fits: compatible', () => {
    expect(startsCompatible('abc', 0, [])).toBe(false);
    expect(startsCompatible('abc', 0, ['x', 'ab'])).toBe(true);
    expect(startsCompatible('abc', 0, ['ab', 'x'])).toBe(true);
    expect(startsCompatible('abc', 0, ['x', 'y'])).toBe(false);
  });
});

describe('inSet', () => {
  test('ASCII members only', () => {
    const set = new Uint8Array(128);
    set[97] = 1;
    set[127] = 1;
    expect(inSet(set, 97)).toBe(true);
    expect(inSet(set, 127)).toBe(true);
    expect(inSet(set, 98)).toBe(false);
    expect(inSet(set, 0)).toBe(false);
    // beyond the table (and NaN, the char code past the end of a text): never a member
    expect(inSet(set, 128 + 97)).toBe(false);
    expect(inSet(set, 128)).toBe(false);
    expect(inSet(set, NaN)).toBe(false);
  });
});

describe('regexDetector: find', () => {
  const find = (d: typeof ipv4, text: string, from: number): [number, number, number] => {
    const out: Span = { start: -1, end: -1 };
    const q = d.find(text, from, out);
    return q < 0 ? [q, -1, -1] : [q, out.start, out.end];
  };

  test('without accept (ip-address/v4): every match from `from` on, span = the whole match', () => {
    const text = 'a 10.0.0.1 b 192.168.1.20';
    expect(find(ipv4, text, 0)).toEqual([2, 2, 10]);
    expect(find(ipv4, text, 2)).toEqual([2, 2, 10]);
    expect(find(ipv4, text, 3)).toEqual([13, 13, 25]);
    expect(find(ipv4, text, 14)).toEqual([-1, -1, -1]);
    // again from the start: the regex's lastIndex of the previous call does not leak
    expect(find(ipv4, text, 0)).toEqual([2, 2, 10]);
    expect(find(ipv4, 'no address', 0)).toEqual([-1, -1, -1]);
  });

  test('with accept: a refused match is skipped and the search goes on one character later', () => {
    // 000-12-3456 is refused (area 000); the SSN after it is found
    const text = '000-12-3456 and 123-45-6789';
    expect(find(ssn, text, 0)).toEqual([16, 16, 27]);
    expect(find(ssn, text, 17)).toEqual([-1, -1, -1]);
    expect(find(ssn, '666-12-3456', 0)).toEqual([-1, -1, -1]);
    // a phone glued to a word is refused; the search resumes right after the refused start
    expect(find(phone, '(229) 512-0694x (229) 512-0694', 0)).toEqual([16, 16, 30]);
    // accept narrows the span: a card followed by another group
    expect(find(creditCard, '4111 1111 1111 1111 123', 0)).toEqual([0, 0, 19]);
  });
});

describe('regexDetector: hold and leftContext', () => {
  test('hold: a growing value is undetermined from its start; a finished one is not', () => {
    expect(ipv4.hold('ip 10.0.0', 0, 100)).toBe(3);
    expect(ipv4.hold('ip 10.0.0.1 ', 0, 100)).toBe(100);
    expect(ipv4.hold('ip 10.0.0', 0, 2)).toBe(2);
    // with a literal prefix (jwt: "eyJ"): "ey" may still become one, "ex" may not
    expect(jwt.hold('a ey', 0, 100)).toBe(2);
    expect(jwt.hold('a ex', 0, 100)).toBe(100);
  });

  test.each([
    // [detector, text, q, expected]: text[q-1] rules the attempt at q out, and q can start one
    [ipv4, 'a1.2.3.4', 1, true],
    [ipv4, '.1.2.3.4', 1, true],
    [ipv4, ' 1.2.3.4', 1, false], // a space never rules an attempt out
    [ipv4, 'aa.2.3.4', 1, false], // "a" cannot start an address
    [ipv4, 'a', 1, false], // cut short: nothing at q
    [jwt, 'aeyJx', 1, true],
    [jwt, 'ae', 1, true], // cut short but compatible with "eyJ"
    [jwt, 'aexJx', 1, false], // incompatible with "eyJ"
    [jwt, ' eyJx', 1, false],
    [phone, '+2125550123', 1, true], // '+' rules a phone out
    [phone, '(2125550123', 1, false],
  ])('%#: %j at %d: %s', (d, text, q, expected) => {
    expect(d.leftContext!(text, q)).toBe(expected);
  });
});

describe('the table helpers', () => {
  const members = (t: Uint8Array) => String.fromCharCode(...[...t.keys()].filter((c) => t[c] === 1));

  test.each([
    ['a', 'a'],
    ['abc', 'abc'],
    ['a-c', 'abc'],
    ['a-cx-z', 'abcxyz'],
    ['0-9.', '.0123456789'],
    ['\\-', '-'], // an escaped character is literal
    ['a\\-c', '-ac'], // not a range
    ['!-\\-', '!"#$%&\'()*+,-'], // a range whose end is escaped
    ['a-\\z', 'abcdefghijklmnopqrstuvwxyz'],
    ['-a', '-a'],
    ['a-', '-a'], // a dash at the end is literal
    ['\\\\', '\\'],
    ['', ''],
  ])('asciiSet(%j) holds %j', (spec, expected) => {
    const t = asciiSet(spec);
    expect(t.length).toBe(128);
    expect(members(t)).toBe(expected);
  });

  test('classSource: the characters as \\x escapes, or all others; an empty table matches nothing (or anything)', () => {
    expect(classSource(asciiSet('a-c'), false)).toBe('[\\x61\\x62\\x63]');
    expect(classSource(asciiSet('\n0'), true)).toBe('[^\\x0a\\x30]');
    expect(classSource(asciiSet(''), false)).toBe('[^\\s\\S]');
    expect(classSource(asciiSet(''), true)).toBe('[\\s\\S]');
    const all = new Uint8Array(128).fill(1);
    expect(new RegExp(classSource(all, false)).test('\x7f')).toBe(true);
    expect(new RegExp(classSource(all, false)).test('\x00')).toBe(true);
    expect(new RegExp(classSource(all, true)).test('\x80')).toBe(true);
  });

  test('holdScan: the lookbehind only when some character rules an attempt out', () => {
    const alpha = asciiSet('a-c');
    const start = asciiSet('a');
    for (const notAfter of [undefined, asciiSet('')]) {
      const h = holdScan(alpha, start, notAfter);
      expect(h.cand.source).toBe('[\\x61]');
      expect(h.check).toBeUndefined();
    }
    const h = holdScan(alpha, start, asciiSet('x'), () => true);
    expect(h.cand.source).toBe('(?<![\\x78])[\\x61]');
    expect(h.cand.flags).toBe('g');
    expect(h.nonAlpha.source).toBe('[^\\x61\\x62\\x63]');
    expect(h.nonAlpha.flags).toBe('g');
    expect(h.check!('', 0)).toBe(true);
    expect([97, 98, 99, 100, 96, 128 + 97].map(h.isAlpha)).toEqual([true, true, true, false, false, false]);
  });

  test('regexDetector refuses a regex that is not global (find() relies on lastIndex)', () => {
    expect(() => regexDetector({ id: 'x', category: 'x', re: /x/, maxLen: 1, alpha: 'x', start: 'x', notAfter: '' })).toThrow(
      new Error('detector x: regex must be global'),
    );
  });
});
