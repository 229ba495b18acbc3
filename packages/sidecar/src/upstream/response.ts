// Relays an upstream response to the caller: SSE event by event (relay-sse.ts), JSON in one
// piece (masked, usage read), errors and what need not be read unchanged.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { decoder } from './decode.ts';
import type { UpstreamResponse } from './forwarder.ts';
import { isEventStream, responseHeaderFilter } from '../http/headers.ts';
import { decodable, encodingName, maskHeaderValues, refuseUnmaskable, unmaskable } from './service-answer.ts';
import { relaySse, type Leg } from './relay-sse.ts';
import { messageHasThinking, UNINVITED_THINKING } from './thinking.ts';
import {
  anthropicError,
  compileMasking,
  maskingBlockedMessage,
  parseJson,
  MAX_JSON_VALUES,
  thousands,
  toolsUsedIn,
  usageOf,
  type Masking,
  type StreamUsage,
} from '@scopekeeper/core';
import { BodyBudgetError, type BodyLease } from '../http/body-budget.ts';
import { REFUSALS } from '../http/refusals.ts';

export interface RelayResult {
  status: number;
  usage?: StreamUsage;
  /** Tools the model invoked in the response. */
  toolsUsed?: string[];
  masked?: Record<string, number>;
  blocked?: string;
  /** Why the response did not complete as the upstream sent it. */
  error?: string;
}

const MAX_BUFFERED = 64 * 1024 * 1024;

/** Why the masker left a body alone, as refuseUnmaskable says it. */
const SKIPPED = {
  binary: 'its body is not UTF-8 text',
  'not-json': 'its body is not JSON',
  'too-large': `it holds more than ${thousands(MAX_JSON_VALUES)} JSON values`,
} as const;

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const k in from) into[k] = (into[k] ?? 0) + from[k]!;
}

export interface RelayOptions {
  masking?: Masking;
  /** JSONPath fields to mask (internal services). */
  maskFields?: string[];
  /** Whether this is a Messages API response (usage is read, SSE is parsed). */
  messages: boolean;
  /**
   * Messages: whether the request asked for a stream. The SDKs then read the body as an event
   * stream whatever its content-type says, and otherwise as JSON; so does the masker.
   */
  stream?: boolean;
  /** Messages: whether the request enabled thinking; a masked answer with thinking unasked is refused (upstream/thinking.ts). */
  thinking?: boolean;
  extraHeaders: Record<string, string>;
  /** The body budget's share for an answer read whole, or a stream's event still arriving (given back by the caller once it is relayed). */
  lease?: BodyLease;
}

export function relayResponse(from: UpstreamResponse, res: ServerResponse, opts: RelayOptions): Promise<RelayResult> {
  const upstream = from.body;
  const status = from.status;
  const contentType = String(from.headers['content-type'] ?? '');
  // Messages: what the client reads the body as (the request's stream flag; an error answer, any
  // status of 400 or more, as JSON), not what the upstream calls it; otherwise the media type, as
  // the client compares it: in any case.
  const isSse = opts.messages && opts.stream !== undefined ? opts.stream && status < 400 : isEventStream(contentType);
  const masking = opts.masking?.active ? opts.masking : undefined;
  // An internal service whose answers are masked: every answer, whatever its status, is read
  // and masked, or replaced by a 502 when it cannot be.
  const maskingService = !opts.messages && (masking !== undefined || (opts.maskFields?.length ?? 0) > 0);
  // A Messages error answer is masked too: the SDKs put its text in the error the app reads.
  const mustRead =
    maskingService ||
    (status < 400 ? masking !== undefined || opts.maskFields?.length || opts.messages : opts.messages && masking !== undefined);
  const headers: Record<string, string | string[]> = {};
  const relayed = responseHeaderFilter(from.headers);
  for (const k in from.headers) {
    const v = from.headers[k];
    if (v !== undefined && relayed(k)) headers[k] = v;
  }
  for (const k in opts.extraHeaders) headers[k] = opts.extraHeaders[k]!;

  // Unmasked errors and anything we do not need to read pass through byte for byte.
  if (!mustRead) {
    res.writeHead(status, headers);
    return pipeThrough(upstream, res, status);
  }
  // A body the sidecar cannot decode cannot be masked: the caller would decode it, unmasked.
  if (masking && !maskingService && !decodable(from.headers['content-encoding']))
    return Promise.resolve(
      refuseUnmaskable(upstream, res, `content-encoding ${encodingName(from.headers['content-encoding'])}`, opts.extraHeaders, 'model'),
    );
  if (maskingService) {
    const why = unmaskable(contentType, from.headers['content-encoding'], isSse);
    if (why !== undefined) return Promise.resolve(refuseUnmaskable(upstream, res, why, opts.extraHeaders));
  }
  // The answer's headers are part of it, a service's and the model API's alike: the SDKs hand
  // them to the app (`withResponse()`, an error's `headers`), so the detectors run on them too.
  const headerCounts = masking ? maskHeaderValues(headers, masking) : undefined;
  // We read this body, so we decode it; the caller then gets it uncompressed.
  const decode = decoder(from.headers['content-encoding'] as string | undefined);
  const source: NodeJS.ReadableStream = decode ? upstream.pipe(decode) : upstream;
  if (decode) delete headers['content-encoding'];
  let relaying: Promise<RelayResult>;
  if (isSse) {
    delete headers['content-length'];
    res.writeHead(status, headers);
    relaying = relaySse({ upstream, source, res, status }, opts.messages, masking, opts.lease, opts.thinking === true);
  } else relaying = relayWhole({ upstream, source, res, status }, headers, opts, masking);
  if (headerCounts === undefined) return relaying;
  return relaying.then((r) => {
    const masked = { ...(r.masked ?? {}) };
    addCounts(masked, headerCounts);
    return { ...r, masked };
  });
}

