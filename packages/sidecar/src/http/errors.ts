// Our own error responses: Anthropic's shape, the decision and request id headers, and a
// message that says what to do next.
import type { ServerResponse } from 'node:http';
import { anthropicError, type AnthropicErrorType } from '@scopekeeper/core';

export function sendError(res: ServerResponse, type: AnthropicErrorType, message: string, requestId: string, extra: Record<string, string> = {}, status?: number): number {
  const e = anthropicError(type, message, requestId, status);
  if (res.headersSent) {
    res.destroy();
    return e.status;
  }
  res.writeHead(e.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(e.json),
    'x-scopekeeper-request-id': requestId,
    ...extra,
  });
  res.end(e.json);
  return e.status;
}
