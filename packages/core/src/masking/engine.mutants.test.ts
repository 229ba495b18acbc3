// engine.ts at every edge a mutant of it showed untested (mutation testing, docs/testing.md):
// the whole message of each policy error, which detectors a policy enables and in what order,
// and the scan itself on hand-made detectors whose every answer is known. Engines are built
// inside the tests (an engine built while the file loads would make every engine mutant
// "hybrid" and run all masking test files).
import { Engine, newTally, scanMode } from './engine.ts';
import { buildEngine, type MaskingPolicy } from './policy.ts';
import { TextStream } from './text-stream.ts';
import { BUILTIN_CATEGORIES } from './builtin.ts';
import { MaskingConfigError } from './errors.ts';
import type { Detector } from './detector.ts';

const KNOWN = 'private-key, jwt, api-key, credit-card, iban, ssn, phone, ip-address, email';

function errorOf(policy: unknown): MaskingConfigError {
  try {
    buildEngine(policy as MaskingPolicy);
  } catch (e) {
    if (e instanceof MaskingConfigError) return e;
    throw e;
  }
  throw new Error('expected a MaskingConfigError');
}

describe('buildEngine: each policy error, whole', () => {
  test.each([
    [
      { custom: [{ name: 'Ticket', pattern: 'x' }] },
      'data.custom[0].name: "Ticket" is not a valid name: use lower-case letters, digits and \'-\', at most 63 characters (it appears as [MASKED:<name>])',
    ],
    [
      { custom: [null] },
      'data.custom[0].name: "undefined" is not a valid name: use lower-case letters, digits and \'-\', at most 63 characters (it appears as [MASKED:<name>])',
    ],
    [
      {
        custom: [
          { name: 'ok', pattern: 'x' },
          { name: 7, pattern: 'x' },
        ],
      },
      'data.custom[1].name: "7" is not a valid name: use lower-case letters, digits and \'-\', at most 63 characters (it appears as [MASKED:<name>])',
    ],
    [
      { custom: [{ name: 'phone', pattern: 'x' }] },
      'data.custom[0].name: "phone" is a built-in category; list it under data.mask or data.block instead, or pick another name for the custom pattern',
    ],
    [
      {
        custom: [
          { name: 'a', pattern: 'x' },
          { name: 'b', pattern: 'y' },
          { name: 'a', pattern: 'z' },
        ],
      },
      'data.custom[2].name: "a" is already used by data.custom[0]; names must be unique',
    ],
    [{ custom: [{ name: 'a', pattern: 'x', action: 'drop' }] }, 'data.custom[0].action: "drop" is not an action: use mask or block'],
    [{ custom: [{ name: 'a', pattern: 'x', action: null }] }, 'data.custom[0].action: "null" is not an action: use mask or block'],
    [{ mask: ['email', 'emial'] }, `data.mask[1]: unknown category "emial" (did you mean "email"?); known: ${KNOWN}`],
    [{ block: ['secrets'] }, `data.block[0]: unknown category "secrets"; known: ${KNOWN}`],
    // the hint is case-insensitive; the category itself is not
    [{ mask: ['EMAIL'] }, `data.mask[0]: unknown category "EMAIL" (did you mean "email"?); known: ${KNOWN}`],
    // custom names are known too, after the built-in ones
    [
      { mask: ['ticket-ix'], custom: [{ name: 'ticket-id', pattern: 'T' }] },
      `data.mask[0]: unknown category "ticket-ix" (did you mean "ticket-id"?); known: ${KNOWN}, ticket-id`,
    ],
  ])('%j', (policy, message) => {
    const e = errorOf(policy);
    expect(e.message).toBe(message);
    expect(e.field).toBe(message.slice(0, message.indexOf(':')));
  });

  test('the hint: the closest category within two edits, the first of equally close ones', () => {
    const hint = (cat: string) => /did you mean "([^"]+)"/.exec(errorOf({ mask: [cat] }).message)?.[1];
    expect(hint('emai')).toBe('email'); // one deletion
    expect(hint('emaill')).toBe('email'); // one insertion
    expect(hint('emall')).toBe('email'); // one substitution
    expect(hint('mail')).toBe('email');
    expect(hint('ema')).toBe('email'); // two edits
    expect(hint('em')).toBeUndefined(); // three edits: no hint
    expect(hint('ibanxyz')).toBeUndefined();
    expect(hint('ssx')).toBe('ssn');
    expect(hint('jwx')).toBe('jwt');
    expect(hint('xban')).toBe('iban');
    expect(hint('phones')).toBe('phone');
    expect(hint('api-keys')).toBe('api-key');
    expect(hint('private')).toBeUndefined();
    expect(hint('ip-adress')).toBe('ip-address');
    expect(hint('sn')).toBe('ssn');
    expect(hint('')).toBeUndefined(); // three edits from "jwt" and "ssn"
    expect(hint('swt')).toBe('jwt'); // one edit from "jwt", two from "ssn"
    expect(hint('swn')).toBe('ssn'); // two from "jwt", one from "ssn"
    // equally close (two edits from "jwt" and from "ssn"): the first known one wins
    expect(hint('sw')).toBe('jwt');
  });

  test.each(['a', '0', 'a-b', 'a1', 'x'.repeat(63), 'a'.repeat(62) + '9'])('the name %j is accepted', (name) => {
    expect(buildEngine({ custom: [{ name, pattern: 'Q' }] }).categories).toEqual([name]);
  });

  test.each(['-a', 'a-', 'A', 'a_b', 'a.b', 'x'.repeat(64), '', ' a', 'a '])('the name %j is refused', (name) => {
    expect(errorOf({ custom: [{ name, pattern: 'Q' }] }).field).toBe('data.custom[0].name');
  });
});

