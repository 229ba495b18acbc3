// Issue 14 class 7 where it is decided: which service paths are refused before any matching.
import { parseServicePath } from './service-path.ts';

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
