// checks.ts at the edges a mutant of it showed untested (mutation testing, docs/testing.md);
// the rest is in checks.edges.test.ts.
import { hasDigitAndLetter, ibanChecksumValid, ipv6Valid, looksRandom, luhnValid } from './checks.ts';

describe('ipv6Valid: an IPv4 tail after a single colon and nothing else', () => {
  test.each([
    [':1.2.3.4', false],
    [':192.0.2.1', false],
    ['::1.2.3.4', false], // "::" and the IPv4 part: one non-empty group
    ['1::1.2.3.4', true],
  ])('%s: %s', (s, valid) => {
    expect(ipv6Valid(s)).toBe(valid);
  });
});

describe('luhnValid: a character below "0" whose code would make the sum a multiple of 10', () => {
  // ("&" is 38: 38 - 48 = -10; ".4": -2 doubled is -4, plus 4 is 0)
  test.each(['&', '&0', '.4', '+0', '$4', ')4'])('%s is invalid', (s) => {
    expect(luhnValid(s)).toBe(false);
  });
});

describe('ibanChecksumValid: the edges of the digit and letter ranges', () => {
  test('"A" and "Z" are letters', () => {
    expect(ibanChecksumValid('GB85AEST12345698765432')).toBe(true);
    expect(ibanChecksumValid('GB86ZEST12345698765432')).toBe(true);
  });
  // each would pass the mod-97 check if the character counted as a digit or a letter
  test.each(['GB53WEST12345698765 32', 'GB28WEST12345698765[32'])('%j is refused', (s) => {
    expect(ibanChecksumValid(s)).toBe(false);
  });
});

describe('ipv6Valid: characters just outside the hex digits', () => {
  test.each(['1:2:3:4:5:6:7:/', '1:2:3:4:5:6:7:@', '1:2:3:4:5:6:7:`', '1:2:3:4:5:6:7:G', '1::/', '1::@'])('%s is refused', (s) => {
    expect(ipv6Valid(s)).toBe(false);
  });
  test.each(['1:2:3:4:5:6:7:F', '1:2:3:4:5:6:7:a', '1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:9'])('%s is an address', (s) => {
    expect(ipv6Valid(s)).toBe(true);
  });
});

describe('ipv6Valid: no colon, and a second "::"', () => {
  test.each(['1.2.3.4', 'abcd', '', ':::', '1:::2', '::1::2', '1::2::', '1::2::1.2.3.4', '::1:2::3:4'])('%j is refused', (s) => {
    expect(ipv6Valid(s)).toBe(false);
  });
});

describe('the character classes of opaque tokens, at every edge', () => {
  test.each([
    ['a0', true],
    ['a9', true],
    ['z5', true],
    ['A0', true],
    ['Z9', true],
    ['a/', false],
    ['a:', false],
    ['a ', false],
    ['@0', false],
    ['[0', false],
    ['`0', false],
    ['{0', false],
  ])('hasDigitAndLetter(%j): %s', (s, expected) => {
    expect(hasDigitAndLetter(s)).toBe(expected);
  });

  test.each([
    ['aA0', true],
    ['zZ9', true],
    ['aZ5', true],
    ['zA5', true],
    ['aA/', false],
    ['aA:', false],
    ['aA ', false],
    ['a@0', false],
    ['a[0', false],
    ['A`0', false],
    ['A{0', false],
    // upper case and a digit, and one more character that is not lower case
    ['A0@', false],
    ['A0`', false],
    ['A0{', false],
    ['A0~', false],
    ['A0a', true],
    ['A0z', true],
  ])('looksRandom(%j): %s', (s, expected) => {
    expect(looksRandom(s)).toBe(expected);
  });
});
