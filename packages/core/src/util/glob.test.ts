import fc from 'fast-check';
import { matchName, matchPath, globProblem } from './glob.ts';

describe('matchName', () => {
  test.each([
    ['claude-sonnet-4-*', 'claude-sonnet-4-5', true],
    ['claude-sonnet-4-*', 'claude-sonnet-4-', true],
    ['claude-sonnet-4-*', 'claude-sonnet-3-5', false],
    ['*', '', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['**', 'anything', true],
    ['Read', 'Read', true],
    ['Read', 'ReadX', false],
    ['mcp__crm__*', 'mcp__crm__lookup', true],
    ['mcp__crm__*', 'mcp__crmx__lookup', false],
  ])('%s ~ %s = %s', (p, t, want) => expect(matchName(p, t)).toBe(want));

  test('agrees with a regular expression on random input', () => {
    const ch = fc.constantFrom('a', 'b', '-', '*');
    fc.assert(
      fc.property(
        fc.array(ch, { maxLength: 8 }).map((c) => c.join('')),
        fc.array(fc.constantFrom('a', 'b', '-'), { maxLength: 12 }).map((c) => c.join('')),
        (p, t) => {
          const re = new RegExp(
            '^' +
              p
                .split('*')
                .map((s) => s.replace(/[-]/g, '\\-'))
                .join('.*') +
              '$',
          );
          expect(matchName(p, t)).toBe(re.test(t));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('matchPath', () => {
  test.each([
    ['/customers/**', '/customers/1', true],
    ['/customers/**', '/customers/1/orders/2', true],
    ['/customers/**', '/customers', true],
    ['/customers/**', '/admin', false],
    ['/pages/*', '/pages/home', true],
    ['/pages/*', '/pages/a/b', false],
    ['/a/**/z', '/a/b/c/z', true],
    ['/a/**/z', '/a/z', true],
    ['/a/**/z', '/a/b/c', false],
  ])('%s ~ %s = %s', (p, t, want) => expect(matchPath(p, t)).toBe(want));
});

test('globProblem explains unsupported syntax', () => {
  expect(globProblem('claude-[a-z]')).toMatch(/do not support/);
  expect(globProblem('claude-*')).toBeUndefined();
  expect(globProblem('')).toBe('is empty');
});