describe('buildEngine: what a policy enables', () => {
  test('no policy, an empty one: no detector', () => {
    expect(buildEngine(undefined).detectors).toEqual([]);
    expect(buildEngine({}).detectors).toEqual([]);
    expect(buildEngine({ mask: [], block: [], custom: [] }).categories).toEqual([]);
  });

  test('built-in categories in priority order (not policy order), then the custom ones in their order', () => {
    const e = buildEngine({
      mask: ['email', 'ip-address', 'iban'],
      block: ['jwt'],
      custom: [
        { name: 'zeta', pattern: 'ZZ' },
        { name: 'alpha', pattern: 'AA', action: 'block' },
        { name: 'mid', pattern: 'MM', action: 'mask' },
      ],
    });
    expect(e.detectors.map((d) => d.id)).toEqual([
      'jwt',
      'iban',
      'ip-address/v4',
      'ip-address/v6',
      'email',
      'custom/zeta',
      'custom/alpha',
      'custom/mid',
    ]);
    expect(e.categories).toEqual(['jwt', 'iban', 'ip-address', 'email', 'zeta', 'alpha', 'mid']);
    expect(e.blockCategories).toEqual(['jwt', 'alpha']);
    const t = newTally();
    expect(e.maskString('ZZ MM 10.0.0.1 AA', t)).toBe('[MASKED:zeta] [MASKED:mid] [MASKED:ip-address] [MASKED:alpha]');
    expect(t).toEqual({ counts: { zeta: 1, mid: 1, 'ip-address': 1, alpha: 1 }, blocked: 'alpha', matches: 4 });
  });

  test('a category listed under both mask and block blocks; a custom name may be listed under mask', () => {
    const e = buildEngine({ mask: ['email', 'tk'], block: ['email'], custom: [{ name: 'tk', pattern: 'TK[0-9]{2}' }] });
    expect(e.categories).toEqual(['email', 'tk']);
    expect(e.blockCategories).toEqual(['email']);
  });

  test('every built-in category alone enables exactly its detectors', () => {
    for (const cat of BUILTIN_CATEGORIES) {
      const e = buildEngine({ mask: [cat] });
      expect(e.categories).toEqual([cat]);
      expect(e.blockCategories).toEqual([]);
      expect(buildEngine({ block: [cat] }).blockCategories).toEqual([cat]);
    }
  });
});

