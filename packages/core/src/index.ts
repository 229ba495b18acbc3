export type * from './types/generated.ts';
export { crdSchemas } from './types/schemas.generated.ts';
export { generateTypes, generateSchemas, type CrdManifest, type JsonSchema } from './crd/codegen.ts';
export { parseDuration, formatDuration } from './util/duration.ts';
export { matchName, matchAnyName, matchPath, globProblem, globsOverlap } from './util/glob.ts';
export {
  anthropicError,
  errorBody,
  sseErrorEvent,
  ERROR_STATUS,
  type AnthropicErrorType,
  type AnthropicErrorBody,
} from './anthropic/errors.ts';
export { inspectMessagesRequest, parseBetas, RequestInspectionError, type MessagesRequestFacts } from './anthropic/inspect.ts';
export { collectSurface, type Capability, type CapabilityKind, type UnknownSurface } from './anthropic/capabilities.ts';
export { KNOWN_FIELDS, KNOWN_BETAS, KNOWN_TOOL_TYPES, KNOWN_BLOCK_TYPES } from './anthropic/surface.ts';
export * from './policy/identity.ts';
export * from './policy/review.ts';
export * from './policy/compile.ts';
export * from './policy/decision.ts';
export { decide, allowedModelGlobs } from './policy/decide.ts';
export { matchingScopes } from './policy/scopes.ts';
export { toolVerdict, mcpToolName } from './policy/tools.ts';
export { approvalFingerprint } from './policy/gates.ts';
export * from './policy/data-rules.ts';
export * from './policy/labels.ts';
export * from './validation/validate.ts';
export * from './masking/index.ts';
export * from './sse/index.ts';
export * from './audit/index.ts';
export * from './reviews/evidence.ts';
export { splitHostPort } from './util/host-port.ts';
export { firstDuplicateKey, duplicateKeyMessage } from './util/json-keys.ts';
export { jsonValues, parseJson, JsonTooLargeError, MAX_JSON_VALUES, thousands } from './util/json-size.ts';
export {
  ConnectionLimit,
  limitConnections,
  type Connection,
  type ConnectionServer,
  type OverflowOptions,
} from './util/connection-limit.ts';
export * from './reviews/usage.ts';
export * from './reviews/recommend.ts';
export * from './mcp/index.ts';
