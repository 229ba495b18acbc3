// The built-in detectors at the edges the mutation run found untested (docs/testing.md,
// "Mutation testing"): exact masked output, and the exact answers of find(), hold() and
// leftContext() (hold and leftContext may over-approximate by contract, so only a direct check
// sees a mutant that makes them answer more than they must). Engines are built inside the
// tests: one built while the file loads makes every mutant of the engine run every masking test file.
import { email, phone } from './builtin-contact.ts';
import { ipv6 } from './builtin-ip.ts';
import { privateKey } from './builtin-keys.ts';
import { creditCard } from './builtin-numbers.ts';
import { apiKey } from './builtin-secrets.ts';
import type { Detector } from './detector.ts';
import { compileMasking, BUILTIN_CATEGORIES } from './index.ts';

const maskAll = (text: string) => compileMasking({ mask: [...BUILTIN_CATEGORIES] }).maskText(text).text;
const maskOnly = (category: string, text: string) => compileMasking({ mask: [category] }).maskText(text).text;
/** [attempt position, span start, span end], or -1. */
function find(d: Detector, text: string, from = 0): number | number[] {
  const span = { start: -9, end: -9 };
  const q = d.find(text, from, span);
  return q < 0 ? q : [q, span.start, span.end];
}
const TOKEN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123456789';

describe('email', () => {
  it.each([
    // Latin letters beyond ASCII belong to the address; other characters end it
    ['Àa@b.co', '[MASKED:email]'],
    ['ɏa@b.co', '[MASKED:email]'],
    ['·a@b.co', '·[MASKED:email]'],
    ['¿a@b.co', '¿[MASKED:email]'],
    ['Ωa@b.co', 'Ω[MASKED:email]'],
    ['×a@b.co', '×[MASKED:email]'],
    ['÷a@b.co', '÷[MASKED:email]'],
    ['ɐa@b.co', 'ɐ[MASKED:email]'],
    [`${'a'.repeat(64)}@b.co`, '[MASKED:email]'],
    [`${'a'.repeat(65)}@b.co`, `${'a'.repeat(65)}@b.co`],
    [`x ${'a'.repeat(30)}.${'b'.repeat(33)}@b.co y`, 'x [MASKED:email] y'],
    ['a@b@c.co d@e.co', 'a@[MASKED:email] [MASKED:email]'],
    ['@b.co a@@b.co', '@b.co a@@b.co'],
  ])('%j', (input, out) => expect(maskOnly('email', input)).toBe(out));

  it('finds the address from the start of its local part, never from inside a run that began before `from`', () => {
    expect(find(email, 'xa@b.co', 0)).toEqual([0, 0, 7]);
    expect(find(email, 'xa@b.co', 1)).toBe(-1);
    expect(find(email, 'x a@b.co', 1)).toEqual([2, 2, 8]);
    expect(find(email, 'a@b@c.co', 0)).toEqual([2, 2, 8]);
    expect(find(email, `${'a'.repeat(64)}@b.co`)).toEqual([0, 0, 69]);
    expect(find(email, `${'a'.repeat(65)}@b.co`)).toBe(-1);
    expect(find(email, 'no address here @ all')).toBe(-1);
  });

  it.each([
    ['xa@b.co', 1, true],
    ['éa@b.co', 1, true],
    ['xé@b.co', 1, true],
    ['x]a@b.co', 2, false], // ']' already is a boundary
    ['x·a@b.co', 2, false],
    ['x.@b.co', 1, false], // '.' cannot start an address
    ['x×@b.co', 1, false],
    ['xa b@c.co', 1, false], // the local part never reaches '@'
    ['xab', 1, true], // the text may go on to an '@'
    ['xa', 1, true],
    [`x${'a'.repeat(63)}@b.co`, 1, true],
    [`x${'a'.repeat(64)}@b.co`, 1, true], // 64 characters from q, then '@'
    [`x${'a'.repeat(65)}@b.co`, 1, false], // 65: too long
    [`x${'a'.repeat(64)}`, 1, true],
    [`x${'a'.repeat(65)}`, 1, false],
    [`x${'a'.repeat(40)}`, 1, true],
    ['xa.b-c+d%e_f@g.co', 1, true],
  ])('leftContext(%j, %i) = %s', (text, q, want) => {
    expect(email.leftContext!(text, q)).toBe(want);
  });

  it.each([
    ['see x', 0, 5, 4], // "see" is settled by the space; "x" may become an address
    ['see x', 0, 2, 2],
    ['see', 0, 3, 0],
    ['a.b@c', 0, 5, 0],
    ['a b c d. ', 0, 9, 9],
    ['x ·y', 0, 4, 3],
    ['x ×y', 0, 4, 3],
    ['x éy', 0, 4, 2],
    [`${'w '.repeat(40)}ab`, 0, 82, 80],
  ])('hold(%j, %i, %i) = %i', (text, from, upTo, want) => {
    expect(email.hold(text, from, upTo)).toBe(want);
  });
});