describe('maskString', () => {
  test('empty text and an engine without detectors return the input', () => {
    const t = newTally();
    expect(buildEngine({ mask: ['email'] }).maskString('', t)).toBe('');
    expect(buildEngine({}).maskString('a@b.co', t)).toBe('a@b.co');
    expect(t).toEqual(newTally());
  });

  test('the tally adds up over calls; the first block category stays', () => {
    const e = buildEngine({ mask: ['email'], block: ['ip-address', 'ssn'] });
    const t = newTally();
    expect(e.maskString('a@b.co', t)).toBe('[MASKED:email]');
    expect(t).toEqual({ counts: { email: 1 }, blocked: undefined, matches: 1 });
    expect(e.maskString('123-45-6789 10.0.0.1 c@d.io', t)).toBe('[MASKED:ssn] [MASKED:ip-address] [MASKED:email]');
    expect(t).toEqual({ counts: { email: 2, ssn: 1, 'ip-address': 1 }, blocked: 'ssn', matches: 4 });
    expect(e.maskString('10.0.0.2', t)).toBe('[MASKED:ip-address]');
    expect(t.blocked).toBe('ssn');
  });

  test('folded text: the original characters around a match are kept, the match is replaced whole', () => {
    const e = buildEngine({ mask: ['email', 'credit-card'] });
    const t = newTally();
    // fullwidth '＠' folds to '@'; the zero-width space inside the card is dropped
    expect(e.maskString('é a＠b.co é', t)).toBe('é [MASKED:email] é');
    expect(e.maskString('x 4111\u200b1111\u200b1111\u200b1111 y', t)).toBe('x [MASKED:credit-card] y');
    expect(e.maskString('ｎｏ ｍａｔｃｈ', t)).toBe('ｎｏ ｍａｔｃｈ');
    expect(t.matches).toBe(2);
  });
});

// ------------------------------------------------------------------ the scan, on hand-made detectors

const LETTER = /[a-z]/;

/**
 * A detector of the literal `word`. With `boundary`, an attempt right after a letter fails (as
 * a built-in detector refuses a value glued to a word): it then has a leftContext.
 */
function literal(category: string, word: string, boundary = false): Detector {
  const leftOk = (text: string, q: number) => !boundary || q === 0 || !LETTER.test(text[q - 1]!);
  const d: Detector = {
    id: `lit/${word}`,
    category,
    maxLen: word.length,
    find(text, from, out) {
      for (let q = text.indexOf(word, from); q >= 0; q = text.indexOf(word, q + 1)) {
        if (!leftOk(text, q)) continue;
        out.start = q;
        out.end = q + word.length;
        return q;
      }
      return -1;
    },
    hold(text, from, upTo) {
      // undetermined: the text ends inside a possible match
      for (let q = Math.max(from, text.length - word.length + 1); q < upTo && q < text.length; q++) {
        if (word.startsWith(text.slice(q)) && leftOk(text, q)) return q;
      }
      return upTo;
    },
  };
  if (boundary) {
    return {
      ...d,
      leftContext: (text, q) => LETTER.test(text[q - 1] ?? '') && word.startsWith(text.slice(q, q + word.length)),
    };
  }
  return d;
}

const mask = (e: Engine, s: string) => {
  const t = newTally();
  return [e.maskString(s, t), t] as const;
};

describe('scan: which match wins', () => {
  test('the leftmost; on the same start the longest; on the same span the first detector', () => {
    const e = new Engine([literal('b', 'ab'), literal('a', 'abc'), literal('c', 'bcd'), literal('d', 'ab')], new Set());
    expect(mask(e, 'xabcd')[0]).toBe('x[MASKED:a]d');
    expect(mask(e, 'xabx')[0]).toBe('x[MASKED:b]x');
    expect(mask(e, 'xbcdx')[0]).toBe('x[MASKED:c]x');
    // the longer one listed first, the shorter after it: still the longer
    const f = new Engine([literal('a', 'abc'), literal('b', 'ab')], new Set());
    expect(mask(f, 'abc ab')[0]).toBe('[MASKED:a] [MASKED:b]');
  });

  test("a match that starts before another detector's earlier-found one wins, and the later one is found again after it", () => {
    const e = new Engine([literal('x', 'xy'), literal('z', 'yz')], new Set());
    // "yz" at 1 is found first in the text; "xy" at 0 starts earlier
    expect(mask(e, 'xyz yz xy')[0]).toBe('[MASKED:x]z [MASKED:z] [MASKED:x]');
    expect(mask(e, 'yzxyz')[0]).toBe('[MASKED:z][MASKED:x]z');
  });

  test('every match of one detector, none overlapping', () => {
    const e = new Engine([literal('a', 'aa')], new Set());
    expect(mask(e, 'aaaaa')[0]).toBe('[MASKED:a][MASKED:a]a');
    expect(mask(e, 'aa aa')[0]).toBe('[MASKED:a] [MASKED:a]');
  });

  test('the tally: counts, matches, the first block category, and the spans when asked for', () => {
    const e = new Engine([literal('p', 'pp'), literal('q', 'qq'), literal('r', 'rr')], new Set(['q', 'r']));
    expect(e.blockCategories).toEqual(['q', 'r']);
    const t = newTally();
    t.spans = [];
    expect(e.scan('pp rr qq pp', 0, 11, t)).toBe('[MASKED:p] [MASKED:r] [MASKED:q] [MASKED:p]');
    expect(t).toEqual({ counts: { p: 2, r: 1, q: 1 }, blocked: 'r', matches: 4, spans: [0, 2, 0, 3, 5, 2, 6, 8, 1, 9, 11, 0] });
  });
});

