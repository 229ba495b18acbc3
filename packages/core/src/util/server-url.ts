// MCP connector servers (a Messages request's mcp_servers): what URL a request may name, and how
// a scope's spec.tools.mcpServers entries match it.
//
// A server is matched by its URL: the request names its servers itself, so a name says nothing
// about where the connector goes. And the URL must be written the one way every URL parser reads
// it (WHATWG's href: lower-case host, no backslash, no user information, no dot segments, nothing
// a parser would re-encode or drop), so that what the scope matched is the host the upstream
// connects to. `https://crm.example.com\@evil.example/` is crm.example.com to a WHATWG parser and
// evil.example to one that splits the authority at the last '@'.
//
// An entry is `[<name>=]https://<host glob>[:<port>][<path glob>]`: '*' within the host (any run
// of characters), '*' within one path segment and '**' across segments; without a path, any path.
// With a name, the server must also be called that: its tools are `mcp__<name>__<tool>`, so a
// scope whose tools rules differ per server binds each name to its URL, and a request cannot give
// one server's URL another's name (and its tools rules).
import { matchName, matchPath, globProblem } from './glob.ts';
import { TOOL_NAME } from '../anthropic/surface.ts';

/** Why a request's server URL is refused; undefined when it may be matched. */
export function serverUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a URL; send the server's https:// URL";
  }
  if (u.protocol !== 'https:') return 'must be an https:// URL';
  if (u.username || u.password) return 'carries user information (user@host); send the credential as authorization_token';
  if (u.hash) return 'carries a fragment (#…); remove it';
  // What servers and the proxies before them read differently: `/mcp/..;/admin` is /admin to Tomcat, `%2F` a '/' to some.
  if (/;|%(2f|5c|2e|3b|00)/i.test(u.pathname)) return "has a path with ';' or an encoded '/', '\\', '.', ';' or NUL; send the path plainly";
  // The canonical form, give or take the '/' of an empty path (the only '/' a parser adds at the end).
  if (u.href !== url && u.href !== `${url}/`) {
    // Shown without its query, which may hold a token.
    const shown = `${u.protocol}//${u.host}${u.pathname}`.slice(0, 200) + (u.search ? '?…' : '');
    return `is not written in its canonical form, which every URL parser reads alike; send it as WHATWG URL's href writes it (${shown})`;
  }
  return undefined;
}

interface ServerPattern {
  host: string;
  path: string;
}

const PREFIX = 'https://';

function split(pattern: string): ServerPattern {
  const rest = pattern.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  return slash === -1 ? { host: rest, path: '/**' } : { host: rest.slice(0, slash), path: rest.slice(slash) };
}

/** Why a URL pattern cannot be used; undefined when it is fine. */
export function serverPatternProblem(pattern: string): string | undefined {
  if (!pattern.startsWith(PREFIX))
    return 'is not an https:// URL: a request names its MCP servers itself, so a scope lists them by URL (for example https://crm.example.com/mcp, https://*.example.com/mcp/**, or crm=https://crm.example.com/mcp to bind the name its tools rules use)';
  const glob = globProblem(pattern);
  if (glob) return glob;
  const { host, path } = split(pattern);
  if (!/^[a-z0-9.*-]+(:[0-9]{1,5})?$/.test(host))
    return "has a host that is not lower-case letters, digits, '-', '.' and '*' (with an optional :port); write it as the URL would be sent";
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\\#%\s\x00-\x1f\x7f]/.test(path) || /\/\.\.?(\/|$)/.test(path))
    return "has a path with a backslash, '#', '%', a space, a control character or a dot segment; write it as the URL would be sent";
  return undefined;
}

/** An entry's server name (when it binds one) and URL pattern. */
function entry(e: string): { name?: string; pattern: string } {
  if (e.startsWith(PREFIX)) return { pattern: e };
  const eq = e.indexOf('=');
  return eq === -1 ? { pattern: e } : { name: e.slice(0, eq), pattern: e.slice(eq + 1) };
}

/** Why a spec.tools.mcpServers entry cannot be used; undefined when it is fine. */
export function serverEntryProblem(e: string): string | undefined {
  const { name, pattern } = entry(e);
  // Stryker disable next-line ConditionalExpression: equivalent, RegExp.test(undefined) reads "undefined", a valid name; the guard states the intent
  if (name !== undefined && !TOOL_NAME.test(name)) return "names a server with other than 1-128 letters, digits, '_' or '-' before its '='";
  return serverPatternProblem(pattern);
}

/** Whether a request's server (its URL one serverUrlProblem accepts) is listed by one of the entries. */
export function matchServer(entries: readonly string[] | undefined, server: { name: string; url: string }): boolean {
  if (!entries) return false;
  for (const e of entries) {
    const { name, pattern } = entry(e);
    if ((name === undefined || name === server.name) && matchServerUrl(pattern, server.url)) return true;
  }
  return false;
}

/** Whether a server URL (one serverUrlProblem accepts) matches a URL pattern (one serverPatternProblem accepts). */
export function matchServerUrl(pattern: string, url: string): boolean {
  if (!pattern.startsWith(PREFIX) || !url.startsWith(PREFIX)) return false;
  const p = split(pattern);
  const u = new URL(url);
  return matchName(p.host, u.host) && matchPath(p.path, `${u.pathname}${u.search}`);
}