describe('phone', () => {
  it.each([
    ['+44 20 7946 0958', '[MASKED:phone]'],
    ['+44 (0)20 7946 0958', '[MASKED:phone]'],
    ['+1 (2) 3456789', '[MASKED:phone]'],
    ['+12345678', '[MASKED:phone]'],
    ['+123456789012345', '[MASKED:phone]'],
    ['+1 2 34567890', '[MASKED:phone]'],
    ['+1 23 45 67 89 01 23', '[MASKED:phone]'],
    ['+1 415 555 2671 x', '[MASKED:phone] x'],
    ['+1 415 555 2671.', '[MASKED:phone].'],
    ['+1 415 555 2671-', '[MASKED:phone]-'],
    // not a number's structure
    ['+44 20) 7946 0958', '+44 20) 7946 0958'], // ')' without '('
    ['+44  20 7946 0958', '+44  20 7946 0958'], // two separators
    ['+44 (20 7946 0958', '+44 (20 7946 0958'], // '(' never closed
    ['+44 ((20) 7946 0958', '+44 ((20) 7946 0958'],
    ['+44 (20) (79) 4600 958', '+44 (20) (79) 4600 958'], // a second '(…)'
    ['+44 () 7946 0958', '+44 () 7946 0958'],
    ['+44 (12345) 7946 0958', '+44 (12345) 7946 0958'],
    ['+44 (2 0) 7946 0958', '+44 (2 0) 7946 0958'],
    ['+44 20 7946 (0958', '+44 20 7946 (0958'], // '(' still open at the end
    ['+1 (2) 34 56 78 90 12 34', '[MASKED:phone]'], // seven groups: "(2)" is not one of them
    ['+1 234567890 12', '+1 234567890 12'], // the longest group (9) is not the last
    ['+1 (2345) 678 9012', '[MASKED:phone]'], // four digits in "(…)" at most
    ['+1 (23456) 78 9012', '+1 (23456) 78 9012'],
    ['+1234(5)6789 0123', '[MASKED:phone]'], // "1234" is a group of its own before the parenthesis
    ['+1234567', '+1234567'], // 7 digits
    ['+1234567890123456', '+1234567890123456'], // 16 digits
    ['+12 345678901', '+12 345678901'], // a group of 9
    ['+1 2 3 4567890', '+1 2 3 4567890'], // two single digits
    ['+1 23 45 67 89 01 23 45', '+1 23 45 67 89 01 23 45'], // 8 groups
    ['+1 415 555 2671x', '+1 415 555 2671x'], // glued to a word
    ['+1 415 555 2671_', '+1 415 555 2671_'],
    ['(415) 555-2671x', '(415) 555-2671x'],
    ['415-555-2671', '[MASKED:phone]'],
    ['415.555.2671a', '415.555.2671a'],
  ])('%j', (input, out) => expect(maskOnly('phone', input)).toBe(out));

  it('trims what follows the last digit of an international number', () => {
    expect(find(phone, '+44 20 7946 0958 ) ')).toEqual([0, 0, 16]);
    expect(find(phone, 'tel +44 20 7946 0958-(')).toEqual([4, 4, 20]);
  });
});

