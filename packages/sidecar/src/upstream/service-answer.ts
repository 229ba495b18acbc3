// The answers of an internal endpoint that masks: every one is masked, whatever its status, or
// replaced by a 502 that says why it could not be (issue 14 class 6). Its headers are part of
// the answer, so the detectors run on them too.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Masking } from '@scopekeeper/core';
import type { RelayResult } from './response.ts';

/**
 * Response headers the sidecar sets or reads itself and that carry nothing of the service's
 * data. Every other one (etag, last-modified, vary, cache-control, …: a service can put anything
 * there) is masked, and so are content-type's parameters (its media type is kept).
 */
const DESCRIPTIVE = new Set(['content-length', 'content-encoding', 'date']);

/** An answer's headers are part of it (a masking service's, and the model API's through a scope that masks): detectors run on their values too. */
export function maskHeaderValues(headers: Record<string, string | string[]>, masking: Masking): Record<string, number> | undefined {
  let counts: Record<string, number> | undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (DESCRIPTIVE.has(k) || k.startsWith('x-scopekeeper-')) continue;
    const values = Array.isArray(v) ? v : [v];
    let changed = false;
    const out = values.map((x) => {
      // content-type: the media type is what the caller parses the body as; its parameters are text
      const at = k === 'content-type' ? x.indexOf(';') : 0;
      if (at < 0) return x;
      const r = masking.maskText(x.slice(at));
      if (!r.changed) return x;
      changed = true;
      counts ??= {};
      for (const c in r.counts) counts[c] = (counts[c] ?? 0) + r.counts[c]!;
      return x.slice(0, at) + r.text;
    });
    if (changed) headers[k] = Array.isArray(v) ? out : out[0]!;
  }
  return counts;
}

const JSON_TYPE = /^application\/(json|[\w.+-]+\+json)\s*(;|$)/i;
const ENCODINGS = new Set(['', 'identity', 'gzip', 'x-gzip', 'deflate', 'br', 'zstd']);

/** Why a masking service's answer cannot be masked, judged from its headers; undefined when it can. */
export function unmaskable(contentType: string, encoding: string | string[] | undefined, isSse: boolean): string | undefined {
  if (isSse) return 'the service answered with an event stream';
  if (contentType !== '' && !JSON_TYPE.test(contentType.trim()))
    return `the service answered ${contentType.split(';')[0]!.trim().slice(0, 64)}, not JSON`;
  if (!decodable(encoding)) return `the service answered with content-encoding ${encodingName(encoding)}`;
  return undefined;
}

/** A content-encoding as the refusal shows it (bounded: it is the upstream's text). */
export function encodingName(encoding: string | string[] | undefined): string {
  return (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase().slice(0, 32);
}

/** What the caller is told to do about an answer that could not be masked, by what was wrong with it. */
const NEXT_STEP = {
  shape: 'the endpoint masks data, so the service must answer JSON in UTF-8 (the sidecar asks for Accept: application/json)',
  size: 'ask for less at a time (a page of results, a shorter answer)',
  model:
    'the scope masks data, so the model API must answer JSON or an event stream in UTF-8, plain or in gzip, deflate, br or zstd; retry, and if it persists check what --upstream points at',
  thinking:
    'thinking passes unmasked only where the request asks for it (a changed thinking block breaks its signature); retry, and if the model thinks unasked, enable thinking in the request where the scope allows it, or choose a model that does not',
} as const;

/** What the caller is told about an answer of the model API, or of a service (`shape`), that could not be masked. */
export function unmaskableMessage(why: string, problem: keyof typeof NEXT_STEP): string {
  const of = {
    size: 'this answer',
    shape: 'this answer of the internal service',
    model: 'this answer of the model API',
    thinking: 'this answer of the model API',
  }[problem];
  return `scopekeeper could not mask ${of} (${why}), so it was not delivered; ${NEXT_STEP[problem]}.`;
}

/** Content-encodings the sidecar decodes (upstream/decode.ts): any other body cannot be read to mask it. */
export function decodable(encoding: string | string[] | undefined): boolean {
  return ENCODINGS.has((Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase());
}

/**
 * An answer that must be masked and cannot be: a 502 that says why, nothing of the body. `size`:
 * it holds more JSON than the sidecar parses (a service's or the model API's); `shape`: an
 * internal service's that is not JSON in UTF-8; `model`: the model API's that is not readable text;
 * `thinking`: the model API's with thinking the request did not ask for (upstream/thinking.ts).
 */
export function refuseUnmaskable(
  upstream: Readable,
  res: ServerResponse,
  why: string,
  extra: Record<string, string>,
  problem: keyof typeof NEXT_STEP = 'shape',
): RelayResult {
  upstream.resume();
  upstream.destroy();
  const body = JSON.stringify({ type: 'error', error: { type: 'api_error', message: unmaskableMessage(why, problem) } });
  res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
  return { status: 502, error: `unmaskable ${problem === 'shape' ? 'service answer' : 'answer'}: ${why}` };
}
