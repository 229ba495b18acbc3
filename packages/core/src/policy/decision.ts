// What decide() is asked and what it answers: the request kinds a scope can be fitted to, the
// reason codes, and the decision every stage after it reads.
import type { ModelScopeSpecEndpoint } from '../types/generated.ts';
import type { MessagesRequestFacts } from '../anthropic/inspect.ts';
import type { CompiledScope } from './compile.ts';
import type { DataRules } from './data-rules.ts';
import type { SubjectRef } from './identity.ts';

export type PolicyRequest =
  | { route: 'messages' | 'count_tokens'; facts: MessagesRequestFacts }
  | { route: 'models' }
  | { route: 'service'; endpoint: string; method: string; path: string }
  /** One JSON-RPC message to an MCP endpoint; `url` is where the sidecar forwards it (that endpoint's URL). */
  | { route: 'mcp'; endpoint: string; url: string; call: McpCall };

/** What one JSON-RPC message to an MCP endpoint asks for (core/mcp/inspect.ts reads it). */
export type McpCall =
  /** initialize, ping, the list methods, known notifications, answers to the server: pass when the endpoint does. */
  | { kind: 'protocol'; method: string }
  /** tools/call of the server's tool `tool`, named mcp__<endpoint>__<tool> for policy. */
  | { kind: 'tool'; method: string; tool: string }
  | { kind: 'resource'; method: string; uri: string }
  | { kind: 'prompt'; method: string; prompt: string }
  /** A method scopekeeper does not know: passes only when endpoints[].mcp.methods lists it. */
  | { kind: 'method'; method: string };

export type ReasonCode =
  | 'Allowed'
  | 'AuditOnlyExpiredReview'
  | 'NoMatchingScope'
  | 'ScopeNotPinned'
  | 'NoReview'
  | 'ReviewPending'
  | 'ReviewRevoked'
  | 'ReviewExpired'
  | 'ReviewPeriodExceeded'
  | 'ReviewSelfApproval'
  | 'ModelNotAllowed'
  | 'MaxTokensExceeded'
  | 'StreamingNotAllowed'
  | 'ThinkingNotAllowed'
  | 'ToolDenied'
  | 'ToolNotAllowed'
  | 'McpServerNotAllowed'
  | 'UnknownRequestField'
  | 'EndpointNotAllowed'
  | 'MethodNotAllowed'
  | 'PathNotAllowed'
  | 'EndpointNotMcp'
  | 'McpMethodNotAllowed'
  | 'McpResourceNotAllowed'
  | 'McpPromptNotAllowed'
  | 'ApprovalRequired'
  | 'ApprovedJustInTime';

export interface Reason {
  code: ReasonCode;
  /** The field of the scope the reason comes from, e.g. spec.models. */
  rule: string;
  detail: string;
}

export interface ApprovalRequest {
  scope: string;
  namespace: string;
  subject: SubjectRef;
  model?: string;
  tools: string[];
  /** Stable for the same subject + scope + model + approval-gated tools: deduplicates held requests. */
  fingerprint: string;
}

export interface Decision {
  effect: 'allow' | 'deny' | 'approval-required';
  reasons: Reason[];
  message: string;
  scope?: string;
  namespace?: string;
  review?: string;
  auditOnly?: boolean;
  approval?: ApprovalRequest;
  endpoint?: ModelScopeSpecEndpoint;
  compiled?: CompiledScope;
  /** On an allow: the data rules of every scope naming the caller (or the pinned one), whichever scope allowed. */
  data?: DataRules;
}

/**
 * The error type of a denial: a request that is refused only for parts scopekeeper does not
 * know is an invalid request (400), anything else a permission error (403).
 */
export function denialErrorType(d: Decision): 'invalid_request_error' | 'permission_error' {
  return d.reasons.length > 0 && d.reasons.every((r) => r.code === 'UnknownRequestField') ? 'invalid_request_error' : 'permission_error';
}