describe('scan: a value glued to the end of a masked one', () => {
  const e = () => new Engine([literal('w', 'ab', true), literal('n', '12')], new Set());

  test('is tried as if a boundary were there, once, at the end of the mask', () => {
    expect(mask(e(), 'abab')[0]).toBe('[MASKED:w][MASKED:w]');
    expect(mask(e(), '12ab')[0]).toBe('[MASKED:n][MASKED:w]');
    expect(mask(e(), '12abab')[0]).toBe('[MASKED:n][MASKED:w][MASKED:w]');
    // not elsewhere: "ab" right after a letter that was not masked stays
    expect(mask(e(), 'xab 12')[0]).toBe('xab [MASKED:n]');
    expect(mask(e(), '12xab')[0]).toBe('[MASKED:n]xab');
    // masking the output again changes nothing
    const once = mask(e(), 'ab12abab xab')[0];
    expect(once).toBe('[MASKED:w][MASKED:n][MASKED:w][MASKED:w] xab');
    expect(mask(e(), once)[0]).toBe(once);
  });

  test('the text after a glued value is kept where it was', () => {
    expect(mask(e(), 'abab and more text')[0]).toBe('[MASKED:w][MASKED:w] and more text');
    expect(mask(e(), 'x 12ab and more text')[0]).toBe('x [MASKED:n][MASKED:w] and more text');
    const t = newTally();
    t.spans = [];
    e().scan('x 12ab and more', 0, 15, t);
    expect(t.spans).toEqual([2, 4, 1, 4, 6, 0]);
  });

  test('the engine asks a detector about the character before q only for q > 0', () => {
    const strict: Detector = {
      ...literal('w', 'ab', true),
      leftContext: (text, q) => {
        if (q <= 0) throw new Error('leftContext at q = 0');
        return /[a-z]/.test(text[q - 1]!) && 'ab'.startsWith(text.slice(q, q + 2));
      },
    };
    const e = new Engine([strict, literal('n', '12')], new Set());
    expect(e.holdLimit('ab', 0, true)).toBe(2);
    expect(e.holdLimit('a', 0, true)).toBe(0);
    // a scan that starts glued at 0: no glued attempt there
    expect(e.scan('zab', 0, 3, newTally(), scanMode(true, true))).toBe('zab');
    expect(e.holdLimit('zab', 0, true)).toBe(3);
    expect(e.scan('abab', 0, 4, newTally(), scanMode(true, false))).toBe('[MASKED:w][MASKED:w]');
    const s = new TextStream(e, newTally());
    expect(s.push('12a')).toBe('[MASKED:n]');
    expect(s.push('b!')).toBe('[MASKED:w]!');
  });

  test('a glued attempt that fails leaves the text as it is', () => {
    expect(mask(e(), '12ac')[0]).toBe('[MASKED:n]ac');
    expect(mask(e(), '12a')[0]).toBe('[MASKED:n]a');
    expect(mask(e(), '12')[0]).toBe('[MASKED:n]');
  });

  test('a scan that starts glued (a stream whose last piece ended with a mask)', () => {
    const t = newTally();
    expect(e().scan('zzab', 2, 4, t, scanMode(true, true))).toBe('[MASKED:w]');
    expect(e().scan('zzab', 2, 4, t, scanMode(false, true))).toBe('ab');
    expect(t.matches).toBe(1);
  });
});

