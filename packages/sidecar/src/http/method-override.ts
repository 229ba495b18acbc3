// Servers that take the request's method from a parameter named `_method`: Rails and every Rack app
// (Rack::MethodOverride: a POST's form body), Spring (HiddenHttpMethodFilter: a POST's form
// parameters), Symfony and Laravel (the POST body, then the query, when method override is on). A
// scope that allows POST on a path would otherwise allow DELETE or PUT there. The one place that
// decides whether a service request carries such a parameter, in its query or in its body.
//
// Parameter names are read the way those servers read them: percent-decoded (`+` is a space), query
// pairs split on `&` and `;` (Rack), and PHP's name mangling (leading spaces dropped, ` ` and `.`
// become `_`, `_method[]` is the array `_method`); compared without case.
import { compressedAs } from './body.ts';

/** What a refusal says. */
export const OVERRIDE_PROBLEM = "carries _method, which some servers read as the request's method; send the real method instead";

/** True when `rawName` (as sent, still encoded) is read as `_method` by one of the servers above. */
export function isMethodParam(rawName: string): boolean {
  let name = decodeLoosely(rawName.replace(/\+/g, ' '));
  const nul = name.indexOf('\0');
  if (nul !== -1) name = name.slice(0, nul);
  name = name.trimStart();
  const bracket = name.indexOf('[');
  if (bracket !== -1 && name.indexOf(']', bracket) !== -1) name = name.slice(0, bracket);
  return name.replace(/[ .[]/g, '_').toLowerCase() === '_method';
}

/** The query (with or without its leading `?`) names `_method`. */
export function queryOverrides(query: string): boolean {
  return pairsOf(query.replace(/^\?/, '')).some(isMethodParam);
}

/**
 * Which POST bodies a server parses into parameters: no content type at all (Rack treats it as a
 * form), a urlencoded form, any multipart type; anything else (JSON, XML, bytes) is left alone.
 */
export function bodyMayOverride(method: string | undefined, contentType: string | undefined): boolean {
  if ((method ?? '').toUpperCase() !== 'POST') return false; // the servers above override POST only
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return media === '' || media.includes('form') || media.startsWith('multipart/');
}

/**
 * Why a POST body that a server parses into parameters is refused, or undefined: it names `_method`,
 * or it is compressed (a server that inflates request bodies would read a `_method` the sidecar
 * cannot see).
 */
export function formBodyProblem(body: Buffer, contentEncoding: string | undefined): string | undefined {
  const encoding = compressedAs(contentEncoding);
  if (encoding) return `is compressed (content-encoding ${encoding}), so whether it names _method cannot be read; send it uncompressed`;
  return bodyOverrides(body) ? OVERRIDE_PROBLEM : undefined;
}

/** The body, read as a urlencoded form and as multipart parts (both: the content type may lie), names `_method`. */
export function bodyOverrides(body: Buffer): boolean {
  const text = body.toString('latin1');
  if (pairsOf(text).some(isMethodParam)) return true;
  // Every Content-Disposition header in the body, wherever the boundaries are.
  for (const line of text.split(/\r?\n/)) {
    if (!/^\s*content-disposition\s*:/i.test(line)) continue;
    for (const m of line.matchAll(/(?:^|[;:\s])name(\*?)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/gi)) {
      let value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
      if (m[1] === '*') value = value.replace(/^[^']*'[^']*'/, ''); // RFC 5987: charset'lang'percent-encoded
      if (isMethodParam(value)) return true;
    }
  }
  return false;
}

/** The names of `a=1&b=2;c` (Rack also splits on `;`). */
function pairsOf(query: string): string[] {
  return query.split(/[&;]/).map((pair) => pair.split('=', 1)[0]!);
}

/** Percent-decoding that never throws: a malformed escape stays as it is, a byte becomes one char. */
function decodeLoosely(s: string): string {
  return s.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
