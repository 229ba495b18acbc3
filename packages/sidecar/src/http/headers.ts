// Header hygiene on every route, both directions: what a caller (or an upstream) sends that
// would mean something else to the next hop is removed before it gets there; and the caller's
// headers as sent.
import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) besides those named in Connection. Framing
 * (transfer-encoding, content-length) is the proxy's to rewrite, so it is not listed here.
 */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
];

/**
 * Headers that make a server or a proxy in front of it act on another method, path, host or
 * client than the one the scope was checked against.
 */
const OVERRIDES = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-method',
  'x-original-url',
  'x-rewrite-url',
  'x-override-url',
  'x-envoy-original-path',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'client-ip',
  'true-client-ip',
  'x-cluster-client-ip',
  'x-proxyuser-ip',
  'x-host',
  'x-original-host',
  'via',
];
const OVERRIDE_PREFIXES = ['x-forwarded-'];

/** The caller's content negotiation: an endpoint that masks is asked for JSON, whole, uncompressed. */
const NEGOTIATION = ['accept', 'accept-charset', 'accept-language', 'accept-encoding', 'range', 'if-range'];

/** Names listed in the Connection header(s), lower-cased. */
export function connectionTokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const v of Array.isArray(value) ? value : [value]) for (const t of v.split(',')) if (t.trim()) out.push(t.trim().toLowerCase());
  return out;
}

/** Removes hop-by-hop and override headers from a request before it is forwarded. */
export function stripRequestHeaders(headers: IncomingHttpHeaders): void {
  for (const name of connectionTokens(headers.connection)) {
    // the message's own framing stays: removing it would change where the body ends
    if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'host') delete headers[name];
  }
  for (const name of HOP_BY_HOP) delete headers[name];
  for (const name of OVERRIDES) delete headers[name];
  for (const name of Object.keys(headers)) if (OVERRIDE_PREFIXES.some((p) => name.startsWith(p))) delete headers[name];
}

const HOP_BY_HOP_SET = new Set(HOP_BY_HOP);

/** Whether a response header must not be relayed (hop-by-hop, or named in the response's Connection). */
export function responseHeaderFilter(headers: IncomingHttpHeaders): (name: string) => boolean {
  const named = headers.connection === undefined ? undefined : new Set(connectionTokens(headers.connection));
  return (name) =>
    !HOP_BY_HOP_SET.has(name) &&
    name !== 'transfer-encoding' &&
    (named === undefined || !named.has(name) || name === 'content-length' || name === 'content-type');
}

/** Asks a service whose answer the sidecar must mask for JSON only, in one piece, uncompressed. */
export function askForJson(headers: IncomingHttpHeaders): void {
  for (const name of NEGOTIATION) delete headers[name];
  headers.accept = 'application/json';
  headers['accept-encoding'] = 'identity';
}

/** The caller's own credentials: never forwarded (the upstream gets the sidecar's key). */
const CREDENTIALS = ['authorization', 'x-api-key', 'cookie', 'proxy-authorization'];
/** Framing and routing the forwarder sets itself for the hop it makes. */
const OWN_FRAMING = ['host', 'content-length', 'transfer-encoding', 'expect', 'http2-settings'];

function hasOverridePrefix(name: string): boolean {
  for (const p of OVERRIDE_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

/** Never forwarded, whatever Connection says: hop-by-hop, overrides, the caller's credentials, our framing. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, ...OVERRIDES, ...CREDENTIALS, ...OWN_FRAMING]);

/**
 * A copy of the caller's headers fit for the upstream: no credentials, no `x-scopekeeper-*`, no
 * hop-by-hop or override headers, none named in Connection, and no name with an underscore —
 * CGI, WSGI, Rack and PHP read `X_HTTP_METHOD_OVERRIDE` or `X_Forwarded_For` as the dashed header
 * (both become `HTTP_X_HTTP_METHOD_OVERRIDE`), so every list above would have a twin; nginx drops
 * them too. One pass, nothing deleted (a test checks it drops exactly what copying and then
 * stripRequestHeaders and the deletes did).
 */
export function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = headers.connection === undefined ? undefined : connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || NOT_FORWARDED.has(k) || k.includes('_') || k.startsWith('x-scopekeeper-') || hasOverridePrefix(k)) continue;
    if (named?.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Every value of a header as sent (rawHeaders), before node merges or drops duplicates. */
export function rawHeader(req: IncomingMessage, name: string): string | string[] | undefined {
  const raw = req.rawHeaders;
  let values: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) (values ??= []).push(raw[i + 1]!);
  }
  return values === undefined || values.length > 1 ? values : values[0];
}

export function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Whether a content-type names an event stream. Media types compare in any case (RFC 9110
 * 8.3.1), as clients compare them: `Text/Event-Stream; charset=utf-8` is one, `text/event-streamx` is not.
 */
export function isEventStream(contentType: string | string[] | undefined): boolean {
  return (
    String(contentType ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase() === 'text/event-stream'
  );
}