describe('scan: the limit', () => {
  test('emits up to the limit; a match that starts before it is emitted whole', () => {
    const e = new Engine([literal('a', 'abc')], new Set());
    const t = newTally();
    expect(e.scan('xx abc yy', 0, 2, t)).toBe('xx');
    expect(e.cursor).toBe(2);
    expect(e.scan('xx abc yy', 0, 4, t)).toBe('xx [MASKED:a]');
    expect(e.cursor).toBe(6);
    expect(e.glued).toBe(true);
    expect(e.scan('xx abc yy', 0, 7, t)).toBe('xx [MASKED:a] ');
    expect(e.cursor).toBe(7);
    expect(e.glued).toBe(false);
    expect(e.scan('xx abc yy', 3, 9, t)).toBe('[MASKED:a] yy');
    expect(e.cursor).toBe(9);
  });

  test('an attempt found before the limit whose span starts after it stops the plain text there', () => {
    // "K:" opens an attempt whose masked value starts after the prefix
    const prefixed: Detector = {
      id: 'pre',
      category: 'k',
      maxLen: 6,
      find(text, from, out) {
        const q = text.indexOf('K:', from);
        if (q < 0) return -1;
        out.start = q + 2;
        out.end = q + 6;
        return q;
      },
      hold: (_text, _from, upTo) => upTo,
    };
    const e = new Engine([prefixed], new Set());
    const t = newTally();
    expect(e.scan('ab K:1234 c', 0, 4, t)).toBe('ab ');
    expect(e.cursor).toBe(3);
    // at the very start: nothing is emitted
    expect(e.scan('K:1234 c', 0, 1, t)).toBe('');
    expect(e.cursor).toBe(0);
    expect(e.scan('ab K:1234 c', 0, 11, t)).toBe('ab K:[MASKED:k] c');
  });
});

describe('holdLimit', () => {
  const e = () => new Engine([literal('w', 'abc', true), literal('n', '123')], new Set());

  test('the smallest position any detector still holds', () => {
    expect(e().holdLimit('x ab', 0)).toBe(2);
    expect(e().holdLimit('x 12', 0)).toBe(2);
    expect(e().holdLimit('x ab 1', 0)).toBe(5); // "ab " is determined
    expect(e().holdLimit('x a 12', 0)).toBe(4);
    expect(e().holdLimit('x abc', 0)).toBe(5);
    expect(e().holdLimit('x ab', 3)).toBe(4);
    expect(e().holdLimit('', 0)).toBe(0);
  });

  test('glued: the end of a mask a glued attempt may still start at holds everything after it', () => {
    // "ab" after the letter "q" is no attempt; right after a mask it is
    expect(e().holdLimit('xqab', 2, true)).toBe(2);
    expect(e().holdLimit('xqab', 2, false)).toBe(4);
    expect(e().holdLimit('xqab', 2)).toBe(4);
    expect(e().holdLimit('xqzz', 2, true)).toBe(4);
    // determined already: "abc" is there (and more text cannot change it)
    expect(e().holdLimit('xqabcd', 2, true)).toBe(6);
    expect(e().holdLimit('xqabc', 2, true)).toBe(5);
  });

  test('never ends between the two halves of a surrogate pair', () => {
    for (const high of ['\ud800', '\ud83d', '\udbff']) {
      expect(e().holdLimit(`xy${high}`, 0)).toBe(2);
      expect(e().holdLimit(`xy${high}\ude00`, 0)).toBe(4);
    }
    for (const other of ['\ud7ff', '\udc00', '\ude00']) expect(e().holdLimit(`xy${other}`, 0)).toBe(3);
    // held from `from` itself: nothing to step back from
    expect(e().holdLimit('\ud83d1', 1)).toBe(1);
    expect(e().holdLimit('\ud83d', 1)).toBe(1);
  });
});

