// The checks that decide whether a candidate is a finding, at every edge they have: the issuer
// ranges and lengths of each card network (just inside and just outside), Luhn, IBAN mod-97,
// the IPv6 text forms, and the character-class tests of opaque tokens.
import { cardNetwork, hasDigitAndLetter, ibanChecksumValid, ipv6Valid, looksRandom, luhnValid } from './checks.ts';

/** A digit string of length n that starts with `prefix` (the network check ignores the rest). */
const num = (prefix: string, n: number) => prefix + '0'.repeat(n - prefix.length);

describe('cardNetwork: issuer ranges and lengths', () => {
  test.each([
    // Visa: 4, 13, 16 or 19 digits
    ['4', 13, 'visa'],
    ['4', 16, 'visa'],
    ['4', 19, 'visa'],
    ['4', 12, undefined],
    ['4', 14, undefined],
    ['4', 15, undefined],
    ['4', 18, undefined],
    // Mastercard: 51-55 and 2221-2720, 16 digits
    ['51', 16, 'mastercard'],
    ['55', 16, 'mastercard'],
    ['51', 15, undefined],
    ['51', 17, undefined],
    ['2221', 16, 'mastercard'],
    ['2720', 16, 'mastercard'],
    ['2220', 16, undefined],
    ['2721', 16, undefined],
    ['2221', 17, undefined],
    // Amex: 34 and 37, 15 digits
    ['34', 15, 'amex'],
    ['37', 15, 'amex'],
    ['34', 16, undefined],
    ['37', 14, undefined],
    ['35', 15, undefined],
    ['33', 15, undefined],
    // Mir: 2200-2204, 16-19 digits
    ['2200', 16, 'mir'],
    ['2204', 19, 'mir'],
    ['2200', 15, undefined],
    ['2204', 20, undefined],
    ['2205', 16, undefined],
    ['2199', 16, undefined],
    // Discover: 6011, 644-649, 65, 622126-622925, 16-19 digits
    ['6011', 16, 'discover'],
    ['6011', 19, 'discover'],
    ['6011', 15, undefined],
    ['6011', 20, undefined],
    ['644', 16, 'discover'],
    ['649', 16, 'discover'],
    ['65', 16, 'discover'],
    ['622126', 16, 'discover'],
    ['622925', 16, 'discover'],
    // JCB: 3528-3589, 16-19 digits
    ['3528', 16, 'jcb'],
    ['3589', 19, 'jcb'],
    ['3527', 16, undefined],
    ['3590', 16, undefined],
    ['3528', 15, undefined],
    ['3589', 20, undefined],
    // Diners: 300-305, 36, 38, 39, 14-19 digits
    ['300', 14, 'diners'],
    ['305', 19, 'diners'],
    ['36', 14, 'diners'],
    ['38', 16, 'diners'],
    ['39', 16, 'diners'],
    ['306', 14, undefined],
    ['300', 13, undefined],
    ['300', 20, undefined],
    // UnionPay: 62 outside Discover's range, 16-19 digits
    ['622125', 16, 'unionpay'],
    ['622926', 19, 'unionpay'],
    ['62', 15, undefined],
    ['62', 20, undefined],
    // Maestro: 50, 56-69 (not claimed above), 12-19 digits
    ['50', 12, 'maestro'],
    ['56', 19, 'maestro'],
    ['69', 16, 'maestro'],
    ['6010', 16, 'maestro'],
    ['643', 16, 'maestro'],
    ['50', 11, undefined],
    ['50', 20, undefined],
    // nobody's
    ['1', 16, undefined],
    ['70', 16, undefined],
    ['49', 16, 'visa'],
  ])('%s… with %i digits: %s', (prefix, n, network) => {
    expect(cardNetwork(num(prefix, n))).toBe(network);
  });
});

describe('luhnValid', () => {
  test('valid and invalid numbers; a doubled digit over 9 counts its digit sum', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('18')).toBe(true); // 1*2 = 2, + 8 = 10
    expect(luhnValid('59')).toBe(true); // 5*2 = 10 -> 1, + 9 = 10
    expect(luhnValid('91')).toBe(true); // 9*2 = 18 -> 9, + 1 = 10
    expect(luhnValid('19')).toBe(false); // 1*2 = 2, + 9 = 11
    expect(luhnValid('0')).toBe(true);
    expect(luhnValid('')).toBe(true);
  });
  test('a non-digit anywhere makes it invalid', () => {
    for (const s of ['4111-1111', '41a1', '/0', ':0', '0/', '0:']) expect(luhnValid(s)).toBe(false);
  });
});

