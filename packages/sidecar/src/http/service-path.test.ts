// Issue 14 class 7 where it is decided: which service paths are refused before any matching.
import { parseServicePath, upstreamTarget, type ServicePath } from './service-path.ts';

describe('parseServicePath', () => {
  test.each([
    ['/services/crm/customers/..;/admin', /path parameter/],
    ['/services/crm/customers;v=1/1', /path parameter/],
    ['/services/crm/customers/..%3B/admin', /semicolon/],
    ['/services/crm/customers/..%5cadmin', /backslash/],
    ['/services/crm/customers/%252e%252e/admin', /percent/],
    ['/services/crm/customers/%EF%BC%8E%EF%BC%8E/admin', /U\+FF0E/],
    ['/services/crm/customers/%E3%80%82%E3%80%82/admin', /U\+3002/],
    ['/services/crm/customers/..%E2%81%84admin', /U\+2044/],
    ['/services/crm/customers/..%EF%B9%A8admin', /U\+FE68/],
    ['/services/crm/customers/\u00e9', /raw non-ASCII/],
    ['/services/crm/customers/1?_method=DELETE', /_method/],
    ['/services/crm/customers/1?x=1&_METHOD=PUT', /_method/],
  ])('refuses %s', (url, why) => {
    const r = parseServicePath(url);
    expect('problem' in r && r.problem).toMatch(why);
  });

  test.each([
    ['/services/crm/customers/M%C3%BCller', '/customers/Müller'],
    ['/services/crm/customers/1?method=GET&q=a;b', '/customers/1'],
    ['/services/crm/customers/%E2%9C%93', '/customers/✓'],
  ])('accepts %s', (url, path) => {
    expect(parseServicePath(url)).toMatchObject({ endpoint: 'crm', path });
  });
});

describe('upstreamTarget', () => {
  const at = (url: string) => parseServicePath(url) as Exclude<ServicePath, { problem: string }>;
  test.each([
    // the endpoint itself: the URL exactly as configured
    ['http://crm:8080/mcp', '/services/crm', '/mcp'],
    ['http://crm:8080/mcp/', '/services/crm', '/mcp/'],
    ['http://crm:8080', '/services/crm', '/'],
    ['http://crm:8080/mcp', '/services/crm?x=1', '/mcp?x=1'],
    // a path below it: joined under the URL's path, as sent
    ['http://crm:8080/mcp', '/services/crm/', '/mcp/'],
    ['http://crm:8080', '/services/crm/mcp', '/mcp'],
    ['http://crm:8080/', '/services/crm/mcp', '/mcp'],
    ['http://crm:8080/api/', '/services/crm/customers/M%C3%BCller?q=1', '/api/customers/M%C3%BCller?q=1'],
  ])('%s, %s → %s', (url, request, path) => {
    expect(upstreamTarget(url, at(request))).toEqual({ origin: new URL(url).origin, path });
  });

  test('policy sees the endpoint itself as /, with or without the slash', () => {
    expect([at('/services/crm').path, at('/services/crm/').path, at('/services/crm').rawPath, at('/services/crm/').rawPath]).toEqual([
      '/',
      '/',
      '',
      '/',
    ]);
  });
});
