// checks.ts at the edges a mutant of it showed untested (mutation testing, docs/testing.md);
// the rest is in checks.edges.test.ts.
import { ipv6Valid, luhnValid } from './checks.ts';

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