describe('credit-card', () => {
  it.each([
    ['4111 1111 1111 1111', '[MASKED:credit-card]'],
    ['4111-1111-1111-1111', '[MASKED:credit-card]'],
    ['4111.1111.1111.1111', '[MASKED:credit-card]'],
    ['4111111111111111', '[MASKED:credit-card]'],
    ['4111 1111 1111 1111 123', '[MASKED:credit-card] 123'],
    ['4111 1111 1111 1112', '4111 1111 1111 1112'],
    ['4111 1111 1111 1112 123', '4111 1111 1111 1112 123'],
    ['3782 822463 10005', '[MASKED:credit-card]'],
    ['4111 1111-1111 1111', '4111 1111-1111 1111'],
    // an ungrouped run of digits is one number: its first 16 digits are not a card of their own
    ['41111111111111111', '41111111111111111'],
    ['4111111111111111123', '4111111111111111123'],
    ['4111111111111111 123', '[MASKED:credit-card] 123'],
    ['4111 1111 1111 11 111', '4111 1111 1111 11 111'], // 17 digits: not a card and a group
  ])('%j', (input, out) => expect(maskOnly('credit-card', input)).toBe(out));

  it('reports the span of a grouped card followed by another group', () => {
    expect(find(creditCard, 'x 4111 1111 1111 1111 123')).toEqual([2, 2, 21]);
  });
});

describe('iban', () => {
  it.each([
    ['DE89 3704 0044 0532 0130 00', '[MASKED:iban]'],
    ['DE89370400440532013000', '[MASKED:iban]'],
    ['DE89370400440532013000 x', '[MASKED:iban] x'],
    ['DE89 3704 0044 0532 0130 00 x', '[MASKED:iban] x'],
    ['GB82 WEST 1234 5698 7654 32', '[MASKED:iban]'],
    ['DE89 37040044 0532 0130 00', 'DE89 37040044 0532 0130 00'], // a missing space
    ['DE8937040044053201300 0', 'DE8937040044053201300 0'], // a space not after a group of four
    ['DE893 704 0044 0532 0130 00', 'DE893 704 0044 0532 0130 00'],
    ['DE893704 0044 0532 0130 00', 'DE893704 0044 0532 0130 00'], // the first space must follow the first four
    ['DE89 3704 0044 0532 0130 0 0', 'DE89 3704 0044 0532 0130 0 0'], // a space inside the last group
    // one character short of a German IBAN, with a valid checksum for its length
    ['DE5137040044053201300', 'DE5137040044053201300'],
    ['DE51 3704 0044 0532 0130 0', 'DE51 3704 0044 0532 0130 0'],
    ['DE89  3704 0044 0532 0130 00', 'DE89  3704 0044 0532 0130 00'],
    ['DE89 3704 0044 0532 0130 00x', 'DE89 3704 0044 0532 0130 00x'], // glued to a word
    ['DE89 3704 0044 0532 0130 0', 'DE89 3704 0044 0532 0130 0'], // too short
    ['DE88 3704 0044 0532 0130 00', 'DE88 3704 0044 0532 0130 00'], // checksum
    ['XX89 3704 0044 0532 0130 00', 'XX89 3704 0044 0532 0130 00'], // no such country
  ])('%j', (input, out) => expect(maskOnly('iban', input)).toBe(out));
});

describe('ssn', () => {
  it.each([
    ['078-05-1120', '[MASKED:ssn]'],
    ['000-05-1120', '000-05-1120'],
    ['666-05-1120', '666-05-1120'],
    ['900-05-1120', '900-05-1120'],
    ['078-00-1120', '078-00-1120'],
    ['078-05-0000', '078-05-0000'],
    ['899-05-1120', '[MASKED:ssn]'],
  ])('%j', (input, out) => expect(maskOnly('ssn', input)).toBe(out));
});

