// MCP connector servers are matched by URL, written the one way every parser reads it.
import { matchServer, matchServerUrl, serverEntryProblem, serverPatternProblem, serverUrlProblem } from './server-url.ts';

describe('the URL a request names', () => {
  test.each([
    'https://crm.example.com/mcp',
    'https://crm.example.com/',
    'https://crm.example.com', // the '/' of an empty path may be left out
    'https://crm.example.com:8443/mcp/v2?tenant=a',
    'https://10.0.0.7/mcp',
  ])('%s may be matched', (url) => expect(serverUrlProblem(url)).toBeUndefined());

  test.each([
    ['not a url', /is not a URL/],
    ['http://crm.example.com/mcp', /must be an https:\/\/ URL/],
    ['https://user:pw@crm.example.com/mcp', /user information/],
    ['https://user@crm.example.com/mcp', /user information/],
    ['https://:pw@crm.example.com/mcp', /user information/],
    ['https://CRM.example.com', /\(https:\/\/crm\.example\.com\/\)$/],
    ['https://crm.example.com?x', /\(https:\/\/crm\.example\.com\/\?…\)$/],
    ['https://crm.example.com/mcp#f', /fragment/],
    ['https://crm.example.com/mcp/..;/admin', /has a path with ';'/],
    ['https://crm.example.com/mcp/a%2F..%2Fadmin', /encoded/],
    ['https://crm.example.com/mcp/a%5c..', /encoded/],
    ['https://crm.example.com/mcp/%2e%2e/admin', /canonical form/], // a dot segment to WHATWG
    ['https://crm.example.com/mcp%3Bx', /encoded/],
    ['https://crm.example.com/mcp%00', /encoded/],
    // every parser does not read these alike: each is refused, and told its canonical form
    ['https://crm.example.com\\@evil.example/mcp', /canonical form.*\(https:\/\/crm\.example\.com\/@evil\.example\/mcp\)$/],
    ['https://CRM.example.com/mcp', /\(https:\/\/crm\.example\.com\/mcp\)$/],
    ['https://crm.example.com:443/mcp', /\(https:\/\/crm\.example\.com\/mcp\)$/],
    ['https://crm.example.com/a/../mcp', /\(https:\/\/crm\.example\.com\/mcp\)$/],
    ['https://crm.example.com/m cp', /\(https:\/\/crm\.example\.com\/m%20cp\)$/],
    ['https://crm.exam\tple.com/mcp', /\(https:\/\/crm\.example\.com\/mcp\)$/],
    [' https://crm.example.com/mcp', /canonical form/],
    ['https://0x7f.1/mcp', /\(https:\/\/127\.0\.0\.1\/mcp\)$/],
    ['https://bücher.example/mcp', /\(https:\/\/xn--bcher-kva\.example\/mcp\)$/],
    ['https://crm.example.com/', undefined],
  ])('%s is refused, saying why', (url, why) => {
    if (why === undefined) return expect(serverUrlProblem(url)).toBeUndefined();
    expect(serverUrlProblem(url)).toMatch(why);
  });

  test('a long URL is shown cut at 200 characters', () => {
    const p = serverUrlProblem(`https://CRM.example.com/${'a'.repeat(300)}`)!;
    expect(p).toContain(`(https://crm.example.com/${'a'.repeat(200 - 'https://crm.example.com/'.length)})`);
  });

  test('a query is never shown (it may hold a token)', () => {
    const p = serverUrlProblem('https://CRM.example.com/mcp?token=s3cr3t')!;
    expect(p).toContain('(https://crm.example.com/mcp?…)');
    expect(p).not.toContain('s3cr3t');
  });
});

