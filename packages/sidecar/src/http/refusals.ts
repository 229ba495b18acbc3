// Every answer the sidecar gives of its own instead of the upstream's: its Anthropic error type,
// HTTP status, audit decision, reason code and the message that tells the caller what to do next.
// Stages name a refusal and pass its details; `refuse()` (pipeline/refuse.ts) sends and records it.
import type { AnthropicErrorType, AuditDecision } from '@scopekeeper/core';
import { BODY_BUDGET_RETRY_AFTER_S } from './body-budget.ts';
import { CONNECTIONS_RETRY_AFTER_S } from './connections.ts';
import { overloadMessage, type Overload } from './overload.ts';

export interface Refusal<A> {
  type: AnthropicErrorType;
  status: number;
  decision: AuditDecision;
  /** Reason code in the audit record and the requests metric (unless `reasons` says otherwise). */
  code: string;
  message: (a: A) => string;
  /** Reason codes when they come from elsewhere (the policy decision, the verifier). */
  reasons?: (a: A) => string[];
  headers?: (a: A) => Record<string, string>;
  /** The message also goes into the audit record's `error` (failures, not refusals). */
  auditError?: boolean;
}

const refusal = <A = void>(r: Refusal<A>): Refusal<A> => r;

export const REFUSALS = {
  notFound: refusal<{ method: string; path: string }>({
    type: 'not_found_error',
    status: 404,
    decision: 'deny',
    code: 'NotFound',
    message: (a) =>
      `scopekeeper serves POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models and /services/<endpoint>/...; ${a.method} ${a.path.slice(0, 200)} is not one of them.`,
  }),
  targetRejected: refusal<{ method: string; problem: string }>({
    type: 'invalid_request_error',
    status: 400,
    decision: 'deny',
    code: 'TargetRejected',
    message: (a) => `Refused ${a.method}: the request target ${a.problem}.`,
  }),
  badRequest: refusal({
    type: 'invalid_request_error',
    status: 400,
    decision: 'deny',
    code: 'BadRequest',
    message: () => 'The request could not be parsed (for example, its path is not valid percent-encoding); send a well-formed request.',
  }),
  internalError: refusal({
    type: 'api_error',
    status: 500,
    decision: 'error',
    code: 'InternalError',
    message: () => 'scopekeeper failed to handle this request; retry, and check the sidecar logs if it persists.',
    auditError: true,
  }),
  overloaded: refusal<Overload>({
    type: 'overloaded_error',
    status: 529,
    decision: 'error',
    code: 'Overloaded',
    message: overloadMessage,
    headers: (a) => ({ 'retry-after': String(a.retryAfterSeconds) }),
  }),
  /** A request on a connection kept past --max-connections (http/connections.ts): answered, and the connection closed. */
  tooManyConnections: refusal<{ open: number; max: number }>({
    type: 'overloaded_error',
    status: 529,
    decision: 'error',
    code: 'Connections',
    message: (a) =>
      `scopekeeper has ${a.open} connections open, more than --max-connections (${a.max}); retry after ${CONNECTIONS_RETRY_AFTER_S} s on a new connection.`,
    headers: () => ({ 'retry-after': String(CONNECTIONS_RETRY_AFTER_S) }),
  }),
  clientClosed: refusal<{ where: string }>({
    type: 'api_error',
    status: 499,
    decision: 'error',
    code: 'ClientClosed',
    message: (a) => `the client closed the connection ${a.where}`,
    auditError: true,
  }),
  /** endpoints[].auth names a token this sidecar was not given (or cannot read). */
  endpointCredentialUnavailable: refusal<{ message: string }>({
    type: 'api_error',
    status: 503,
    decision: 'error',
    code: 'EndpointCredentialUnavailable',
    message: (a) => `scopekeeper did not send this request: ${a.message}`,
    auditError: true,
  }),
  upstreamKeyUnavailable: refusal({
    type: 'api_error',
    status: 503,
    decision: 'error',
    code: 'UpstreamKeyUnavailable',
    message: () =>
      'scopekeeper cannot read its upstream API key, so the request was not sent; restore the key Secret (see the sidecar logs).',
  }),
  unauthenticated: refusal<{ message: string; code?: string }>({
    type: 'authentication_error',
    status: 401,
    decision: 'deny',
    code: 'Unauthenticated',
    message: (a) => a.message,
    reasons: (a) => [a.code ? `Unauthenticated:${a.code}` : 'Unauthenticated'],
  }),
  policyUnavailable: refusal<{ lastError?: string }>({
    type: 'api_error',
    status: 503,
    decision: 'error',
    code: 'PolicyUnavailable',
    message: (a) =>
      `scopekeeper has no current policy (${a.lastError ?? 'not loaded yet'}); requests are refused until it has. Check the sidecar's logs and /readyz.`,
  }),
  requestTooLarge: refusal<{ size: string; limit: number }>({
    type: 'request_too_large',
    status: 413,
    decision: 'deny',
    code: 'RequestTooLarge',
    message: (a) =>
      `The request body is too large (${a.size}); the sidecar accepts up to ${a.limit} bytes. Shorten the conversation, or raise --max-body-bytes (with --max-buffered-bytes and the sidecar's memory limit).`,
    // The rest of an oversized body is not read (nor drained): close the connection.
    headers: () => ({ connection: 'close' }),
  }),
  bodyTimeout: refusal<{ received: string; ms: number }>({
    type: 'invalid_request_error',
    status: 408,
    decision: 'error',
    code: 'BodyTimeout',
    message: (a) =>
      `The request body did not arrive in time (${a.received} within ${a.ms / 1000} s of the headers); send the whole body without pausing.`,
    // What is left of the body is not read: close the connection.
    headers: () => ({ connection: 'close' }),
  }),
  /** http/body-budget.ts: the bodies of other requests take the budget; the SDKs retry a 529. */
  bodiesBusy: refusal<{ why: string }>({
    type: 'overloaded_error',
    status: 529,
    decision: 'error',
    code: 'BodyBudget',
    message: (a) => `scopekeeper did not keep this request's body: ${a.why}; retry after ${BODY_BUDGET_RETRY_AFTER_S} s.`,
    headers: () => ({ 'retry-after': String(BODY_BUDGET_RETRY_AFTER_S) }),
  }),
  /**
   * upstream/response.ts: an answer read whole (to mask it, count it, filter a model list) that
   * does not fit in the budget beside the bodies in flight; the SDKs retry a 529. (A stream's
   * event that does not fit ends the stream with the same error type: upstream/relay-sse.ts.)
   */
  answerBusy: refusal<{ why: string; reasons: string[] }>({
    type: 'overloaded_error',
    status: 529,
    decision: 'allow',
    code: 'BodyBudget',
    message: (a) => `scopekeeper has no room to hold the upstream's answer now (${a.why}); retry after ${BODY_BUDGET_RETRY_AFTER_S} s.`,
    reasons: (a) => a.reasons,
    headers: () => ({ 'retry-after': String(BODY_BUDGET_RETRY_AFTER_S) }),
    auditError: true,
  }),
  /** http/body.ts compressedAs: a body decided on as sent must be forwarded as sent. */
  compressedBody: refusal<{ encoding: string }>({
    type: 'invalid_request_error',
    status: 415,
    decision: 'deny',
    code: 'ContentEncoding',
    message: (a) =>
      `scopekeeper checks this request's body as sent and does not forward it with content-encoding ${a.encoding}: a server that decodes it would read a request that was never checked; send the body uncompressed, without Content-Encoding.`,
  }),
  bodyUnreadable: refusal<{ why: string }>({
    type: 'invalid_request_error',
    status: 400,
    decision: 'error',
    code: 'BodyUnreadable',
    message: (a) => `The request body could not be read (${a.why}); send it again.`,
  }),
  invalidRequest: refusal<{ message: string }>({
    type: 'invalid_request_error',
    status: 400,
    decision: 'deny',
    code: 'InvalidRequest',
    message: (a) => a.message,
  }),
  pathRejected: refusal<{ method: string; problem: string }>({
    type: 'invalid_request_error',
    status: 400,
    decision: 'deny',
    code: 'PathRejected',
    message: (a) => `Refused ${a.method} on /services: ${a.problem}.`,
  }),
  methodOverride: refusal<{ method: string; problem: string }>({
    type: 'invalid_request_error',
    status: 400,
    decision: 'deny',
    code: 'MethodOverride',
    message: (a) => `Refused ${a.method} on /services: the form body ${a.problem}.`,
  }),
  permissionDenied: refusal<{ message: string; reasons: string[] }>({
    type: 'permission_error',
    status: 403,
    decision: 'deny',
    code: 'Denied',
    message: (a) => a.message,
    reasons: (a) => a.reasons,
  }),
  /** The policy refuses only fields, betas or block types it does not know (core's denialErrorType). */
  requestNotAllowed: refusal<{ message: string; reasons: string[] }>({
    type: 'invalid_request_error',
    status: 400,
    decision: 'deny',
    code: 'UnknownRequestField',
    message: (a) => a.message,
    reasons: (a) => a.reasons,
  }),
  // A held request names its Pending review; one for which none could be written names none.
  approvalRequired: refusal<{ message: string; reasons: string[]; ref?: string }>({
    type: 'permission_error',
    status: 403,
    decision: 'approval-required',
    code: 'ApprovalRequired',
    message: (a) => a.message,
    reasons: (a) => a.reasons,
    headers: (a): Record<string, string> => (a.ref ? { 'x-scopekeeper-approval': a.ref } : {}),
  }),
  auditUnavailable: refusal({
    type: 'api_error',
    status: 503,
    decision: 'error',
    code: 'AuditUnavailable',
    message: () =>
      'The audit log cannot be written and --audit-required is set, so requests are refused; restore the audit sink (see the sidecar logs and /readyz).',
  }),
  upstreamUnreachable: refusal<{ what: string; code: string; reasons: string[] }>({
    type: 'api_error',
    status: 502,
    decision: 'allow',
    code: 'UpstreamUnreachable',
    message: (a) => `${a.what} could not be reached (${a.code}); retry later, and check --upstream or the endpoint URL if it persists.`,
    reasons: (a) => a.reasons,
    auditError: true,
  }),
  upstreamTimeout: refusal<{ what: string; timeoutMs: number; reasons: string[] }>({
    type: 'timeout_error',
    status: 504,
    decision: 'allow',
    code: 'UpstreamTimeout',
    message: (a) => `${a.what} did not answer within ${a.timeoutMs} ms; retry later.`,
    reasons: (a) => a.reasons,
    auditError: true,
  }),
  modelListUnreadable: refusal<{ reasons: string[] }>({
    type: 'api_error',
    status: 502,
    decision: 'allow',
    code: 'ModelListUnreadable',
    message: () => 'The model list from the upstream was not JSON; retry later.',
    reasons: (a) => a.reasons,
    auditError: true,
  }),
} as const;

export type RefusalName = keyof typeof REFUSALS;
export type RefusalArgs<K extends RefusalName> = (typeof REFUSALS)[K] extends Refusal<infer A> ? A : never;