describe('ip-address (v6)', () => {
  it.each([
    ['fe80::1', '[MASKED:ip-address]'],
    ['fe80::1.', '[MASKED:ip-address].'],
    ['fe80::1:', '[MASKED:ip-address]:'],
    ['a fe80::1: b', 'a [MASKED:ip-address]: b'],
    ['fe80::1::', 'fe80::1::'],
    ['fe80::1%', '[MASKED:ip-address]%'],
    ['1:2:3:4:5:6:7:8', '[MASKED:ip-address]'],
    ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
    ['x fe80::1g', 'x fe80::1g'],
    ['gfe80::1. ', 'gfe80::1. '], // glued to a word, even when a full stop follows
    ['fe80::12345', 'fe80::12345'], // only a '.' or a single ':' after the address is trimmed
    ['a fe80::: b', 'a fe80::: b'],
    ['a 2001:db8::: b', 'a 2001:db8::: b'], // "::" then ":" is not an address and a colon
    ['x fe80::1. ', 'x [MASKED:ip-address]. '],
    ['gfe80::1 x', 'gfe80::1 x'],
    ['2001:db8::1 and 2001:db8::2', '[MASKED:ip-address] and [MASKED:ip-address]'],
    ['1:2:3:4:5:6:7:8:9 2001:db8::2', '1:2:3:4:5:6:7:8:9 [MASKED:ip-address]'],
  ])('%j', (input, out) => expect(maskOnly('ip-address', input)).toBe(out));

  it.each([
    ['xfe80::1', 1, true],
    [':a', 1, true],
    ['.a', 1, true],
    ['_a', 1, true],
    ['x:', 1, true],
    [' fe80::1', 1, false],
    ['-a', 1, false],
    ['xg', 1, false],
  ])('leftContext(%j, %i) = %s', (text, q, want) => {
    expect(ipv6.leftContext!(text, q)).toBe(want);
  });

  it('hold(): an address still growing, up to its longest form', () => {
    expect(ipv6.hold('x fe80::', 0, 8)).toBe(2);
    expect(ipv6.hold('x fe80::1 y', 0, 11)).toBe(11);
    const longest = 'x 0000:0000:0000:0000:0000:ffff:255.255.255.255';
    expect(ipv6.hold(longest, 0, longest.length)).toBe(2);
  });

  it('finds the address, skipping a run that is not one', () => {
    expect(find(ipv6, 'a:b:c:d:e:f:0:1:2 fe80::1.')).toEqual([18, 18, 25]);
    expect(find(ipv6, 'fe80::1:', 0)).toEqual([0, 0, 7]);
    expect(find(ipv6, 'x fe80::1', 2)).toEqual([2, 2, 9]);
    expect(find(ipv6, 'x fe80::1', 3)).toBe(-1); // never from inside a run
  });
});

