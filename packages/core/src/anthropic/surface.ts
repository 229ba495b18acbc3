// What scopekeeper knows of the Messages API request surface. Anything outside these lists is
// refused (400 naming it) unless a scope lists it in spec.limits.betas: a field, beta, tool type
// or content block type we do not know could give the model a capability the scope never sees.
//
// Built from the API reference as published in @anthropic-ai/sdk 1.14 (MessageCreateParams,
// MessageCountTokensParams, BetaToolUnion, BetaContentBlockParam, AnthropicBeta) plus what the
// real @anthropic-ai/sdk and @anthropic-ai/claude-agent-sdk send today (captured against the
// local stub: packages/sidecar/test/sdk.test.ts asserts they keep passing).

/** Top-level request fields of POST /v1/messages and /v1/messages/count_tokens. */
export const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'model',
  'messages',
  'max_tokens',
  'system',
  'metadata',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'service_tier',
  'container',
  'mcp_servers',
  'context_management',
  'output_config',
  'output_format',
  'cache_control',
  'compaction',
  'diagnostics',
  'fallbacks',
  'inference_geo',
  'speed',
  'thread',
  // billing and tenancy fields of the API: no capability for the model, but they are known
  'billing_policy',
  'fallback_credit_token',
  'user_profile_id',
  'workspace_id',
]);

/**
 * The API's field names, as it spells them, in the objects whose shape it defines and
 * capabilities.ts reads: the request's own fields (a fallback's are among them), and those of
 * tool definitions, MCP servers, mcp_toolset entries, container, skills, thread, content blocks
 * and their sources. A key of such an object that is not spelt as one of them but equals one
 * under case folding is refused there.
 */
export const API_FIELDS: ReadonlySet<string> = new Set([
  ...KNOWN_FIELDS,
  // tool definitions, tool additions and mcp_toolset entries
  'type',
  'name',
  'description',
  'input_schema',
  'display_width_px',
  'display_height_px',
  'mcp_server_name',
  'default_config',
  'configs',
  'tool',
  'definition',
  // MCP servers (capabilities.ts: MCP_SERVER_FIELDS, MCP_TOOL_CONFIGURATION_FIELDS)
  'url',
  'authorization_token',
  'tool_configuration',
  'allowed_tools',
  'enabled',
  // container and its skills, thread, a thinking configuration (its type and budget_tokens)
  'id',
  'skills',
  'skill_id',
  'version',
  'previous_message_id',
  'budget_tokens',
  // content blocks and their sources
  'text',
  'content',
  'source',
  'file_id',
  'tool_use_id',
  'input',
  'cache_control',
  'citations',
  'media_type',
  'data',
  'title',
  'context',
]);
/** What capabilities.ts reads of any other object inside a content block (a document in a fetch result, a code execution output). */
export const FILE_ID_FIELD: ReadonlySet<string> = new Set(['file_id']);

