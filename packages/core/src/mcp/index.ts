// MCP (JSON-RPC 2.0 over the streamable HTTP transport) behind the same scopes: the codec,
// what a message asks for, and what may come back.
export {
  parseJsonRpc,
  rpcError,
  idKey,
  JsonRpcBodyError,
  RPC,
  DEFAULT_JSONRPC_LIMITS,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcErrorObject,
  type JsonRpcLimits,
  type ParsedJsonRpc,
} from './jsonrpc.ts';
export { inspectMcpMessage, argumentsHash, type McpInspection } from './inspect.ts';
export { McpAnswer, type McpAnswerRules, type McpMessageOutcome } from './answer.ts';
export { McpSseRelay, sseMessages } from './answer-stream.ts';
export { planMcpPost, refusalFor, forwardBody, type McpEntry } from './plan.ts';
