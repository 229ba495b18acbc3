export { SseParser, SseBlockTooLargeError, MAX_SSE_BLOCK_BYTES, sseEventType, type SseEvent } from './parser.ts';
export { formatSseEvent, formatSseComment, formatSseJson, type SseEventInit } from './serialize.ts';
export {
  MessageStreamObserver,
  toolUseName,
  toolsUsedIn,
  usageOf,
  MAX_TOOLS_USED,
  type StreamFacts,
  type StreamUsage,
} from './anthropic.ts';