describe('api-key', () => {
  it.each([
    ['sk-ant-abc', 'sk-ant-abc'],
    [`sk-ant-${'a'.repeat(30)}`, '[MASKED:api-key]'], // an Anthropic key needs no mixed case
    [`sk-${'a'.repeat(30)}`, `sk-${'a'.repeat(30)}`],
    [`sk-ant-${TOKEN}`, '[MASKED:api-key]'],
    [`sk-${TOKEN}`, '[MASKED:api-key]'],
    ['sk-learn-compatible-estimator-kit', 'sk-learn-compatible-estimator-kit'],
    ['github_pat_short', 'github_pat_short'],
    [`github_pat_${TOKEN}`, '[MASKED:api-key]'],
    [`ghp_${TOKEN}`, '[MASKED:api-key]'],
    ['ghp_short', 'ghp_short'],
    ['AKIAIOSFODNN7EXAMPLE', '[MASKED:api-key]'],
    ['AKIAIOSFODNN7EXAMPL', 'AKIAIOSFODNN7EXAMPL'],
    ['AKIAIOSFODNN7EXAMPLEX', 'AKIAIOSFODNN7EXAMPLEX'],
    ['xoxb-1234567890-abcdefghij', '[MASKED:api-key]'],
    ['xoxb-abcdefghijklmnop', 'xoxb-abcdefghijklmnop'],
    ['Bearer abcdefghijklmnopqrst', 'Bearer abcdefghijklmnopqrst'],
    ['Bearer abcdefghijklmnop1234', 'Bearer [MASKED:api-key]'],
    ['BEARER abcdefghijklmnop1234', 'BEARER [MASKED:api-key]'],
    ['xBearer abcdefghijklmnop1234', 'xBearer abcdefghijklmnop1234'],
    [`x_ghp_${TOKEN}`, `x_ghp_${TOKEN}`],
    [`1AKIAIOSFODNN7EXAMPLE`, `1AKIAIOSFODNN7EXAMPLE`],
    [`-AKIAIOSFODNN7EXAMPLE`, `-[MASKED:api-key]`],
  ])('%j', (input, out) => expect(maskOnly('api-key', input)).toBe(out));

  it.each([
    ['x sk-', 5, 2], // a complete literal whose token may still come
    [`x sk-${TOKEN}`, 100, 2], // a token still growing
    [`xsk-${TOKEN}`, 100, 100], // "x" before "sk-": never an attempt
    ['x AKIA', 6, 2],
    ['x AKIA1234', 10, 2],
    ['x Bea', 5, 2], // a literal cut short by the end of the text
    ['xBea', 4, 4],
    ['x gh', 4, 2],
    ['1AKI', 4, 4],
    ['_gh', 3, 3],
    ['-gh', 3, 1],
    ['-AK', 3, 1],
    ['x s', 3, 2], // one character of a literal
    ['x-s', 3, 3], // "-" rules out sk- and xox… (it is part of such tokens)
    ['x-x', 3, 3],
    ['x-Be', 4, 2], // but not Bearer, ghp_ or github_pat_
    ['x-be', 4, 2],
    ['x-gi', 4, 2],
    ['x A', 3, 2],
    ['x q', 3, 3],
    ['x sk-abc def ghijkl', 19, 19], // the token ended: settled
    [`x sk-${'A1b'.repeat(100)}`, 305, 305], // longer than a key can be: settled
    [`x sk-${'A1b'.repeat(88)}a`, 270, 270], // exactly the longest match and its lookahead: settled
    [`x sk-${'A1b'.repeat(88)}`, 269, 2], // one character short of that: still open
    ['x sk-abc def ghijkl', 1, 1],
    [`sk-${TOKEN} and more text here`, 80, 80],
    [`x sk-${TOKEN}`, 2, 2],
    [`x sk-${TOKEN}`, 1, 1],
  ])('hold(%j, 0, %i) = %i', (text, upTo, want) => {
    expect(apiKey.hold(text, 0, upTo)).toBe(want);
  });

  it('hold() looks only at the last stretch a key can span, and from `from` on', () => {
    const far = `x sk-${TOKEN}${' filler'.repeat(400)}`;
    expect(apiKey.hold(far, 0, far.length)).toBe(far.length);
    expect(apiKey.hold(`x sk-${TOKEN}`, 3, 100)).toBe(100);
    expect(apiKey.hold('x Bea', 2, 5)).toBe(2);
    expect(apiKey.hold('x Bea', 3, 5)).toBe(5);
    expect(apiKey.hold('x sk-abcdef', 6, 11)).toBe(11); // a literal before from is not this call's
  });

  it.each([
    ['xsk-abc', 1, true],
    ['xAKIA', 1, true],
    ['xgh', 1, true],
    ['x]sk-', 2, false],
    ['x sk-', 2, false],
    ['xsq-', 1, false],
    ['xBearer', 1, true],
  ])('leftContext(%j, %i) = %s', (text, q, want) => {
    expect(apiKey.leftContext!(text, q)).toBe(want);
  });
});