function pipeThrough(upstream: Readable, res: ServerResponse, status: number): Promise<RelayResult> {
  return new Promise((resolve) => {
    upstream.pipe(res);
    upstream.once('end', () => resolve({ status }));
    upstream.on('error', () => undefined); // reported by 'close' below
    upstream.once('close', () => {
      if (!upstream.readableEnded) {
        res.destroy();
        resolve({ status, error: 'the upstream connection closed before the response was complete' });
      }
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  });
}

/** Usage and the tools invoked, from a whole Messages response; the parsed response (undefined when it is not JSON). */
function readUsage(body: Buffer, result: RelayResult): unknown {
  try {
    const message = parseJson(body.toString('utf8')) as { usage?: unknown };
    if (message.usage) result.usage = usageOf(message.usage);
    result.toolsUsed = toolsUsedIn(message);
    return message;
  } catch {
    // Not JSON (or more of it than the sidecar parses): nothing to count.
    return undefined;
  }
}

function relayWhole(
  leg: Leg,
  headers: Record<string, string | string[]>,
  opts: RelayOptions,
  masking: Masking | undefined,
): Promise<RelayResult> {
  const { upstream, source, res, status } = leg;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (why: string, busy = false) => {
      if (failed) return;
      failed = true;
      upstream.destroy();
      // No room in the budget is the caller's 529 to retry, as for a body (http/refusals.ts).
      const r = busy ? REFUSALS.answerBusy : undefined;
      const message = r?.message({ why, reasons: [] }) ?? `The upstream response could not be relayed (${why}); retry the request.`;
      const e = anthropicError(r?.type ?? 'api_error', message, undefined, r?.status ?? 502);
      if (!res.headersSent)
        res.writeHead(e.status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(e.json),
          ...r?.headers?.({ why, reasons: [] }),
          ...opts.extraHeaders,
        });
      res.end(e.json);
      resolve({ status: e.status, error: busy ? `body budget: ${why}` : why });
    };
    source.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BUFFERED) return fail(`body over ${MAX_BUFFERED} bytes`);
      try {
        opts.lease?.take(c.length);
      } catch (e) {
        return fail((e as Error).message, e instanceof BodyBudgetError);
      }
      chunks.push(c);
    });
    source.once('error', (e: Error) => fail(e.message));
    if (source !== upstream) upstream.on('error', (e: Error) => fail(e.message));
    upstream.once('close', () => {
      if (!upstream.readableEnded) fail('connection reset');
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    source.once('end', () => {
      try {
        end();
      } catch (e) {
        fail(`relay failed: ${(e as Error).message}`);
      }
    });
    const end = () => {
      if (failed) return;
      let body: Buffer = Buffer.concat(chunks, size);
      const result: RelayResult = { status };
      // (an empty body holds nothing to mask; an empty Messages answer of 200 is refused below as not JSON)
      const masks = (masking || opts.maskFields?.length) && !(body.length === 0 && (!opts.messages || status >= 400));
      if (!masks) {
        // Nothing to change: the caller gets the body first, usage is read after.
        headers['content-length'] = String(body.length);
        res.writeHead(status, headers);
        res.end(body);
        if (opts.messages) readUsage(body, result);
        return resolve(result);
      }
      const message = opts.messages ? readUsage(body, result) : undefined;
      if (masking && !opts.thinking && messageHasThinking(message))
        return resolve({ ...refuseUnmaskable(upstream, res, UNINVITED_THINKING, opts.extraHeaders, 'thinking'), usage: result.usage });
      const m = opts.messages ? masking!.maskMessageJson(body) : (masking ?? NO_MASKING()).maskServiceJson(body, opts.maskFields ?? []);
      // A Messages answer the masker could not read (too large, not UTF-8) is not delivered either:
      // the caller would get it unmasked (an SDK decodes stray bytes as U+FFFD and the rest as sent).
      if (m.skipped !== undefined) {
        return resolve(
          refuseUnmaskable(
            upstream,
            res,
            SKIPPED[m.skipped],
            opts.extraHeaders,
            m.skipped === 'too-large' ? 'size' : opts.messages ? 'model' : 'shape',
          ),
        );
      }
      if (m.blocked) {
        const err = JSON.stringify({ type: 'error', error: { type: 'permission_error', message: maskingBlockedMessage(m.blocked) } });
        res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(err), ...opts.extraHeaders });
        res.end(err);
        resolve({ status: 403, blocked: m.blocked, masked: { ...m.counts }, usage: result.usage, toolsUsed: result.toolsUsed });
        return;
      }
      body = m.body;
      result.masked = {};
      addCounts(result.masked, m.counts);
      headers['content-length'] = String(body.length);
      res.writeHead(status, headers);
      res.end(body);
      resolve(result);
    };
  });
}

let noDetectors: Masking | undefined;
/** maskFields without detectors still needs an engine to walk the JSON. */
function NO_MASKING(): Masking {
  return (noDetectors ??= compileMasking(undefined));
}
