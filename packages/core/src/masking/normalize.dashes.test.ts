// Dashes other than '-' (\p{Pd}, U+2212) and full stops other than '.' (U+3002, U+FF0E, U+FF61)
// fold to their ASCII forms before the detectors run; the characters as written are replaced.
import { compileMasking, BUILTIN_CATEGORIES } from './index.ts';
import { fold } from './normalize.ts';

const m = compileMasking({ mask: [...BUILTIN_CATEGORIES] });

describe('Unicode dashes and full stops', () => {
  test.each([
    ['non-breaking hyphens in a card', 'card 4111\u20111111\u20111111\u20111111 ok', 'card [MASKED:credit-card] ok'],
    ['hyphens in a card', 'card 4111\u20101111\u20101111\u20101111 ok', 'card [MASKED:credit-card] ok'],
    ['figure dashes in a card', 'card 4111\u20121111\u20121111\u20121111 ok', 'card [MASKED:credit-card] ok'],
    ['en dashes in a card', 'card 4111\u20131111\u20131111\u20131111 ok', 'card [MASKED:credit-card] ok'],
    ['minus signs in a card', 'card 4111\u22121111\u22121111\u22121111 ok', 'card [MASKED:credit-card] ok'],
    ['hyphens in an SSN', 'ssn 078\u201005\u20101120 ok', 'ssn [MASKED:ssn] ok'],
    ['hyphens in a phone number', 'call +1\u2010415\u2010555\u20102671 now', 'call [MASKED:phone] now'],
    ['an ideographic full stop in an address', 'mail jane.doe@example\u3002com ok', 'mail [MASKED:email] ok'],
    ['a halfwidth ideographic full stop in an address', 'mail jane.doe@example\uff61com ok', 'mail [MASKED:email] ok'],
    ['a fullwidth full stop in an address', 'mail jane.doe\uff0e1@example\uff0ecom ok', 'mail [MASKED:email] ok'],
  ])('%s', (_n, input, want) => {
    expect(m.maskText(input).text).toBe(want);
  });

  test('fold maps them to ASCII, one character each, pointing at the original', () => {
    const f = fold('a\u2011b\u2212c\u3002d\uff61e\u2014')!;
    expect(f.text).toBe('a-b-c.d.e-');
    expect([...f.from]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...f.to]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test('text with such characters and nothing to mask is unchanged', () => {
    const s = 'pages 10\u201320 \u2014 see\u3002 x\u2212y';
    expect(m.maskText(s)).toMatchObject({ text: s, changed: false });
  });
});