describe('private-key', () => {
  const KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4\n-----END RSA PRIVATE KEY-----';
  it.each([
    [`x ${KEY} y`, 'x [MASKED:private-key] y'],
    [`x ${KEY.slice(0, 60)}`, 'x [MASKED:private-key]'],
    // no footer: masked through the end of the body's characters (fail closed)
    [`x ${KEY.replace('-----END RSA', '-----END  RSA')} y`, 'x [MASKED:private-key]'],
    [`x ${KEY.replace('-----END RSA', '-----END  RSA')} ! y`, 'x [MASKED:private-key]! y'],
    [`${KEY} ${KEY}`, '[MASKED:private-key] [MASKED:private-key]'],
  ])('%j', (input, out) => expect(maskOnly('private-key', input)).toBe(out));

  it.each([
    [`x ${KEY.slice(0, 40)}`, 40, 2], // the body may still grow
    ['x -----BEG', 10, 2], // a header cut short
    ['x -----BEG', 1, 1], // never past upTo
    ['x -----BEGIN RSA PRI', 20, 2],
    ['x -----BEGIN rsa', 16, 16],
    ['x -----BEGIN RSA PRIVATE KEY!', 29, 29],
    ['a-b', 3, 3],
    ['a-', 2, 1],
    ['a--', 3, 1],
    ['a-x-', 4, 3],
    [`x ${KEY} y`, 100, 100], // complete
    [`x ${KEY.slice(0, 40)}`, 2, 2],
    [`x ${KEY.slice(0, 40)}`, 1, 1],
  ])('hold(%j, 0, %i) = %i', (text, upTo, want) => {
    expect(privateKey.hold(text, 0, upTo)).toBe(want);
  });

  it('a match ends at its footer, or 32768 characters after its start at most', () => {
    const head = '-----BEGIN RSA PRIVATE KEY-----';
    const foot = '-----END RSA PRIVATE KEY-----';
    expect(find(privateKey, `${head}${foot} more`)).toEqual([0, 0, head.length + foot.length]);
    expect(maskOnly('private-key', `${head}${foot} more`)).toBe('[MASKED:private-key] more');
    const giant = `x ${head}\n${'A'.repeat(33000)}\n${foot}`;
    expect(find(privateKey, giant)).toEqual([2, 2, 2 + 32768]);
    const across = `${head}\n${'A'.repeat(32768 - 10 - head.length - 2)}\n${foot}`; // the footer crosses the limit
    expect(find(privateKey, across)).toEqual([0, 0, 32768]);
  });

  it('hold(): a body ended by another character, or at the limit, is settled', () => {
    const head = '-----BEGIN RSA PRIVATE KEY-----';
    const ended = `x ${head}\nMIIB! more`;
    expect(privateKey.hold(ended, 0, ended.length)).toBe(ended.length);
    const atLimit = `${head}\n${'A'.repeat(32768 - head.length - 1)}`;
    expect(atLimit.length).toBe(32768);
    expect(privateKey.hold(atLimit, 0, atLimit.length)).toBe(atLimit.length);
    const belowLimit = atLimit.slice(0, -1);
    expect(privateKey.hold(belowLimit, 0, belowLimit.length)).toBe(0);
    const growing = `x ${head}\nMIIB`;
    expect(privateKey.hold(growing, 0, growing.length)).toBe(2);
    expect(privateKey.hold(growing, 5, growing.length)).toBe(growing.length); // a header before from is not this call's
  });

  it('hold() past a complete key looks at what follows it', () => {
    const t = `${KEY} and -----BEGIN EC PRIVATE KEY-----\nMIIB`;
    expect(privateKey.hold(t, 0, t.length)).toBe(KEY.length + 5);
    expect(privateKey.hold(`${KEY} and -----BEG`, 0, 200)).toBe(KEY.length + 5);
  });
});

describe('values next to each other', () => {
  it.each([
    ['4111 1111 1111 1111jane@x.com', '[MASKED:credit-card][MASKED:email]'],
    [`ghp_${TOKEN} jane@x.com`, '[MASKED:api-key] [MASKED:email]'],
    ['jane@x.com 078-05-1120 fe80::1 192.168.1.1', '[MASKED:email] [MASKED:ssn] [MASKED:ip-address] [MASKED:ip-address]'],
  ])('%j', (input, out) => expect(maskAll(input)).toBe(out));
});
