// Splits /services/<endpoint>/<path> and refuses every way of escaping the allowed paths:
// dot segments, encoded slashes or backslashes, double encoding, NUL and control bytes, path
// parameters (Java servers read /customers/..;/admin as /admin) and characters that a server
// normalising Unicode could read as '.', '/', '\\' or ';'.
import { OVERRIDE_PROBLEM, queryOverrides } from './method-override.ts';

/**
 * `path` is decoded (what policy matches: `/` for the endpoint itself); `rawPath` is forwarded as
 * received (empty for the endpoint itself, `/services/crm`).
 */
export type ServicePath = { endpoint: string; path: string; rawPath: string; query: string } | { problem: string };

/**
 * The upstream target of a service request: the endpoint's URL itself for `/services/<name>`
 * (an MCP server at `http://crm:8080/mcp` gets `/mcp`, not `/mcp/`, which some servers redirect
 * to an address the caller cannot reach), else the caller's path below the URL's.
 */
export function upstreamTarget(endpointUrl: string, at: { rawPath: string; query: string }): { origin: string; path: string } {
  const u = new URL(endpointUrl);
  const path = at.rawPath === '' ? u.pathname : `${u.pathname.replace(/\/$/, '')}${at.rawPath}`;
  return { origin: u.origin, path: `${path}${at.query}` };
}

const FORBIDDEN_ENCODED = /%(2f|5c|25|00|2e|3b)/i;

/** Look-alikes NFKC leaves alone (NFKC already maps fullwidth and small forms onto ASCII). */
const LOOKALIKES = new Set(['\u3002', '\uff61', '\u2215', '\u2044', '\u29f8', '\u2216', '\u29f5', '\u29f9', '\u2024', '\u2025', '\u2026']);
const MEANINGFUL = /[./\\;%?#:]/;

/** A non-ASCII character that some server could read as a path delimiter, or undefined. */
function lookalike(path: string): string | undefined {
  for (const c of path) {
    if (c.charCodeAt(0) < 0x80) continue;
    if (LOOKALIKES.has(c) || MEANINGFUL.test(c.normalize('NFKC'))) return c;
  }
  return undefined;
}

export function parseServicePath(rawUrl: string): ServicePath {
  const q = rawUrl.indexOf('?');
  const pathPart = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q);
  if (!pathPart.startsWith('/services/')) return { problem: 'not a /services/ path' };
  const rest = pathPart.slice('/services/'.length);
  const slash = rest.indexOf('/');
  const endpoint = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(endpoint)) return { problem: `"${endpoint.slice(0, 64)}" is not an endpoint name` };
  // frameworks that read the method from the query (Symfony, Laravel, …) would run another method
  if (queryOverrides(query)) return { problem: `the query ${OVERRIDE_PROBLEM}` };
  if (FORBIDDEN_ENCODED.test(path))
    return { problem: 'the path carries an encoded slash, backslash, percent, dot, semicolon or NUL; send the plain path' };
  if (path.includes(';')) return { problem: "the path carries a path parameter (';'); send the path without it" };
  // eslint-disable-next-line no-control-regex -- anything outside ASCII must come percent-encoded
  if (/[^\x00-\x7f]/.test(path)) return { problem: 'the path carries raw non-ASCII characters; percent-encode them' };
  // eslint-disable-next-line no-control-regex -- control bytes are exactly what is refused
  if (/[\\\x00-\x1f\x7f]/.test(path)) return { problem: 'the path carries a backslash or a control character' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { problem: 'the path is not valid percent-encoding' };
  }
  const alike = lookalike(decoded);
  if (alike !== undefined) {
    return {
      problem: `the path carries U+${alike.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, which servers can read as '.', '/', '\\' or ';'; send the plain ASCII path`,
    };
  }
  for (const seg of decoded.split('/')) {
    if (seg === '..' || seg === '.') return { problem: 'the path has a "." or ".." segment; send the resolved path' };
  }
  if (decoded.includes('//')) return { problem: 'the path has an empty segment ("//")' };
  return { endpoint, path: decoded === '' ? '/' : decoded, rawPath: path, query };
}
