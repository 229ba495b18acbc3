// Errors of our own, in the shape the Anthropic SDKs parse, so an agent shows the message
// verbatim instead of a generic "request failed".

export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

export const ERROR_STATUS: Record<AnthropicErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 502,
  timeout_error: 504,
  overloaded_error: 529,
};

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
  request_id?: string;
}

export function errorBody(type: AnthropicErrorType, message: string, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = { type: 'error', error: { type, message } };
  if (requestId) body.request_id = requestId;
  return body;
}

/** A ready-to-send error: status, JSON text and the body object. */
export function anthropicError(type: AnthropicErrorType, message: string, requestId?: string, status = ERROR_STATUS[type]) {
  const body = errorBody(type, message, requestId);
  return { status, body, json: JSON.stringify(body) };
}

/** The same error as one SSE event, for failures after a 200 has started streaming. */
export function sseErrorEvent(type: AnthropicErrorType, message: string): string {
  return `event: error\ndata: ${JSON.stringify(errorBody(type, message))}\n\n`;
}
