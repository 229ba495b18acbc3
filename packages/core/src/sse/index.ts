export { SseParser, sseEventType, type SseEvent } from './parser.ts';
export { formatSseEvent, formatSseComment, formatSseJson, type SseEventInit } from './serialize.ts';
export { MessageStreamObserver, type StreamFacts, type StreamUsage } from './anthropic.ts';