describe('TextStream', () => {
  const engine = () => new Engine([literal('w', 'abc', true), literal('n', '123')], new Set(['n']));

  test('emits what is determined at each push, holds the rest, and finish() releases it', () => {
    const t = newTally();
    const s = new TextStream(engine(), t);
    expect(s.push('x a')).toBe('x ');
    expect(s.pending).toBe(1);
    expect(s.push('b')).toBe('');
    expect(s.pending).toBe(2);
    expect(s.push('c d')).toBe('[MASKED:w] d');
    expect(s.pending).toBe(0);
    expect(s.push('dab')).toBe('dab'); // "ab" after a letter: no attempt
    expect(s.push(' ab')).toBe(' ');
    expect(s.pending).toBe(2);
    expect(s.finish()).toBe('ab');
    expect(s.pending).toBe(0);
    expect(s.finish()).toBe('');
    expect(t).toEqual({ counts: { w: 1 }, blocked: undefined, matches: 1 });
  });

  test('a value glued to a masked one across pushes', () => {
    const s = new TextStream(engine(), newTally());
    expect(s.push('zabc')).toBe('zabc');
    expect(s.push(' abc')).toBe(' [MASKED:w]');
    expect(s.push('a')).toBe('');
    expect(s.push('bc!')).toBe('[MASKED:w]!');
    expect(s.push(' abcab')).toBe(' [MASKED:w]');
    expect(s.finish()).toBe('ab');
  });

  test('a long stream keeps only a little context, and still sees the character before a value', () => {
    const s = new TextStream(engine(), newTally());
    let out = '';
    for (let i = 0; i < 50; i++) out += s.push('word ');
    out += s.push('xabc ');
    out += s.push('z'.repeat(40));
    out += s.push('abc ');
    out += s.finish();
    expect(out).toBe('word '.repeat(50) + 'xabc ' + 'z'.repeat(40) + 'abc ');
    const u = new TextStream(engine(), newTally());
    let v = '';
    for (let i = 0; i < 50; i++) v += u.push('word ');
    v += u.push('abc');
    v += u.push(' ' + 'y'.repeat(40) + ' abc');
    v += u.finish();
    expect(v).toBe('word '.repeat(50) + '[MASKED:w] ' + 'y'.repeat(40) + ' [MASKED:w]');
  });

  test('a block category: everything after the push that found it is dropped', () => {
    const t = newTally();
    const s = new TextStream(engine(), t);
    expect(s.push('a 123 b')).toBe('a [MASKED:n] b');
    expect(t.blocked).toBe('n');
    expect(s.push('more')).toBe('');
    expect(s.finish()).toBe('');
  });

  test('no detector: every push is passed on as it is', () => {
    const s = new TextStream(new Engine([], new Set()), newTally());
    expect(s.push('abc')).toBe('abc');
    expect(s.finish()).toBe('');
  });

  test('folded text: detection on the folded characters, the original ones emitted', () => {
    const t = newTally();
    const s = new TextStream(new Engine([literal('w', 'abc', true), literal('n', '123')], new Set()), t);
    // fullwidth digits fold to ASCII; a zero-width space is dropped
    expect(s.push('é １２')).toBe('é ');
    expect(s.push('３ é a\u200bb')).toBe('[MASKED:n] é ');
    expect(s.push('c ')).toBe('[MASKED:w] ');
    expect(s.finish()).toBe('');
    expect(t.counts).toEqual({ n: 1, w: 1 });
  });

  test('a high surrogate at the end waits for its partner', () => {
    const s = new TextStream(engine(), newTally());
    expect(s.push('é \ud83d')).toBe('é ');
    expect(s.push('\ude00 ')).toBe('\ud83d\ude00 ');
    expect(s.push('\ud83d')).toBe('');
    expect(s.finish()).toBe('\ud83d');
  });

  test('folded text too, and a pair that folds (𝐀 is A) is folded whole', () => {
    const e = new Engine([literal('w', 'Abc', true)], new Set());
    const s = new TextStream(e, newTally());
    expect(s.push('ｅ \ud835')).toBe('ｅ ');
    expect(s.push('\udc00bc ')).toBe('[MASKED:w] ');
    expect(s.push('ｅ \ud83d')).toBe('ｅ ');
    expect(s.push('\ude00 ')).toBe('\ud83d\ude00 ');
    expect(s.finish()).toBe('');
    expect(e.maskString('ｅ \ud835\udc00bc', newTally())).toBe('ｅ [MASKED:w]');
  });
});

