// Splits /services/<endpoint>/<path> and refuses every way of escaping the allowed paths:
// dot segments, encoded slashes or backslashes, double encoding, NUL and control bytes.

/** `path` is decoded (what policy matches); `rawPath` is forwarded as received. */
export type ServicePath = { endpoint: string; path: string; rawPath: string; query: string } | { problem: string };

const FORBIDDEN_ENCODED = /%(2f|5c|25|00|2e)/i;

export function parseServicePath(rawUrl: string): ServicePath {
  const q = rawUrl.indexOf('?');
  const pathPart = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q);
  if (!pathPart.startsWith('/services/')) return { problem: 'not a /services/ path' };
  const rest = pathPart.slice('/services/'.length);
  const slash = rest.indexOf('/');
  const endpoint = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '/' : rest.slice(slash);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(endpoint)) return { problem: `"${endpoint.slice(0, 64)}" is not an endpoint name` };
  if (FORBIDDEN_ENCODED.test(path)) return { problem: 'the path carries an encoded slash, backslash, percent, dot or NUL; send the plain path' };
  // eslint-disable-next-line no-control-regex -- control bytes are exactly what is refused
  if (/[\\\x00-\x1f\x7f]/.test(path)) return { problem: 'the path carries a backslash or a control character' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { problem: 'the path is not valid percent-encoding' };
  }
  for (const seg of decoded.split('/')) {
    if (seg === '..' || seg === '.') return { problem: 'the path has a "." or ".." segment; send the resolved path' };
  }
  if (decoded.includes('//')) return { problem: 'the path has an empty segment ("//")' };
  return { endpoint, path: decoded, rawPath: path, query };
}