/** anthropic-beta values. */
export const KNOWN_BETAS: ReadonlySet<string> = new Set([
  // sent by the Claude Agent SDK (claude-cli 2.x) today
  'claude-code-20250219',
  'interleaved-thinking-2025-05-14',
  'context-management-2025-06-27',
  'thinking-token-count-2026-05-13',
  'advanced-tool-use-2025-11-20',
  'thinking-display-updates-2026-08-18',
  'fine-grained-tool-streaming-2025-05-14',
  // sent by the Claude Agent SDK for Opus-class models (it rewrites claude-opus-4-1 to its current Opus)
  'effort-2025-11-24',
  'per-turn-control-2026-07-01',
  // sent by the Claude Agent SDK on other paths (its CLI names them): request shaping, caching and
  // output features whose fields and tools are checked on their own
  'structured-outputs-2025-12-15',
  'redact-thinking-2026-02-12',
  'prompt-caching-scope-2026-01-05',
  'prompt-caching-evict-2026-05-12',
  'context-hint-2026-04-09',
  'mid-conversation-system-2026-04-07',
  'cache-keepalive-2026-09-03',
  'thinking-resumption-2026-07-17',
  'tool-search-tool-2025-10-19',
  'web-search-2025-03-05',
  // the API reference (AnthropicBeta)
  'message-batches-2024-09-24',
  'prompt-caching-2024-07-31',
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'pdfs-2024-09-25',
  'token-counting-2024-11-01',
  'token-efficient-tools-2025-02-19',
  'output-128k-2025-02-19',
  'output-300k-2026-03-24',
  'files-api-2025-04-14',
  'mcp-client-2025-04-04',
  'mcp-client-2025-11-20',
  'mcp-client-2026-09-15',
  'dev-full-thinking-2025-05-14',
  'code-execution-2025-05-22',
  'extended-cache-ttl-2025-04-11',
  'context-1m-2025-08-07',
  'model-context-window-exceeded-2025-08-26',
  'skills-2025-10-02',
  'structured-outputs-2025-11-13',
  'compact-2026-01-12',
  'compact-2026-09-04',
  'fast-mode-2026-02-01',
  'advisor-tool-2026-03-01',
  'task-budgets-2026-03-13',
  'cache-diagnosis-2026-04-07',
  'server-side-fallback-2026-06-01',
  'server-side-fallback-2026-07-01',
  'fallback-credit-2026-06-01',
  'fallback-credit-2026-07-01',
  'mid-conversation-tool-changes-2026-07-01',
  'mid-conversation-output-config-2026-07-01',
  'mid-conversation-system-clear-at-2026-08-21',
  'thinking-binding-controls-2026-08-01',
  'message-threads-2026-08-12',
  'inline-tools-2026-09-15',
  'user-profiles-2026-03-24',
  'user-profiles-2026-08-18',
  'user-profiles-2026-09-04',
  'agent-memory-2026-07-22',
]);

/**
 * Anthropic-defined tool types, by the name the scope's tools rules use for them: the type
 * without its version date (web_search_20250305 → web_search). The request's own `name` is
 * checked too when it differs.
 */
export const KNOWN_TOOL_TYPES: ReadonlyMap<string, string> = new Map(
  [
    'bash_20241022',
    'bash_20250124',
    'code_execution_20250522',
    'code_execution_20250825',
    'code_execution_20260120',
    'code_execution_20260521',
    'browser_toolset_20260801',
    'computer_20241022',
    'computer_20250124',
    'computer_20251124',
    'computer_toolset_20260801',
    'memory_20250818',
    'text_editor_20241022',
    'text_editor_20250124',
    'text_editor_20250429',
    'text_editor_20250728',
    'web_search_20250305',
    'web_search_20260209',
    'web_search_20260318',
    'web_fetch_20250910',
    'web_fetch_20260209',
    'web_fetch_20260309',
    'web_fetch_20260318',
    'advisor_20260301',
    'tool_search_tool_bm25_20251119',
    'tool_search_tool_regex_20251119',
  ]
    .map((t): [string, string] => [t, t.replace(/_\d{8}$/, '')])
    .concat([
      ['tool_search_tool_bm25', 'tool_search_tool_bm25'],
      ['tool_search_tool_regex', 'tool_search_tool_regex'],
    ]),
);

/** Content block types a request's messages may carry. */
export const KNOWN_BLOCK_TYPES: ReadonlySet<string> = new Set([
  'text',
  'image',
  'document',
  'search_result',
  'thinking',
  'redacted_thinking',
  'tool_use',
  'tool_result',
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'advisor_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'tool_search_tool_result',
  'mcp_tool_use',
  'mcp_tool_result',
  'container_upload',
  'compaction',
  'tool_addition',
  'tool_removal',
  'mcp_tool_listing',
  'fallback',
  // a tool result naming a deferred tool of tools[] (tool search): the tool itself is checked there
  'tool_reference',
]);

/** Tool and MCP server names the API accepts; anything else (a glob character above all) is refused. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