describe('ibanChecksumValid', () => {
  test('the mod-97 check over the rearranged IBAN', () => {
    expect(ibanChecksumValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanChecksumValid('DE89370400440532013000')).toBe(true);
    expect(ibanChecksumValid('GB82WEST12345698765433')).toBe(false);
    expect(ibanChecksumValid('GB28WEST12345698765432')).toBe(false);
  });
  test('lower case and other characters are invalid', () => {
    expect(ibanChecksumValid('gb82west12345698765432')).toBe(false);
    expect(ibanChecksumValid('GB82WEST1234569876543@')).toBe(false);
    expect(ibanChecksumValid('GB82WEST1234569876543[')).toBe(false);
    expect(ibanChecksumValid('GB82WEST1234569876543/')).toBe(false);
    expect(ibanChecksumValid('GB82WEST1234569876543:')).toBe(false);
  });
});

describe('ipv6Valid', () => {
  test.each([
    ['2001:db8:85a3:0:0:8a2e:370:7334', true],
    ['2001:DB8:85A3:0:0:8A2E:370:7334', true],
    ['2001:db8::8a2e:370:7334', true],
    ['2001:db8::7334', true],
    ['fe80::1:2', true],
    ['::ffff:192.0.2.1', true],
    ['64:ff9b::192.0.2.33', true],
    ['1:2:3:4:5:6:192.0.2.1', true],
    ['1:2:3:4:5::192.0.2.1', true],
    ['1:2:3:4:5:6:7::', true],
    ['::2:3:4:5:6:7:8', true],
    // not addresses, or not worth reporting
    ['::', false],
    ['::1', false],
    ['1::', false],
    ['12:34', false],
    ['1:2:3:4:5:6:7', false],
    ['1:2:3:4:5:6:7:8:9', false],
    ['1:2:3:4:5:6:7:8::', false],
    ['1::2::3', false],
    ['1:2:3:4:5:6:7:g', false],
    ['1:2:3:4:5:6:7:12345', false],
    ['1::12345', false],
    ['12345::1', false],
    ['1:2:3:4:5:6:192.0.2.256', false],
    ['1:2:3:4:5:6:7:192.0.2.1', false],
    ['1:2:3:4:5::6:192.0.2.1', false],
    ['::192.0.2.1', false], // one group besides "::": the IPv4 part is the ipv4 detector's
    ['no colon', false],
    ['1:2:3:4:5:6:7:', false],
    [':1:2:3:4:5:6:7', false],
  ])('%s: %s', (s, valid) => {
    expect(ipv6Valid(s)).toBe(valid);
  });
});

describe('opaque-token character tests', () => {
  test('hasDigitAndLetter: both kinds, within [from, to)', () => {
    expect(hasDigitAndLetter('abc1')).toBe(true);
    expect(hasDigitAndLetter('1Z')).toBe(true);
    expect(hasDigitAndLetter('abcd')).toBe(false);
    expect(hasDigitAndLetter('1234')).toBe(false);
    expect(hasDigitAndLetter('12@[`{/:')).toBe(false); // neighbours of the letter and digit ranges
    expect(hasDigitAndLetter('a1', 1)).toBe(false);
    expect(hasDigitAndLetter('a1b', 0, 1)).toBe(false);
    expect(hasDigitAndLetter('xx a1', 3)).toBe(true);
  });
  test('looksRandom: upper, lower and a digit, within [from, to)', () => {
    expect(looksRandom('aB3')).toBe(true);
    expect(looksRandom('ab3')).toBe(false);
    expect(looksRandom('AB3')).toBe(false);
    expect(looksRandom('aBc')).toBe(false);
    expect(looksRandom('a@[`{B/:3')).toBe(true);
    expect(looksRandom('a@[`{/:')).toBe(false);
    expect(looksRandom('@[B`{a/:')).toBe(false);
    expect(looksRandom('sk-aB3', 3)).toBe(true);
    expect(looksRandom('aB3', 1)).toBe(false);
    expect(looksRandom('aB3x', 0, 2)).toBe(false);
  });
});