describe('streams of folded text at their edges', () => {
  const engine = () => new Engine([literal('w', 'abc', true), literal('l', 'xyz')], new Set());

  test('a value glued to a masked one waits for its end, folded or not', () => {
    for (const lead of ['ｅ ', '. ']) {
      const t = newTally();
      const s = new TextStream(engine(), t);
      // "ab" right after the mask of "xyz" may still become a glued "abc"
      expect(s.push(`${lead}xyzab`)).toBe(`${lead}[MASKED:l]`);
      expect(s.push('c!')).toBe('[MASKED:w]!');
      expect(s.finish()).toBe('');
      expect(t.counts).toEqual({ l: 1, w: 1 });
    }
  });

  test('a long folded stream keeps the character before the next piece', () => {
    const s = new TextStream(engine(), newTally());
    let out = s.push('ｅ ' + 'word '.repeat(10) + 'q');
    out += s.push('abc ');
    out += s.push('ｅ ' + 'word '.repeat(10) + '.');
    out += s.push('abc ');
    out += s.finish();
    expect(out).toBe('ｅ ' + 'word '.repeat(10) + 'qabc ' + 'ｅ ' + 'word '.repeat(10) + '.[MASKED:w] ');
  });

  test('a match that ends inside a code point that folds to several characters replaces all of it, once', () => {
    // "㏂" folds to "a.m.": "xa" ends inside it
    const e = new Engine([literal('k', 'xa')], new Set());
    const t = newTally();
    expect(e.maskString('x㏂ ok', t)).toBe('[MASKED:k] ok');
    expect(t).toEqual({ counts: { k: 1 }, blocked: undefined, matches: 1 }); // no spans left behind
    const s = new TextStream(e, newTally());
    expect(s.push('x㏂')).toBe('[MASKED:k]');
    expect(s.push(' ok')).toBe(' ok');
    expect(s.finish()).toBe('');
    const u = new TextStream(e, newTally());
    expect(u.push('é x')).toBe('é ');
    expect(u.push('㏂ ok x')).toBe('[MASKED:k] ok ');
    expect(u.finish()).toBe('x');
    // the rest of the folded code point ("m.") may start another value: held, never emitted again
    const v = new TextStream(new Engine([literal('k', 'xa'), literal('m', 'm.x')], new Set()), newTally());
    expect(v.push('x㏂')).toBe('[MASKED:k]');
    expect(v.push(' ok')).toBe(' ok');
    expect(v.finish()).toBe('');
  });
});

describe('finish()', () => {
  test('the text is complete: a value glued to a masked one is not waited for', () => {
    for (const lead of ['ｅ ', '. ']) {
      // the long literal holds everything while the text could still become it
      const e = new Engine([literal('w', 'abc', true), literal('l', 'xyz'), literal('h', 'q xyzabcd')], new Set());
      const s = new TextStream(e, newTally());
      expect(s.push(`${lead}q xyzab`)).toBe(lead);
      expect(s.finish()).toBe('q [MASKED:l]ab');
    }
  });

  test('after a block category nothing more, even what was held', () => {
    const t = newTally();
    const s = new TextStream(new Engine([literal('w', 'abc'), literal('n', '123')], new Set(['n'])), t);
    expect(s.push('123 ab')).toBe('[MASKED:n] ');
    expect(s.pending).toBe(2);
    expect(s.finish()).toBe('');
    expect(t.counts).toEqual({ n: 1 });
  });
});

describe('a detector that answers hold() past upTo', () => {
  test('cannot release what another detector holds', () => {
    const greedy: Detector = { id: 'g', category: 'g', maxLen: 1, find: () => -1, hold: (text) => text.length + 5 };
    const e = new Engine([literal('w', 'abc'), greedy], new Set());
    expect(e.holdLimit('x ab', 0)).toBe(2);
    const s = new TextStream(e, newTally());
    expect(s.push('x ab')).toBe('x ');
    expect(s.push('c')).toBe('[MASKED:w]');
  });
});

describe('scanMode', () => {
  test('four shared objects', () => {
    expect(scanMode(false, true)).toEqual({ glued: false, final: true });
    expect(scanMode(true, true)).toEqual({ glued: true, final: true });
    expect(scanMode(false, false)).toEqual({ glued: false, final: false });
    expect(scanMode(true, false)).toEqual({ glued: true, final: false });
    expect(scanMode(true, false)).toBe(scanMode(true, false));
    expect(Object.isFrozen(scanMode(true, false))).toBe(true);
  });
});