describe("a scope's spec.tools.mcpServers entry", () => {
  test.each(['https://crm.example.com/mcp', 'https://*.example.com/mcp/**', 'https://crm.example.com', 'https://crm.example.com:8443/*'])(
    '%s is fine',
    (p) => expect(serverPatternProblem(p)).toBeUndefined(),
  );

  test.each([
    ['crm', /is not an https:\/\/ URL: a request names its MCP servers itself/],
    ['http://crm.example.com/mcp', /is not an https:\/\/ URL/],
    ['https://crm.example.com/mc?', /scopekeeper globs do not support/],
    ['https://CRM.example.com/mcp', /host that is not lower-case/],
    ['https://user@crm.example.com/mcp', /host that is not lower-case/],
    ['https://crm.example.com:99999x/mcp', /host that is not lower-case/],
    ['https://crm.example.com/a/../mcp', /dot segment/],
    ['https://crm.example.com/./mcp', /dot segment/],
    ['https://crm.example.com/mcp/..', /dot segment/],
    ['https://crm.example.com/mcp/.', /dot segment/],
    ['https://crm.example.com/.well-known/mcp', undefined],
    ['https://crm.example.com/mcp..', undefined],
    ['https://crm.example.com/a%2Fb', /'%'/],
    ['https://crm.example.com/a\\b', /backslash/],
    ['https://crm.example.com/a#b', /'#'/],
    ['https://crm.example.com/a b', /a space/],
  ])('%s is refused, saying why', (p, why) =>
    why === undefined ? expect(serverPatternProblem(p)).toBeUndefined() : expect(serverPatternProblem(p)).toMatch(why),
  );
});

describe('matching', () => {
  test.each([
    ['https://crm.example.com/mcp', 'https://crm.example.com/mcp', true],
    ['https://crm.example.com/mcp', 'https://crm.example.com/mcp/', false],
    ['https://crm.example.com/mcp', 'https://crm.example.com/mcp?x=1', false],
    ['https://crm.example.com/mcp*', 'https://crm.example.com/mcp?x=1', true],
    ['https://crm.example.com/mcp', 'https://crm.example.com:8443/mcp', false],
    ['https://crm.example.com:8443/mcp', 'https://crm.example.com:8443/mcp', true],
    ['https://crm.example.com', 'https://crm.example.com/any/path', true],
    ['https://crm.example.com', 'https://crm.example.com', true],
    ['https://crm.example.com/*', 'https://crm.example.com/mcp', true],
    ['https://crm.example.com/*', 'https://crm.example.com/mcp/v2', false],
    ['https://crm.example.com/**', 'https://crm.example.com/mcp/v2', true],
    ['https://*.example.com/mcp', 'https://crm.example.com/mcp', true],
    // '*' in the host never reaches into the path, so it cannot name another host
    ['https://*.example.com/mcp', 'https://evil.example/a.example.com/mcp', false],
    ['https://crm.example.com/mcp', 'https://evil.example/mcp', false],
    ['crm', 'https://crm/', false],
    ['https://crm.example.com/mcp', 'http://crm.example.com/mcp', false],
  ])('%s against %s: %s', (pattern, url, expected) => expect(matchServerUrl(pattern, url)).toBe(expected));

  test('an entry lists a server by URL, and by name too when it binds one', () => {
    const crm = { name: 'crm', url: 'https://crm.example.com/mcp' };
    expect(matchServer(['https://a.example/mcp', 'https://crm.example.com/mcp'], crm)).toBe(true);
    expect(matchServer(['https://a.example/mcp'], crm)).toBe(false);
    expect(matchServer(undefined, crm)).toBe(false);
    expect(matchServer(['crm=https://crm.example.com/mcp'], crm)).toBe(true);
    expect(matchServer(['crm=https://crm.example.com/*'], crm)).toBe(true);
    // the wiki's name on the CRM's URL: the name is bound to another URL, the URL to another name
    const renamed = { name: 'wiki', url: 'https://crm.example.com/mcp' };
    expect(matchServer(['crm=https://crm.example.com/mcp', 'wiki=https://wiki.example.com/mcp'], renamed)).toBe(false);
    expect(matchServer(['wiki=https://wiki.example.com/mcp', 'https://crm.example.com/mcp'], renamed)).toBe(true);
  });

  test.each([
    ['crm=https://crm.example.com/mcp', undefined],
    ['my_crm-2=https://crm.example.com/mcp', undefined],
    ['c*=https://crm.example.com/mcp', /names a server with other than/],
    ['=https://crm.example.com/mcp', /names a server with other than/],
    ['crm=crm', /is not an https:\/\/ URL/],
    ['c*m', /^is not an https:\/\/ URL/], // no '=': all of it is the URL
    ['https://crm.example.com/a=b', undefined], // an '=' after https:// is the URL's
    ['crm=https://CRM.example.com', /host that is not lower-case/],
    ['crm', /is not an https:\/\/ URL.*crm=https:\/\/crm\.example\.com\/mcp to bind the name/],
  ])('the entry %s: %s', (e, why) =>
    why === undefined ? expect(serverEntryProblem(e)).toBeUndefined() : expect(serverEntryProblem(e)).toMatch(why),
  );
});
