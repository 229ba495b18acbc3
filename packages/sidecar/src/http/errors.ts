// Our own error responses: Anthropic's shape, the decision and request id headers, and a
// message that says what to do next.
import { STATUS_CODES, validateHeaderName, validateHeaderValue, type ServerResponse } from 'node:http';
import { anthropicError, type AnthropicErrorType } from '@scopekeeper/core';

/** What goes wrong, in Anthropic's terms; `status` only where it differs from the type's usual one. */
export interface ErrorReply {
  type: AnthropicErrorType;
  message: string;
  status?: number;
}

export function sendError(res: ServerResponse, err: ErrorReply, requestId: string, extra: Record<string, string> = {}): number {
  const e = anthropicError(err.type, err.message, requestId, err.status);
  if (res.headersSent) {
    res.destroy();
    return e.status;
  }
  res.writeHead(e.status, errorHeaders(e.json, requestId, extra));
  res.end(e.json);
  return e.status;
}

/**
 * The same answer as the whole text of an HTTP/1.1 response that closes its connection: for a
 * connection answered before anything of it is read (so without a ServerResponse, and without
 * the checks writeHead makes: a header that is not valid throws here as it would there).
 */
export function errorResponseText(err: ErrorReply, requestId: string, extra: Record<string, string> = {}): string {
  const e = anthropicError(err.type, err.message, requestId, err.status);
  let head = `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'unknown'}\r\n`;
  for (const [k, v] of Object.entries({ ...errorHeaders(e.json, requestId, extra), connection: 'close' })) {
    validateHeaderName(k);
    validateHeaderValue(k, v);
    head += `${k}: ${v}\r\n`;
  }
  return `${head}\r\n${e.json}`;
}

function errorHeaders(json: string, requestId: string, extra: Record<string, string>): Record<string, string | number> {
  return { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), 'x-scopekeeper-request-id': requestId, ...extra };
}
