// Reading the caller's headers as sent, and the set the upstream receives.
import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';

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

/** Never forwarded: the caller's credentials, and hop-by-hop headers (RFC 9110 §7.6.1). */
const NOT_FORWARDED = new Set([
  'authorization',
  'x-api-key',
  'cookie',
  'proxy-authorization',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'http2-settings',
  'content-length',
]);

/** The caller's headers minus credentials, hop-by-hop headers and our own `x-scopekeeper-*`. */
export function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = headers.connection ? new Set(headers.connection.toLowerCase().split(',').map((s) => s.trim())) : undefined;
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || NOT_FORWARDED.has(k) || k.startsWith('x-scopekeeper-') || named?.has(k)) continue;
    out[k] = v;
  }
  return out;
}
