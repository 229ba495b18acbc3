import { parseDuration, formatDuration } from './duration.ts';

test.each([
  ['90d', 90 * 86_400_000],
  ['1h30m', 5_400_000],
  ['45s', 45_000],
  ['2w', 14 * 86_400_000],
])('parseDuration(%s)', (t, ms) => expect(parseDuration(t)).toBe(ms));

test.each(['', '90', 'd', '1.5h', '-1h', '1y'])('parseDuration(%j) refuses with a fix', (t) => {
  expect(() => parseDuration(t)).toThrow(/write a number and a unit/);
});

test('formatDuration', () => {
  expect(formatDuration(3 * 86_400_000)).toBe('3d');
  expect(formatDuration(90_000)).toBe('1m');
});
