// Every place the data path parses JSON goes through parseJson: past MAX_JSON_VALUES each one
// refuses, and none lets through what it could not check (the masker's: masking/json-size.test.ts).
import { compileMasking } from '../masking/index.ts';
import { McpAnswer } from '../mcp/answer.ts';
import { parseJsonRpc, JsonRpcBodyError, RPC } from '../mcp/jsonrpc.ts';
import { inspectMessagesRequest, RequestInspectionError } from '../anthropic/inspect.ts';
import { MessageStreamObserver } from '../sse/anthropic.ts';
import { SseParser } from '../sse/parser.ts';
import { JsonTooLargeError, MAX_JSON_VALUES } from './json-size.ts';

/** `n` empty objects in a list: 2n + 1 values as counted. */
const objects = (n: number) => `[${'{},'.repeat(n - 1)}{}]`;
const TOO_MANY = objects(MAX_JSON_VALUES / 2);
const masking = compileMasking({ mask: ['email'] });
const rpc = (extra: string) => `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"jane@example.com"}],"x":${extra}}}`;

test('a Messages request: RequestInspectionError naming the limit', () => {
  const body = `{"model":"claude-haiku-4-5","max_tokens":1,"messages":[],"metadata":${TOO_MANY}}`;
  expect(() => inspectMessagesRequest(body, undefined)).toThrow(RequestInspectionError);
  expect(() => inspectMessagesRequest(body, undefined)).toThrow('it holds more than 250,000 JSON values');
});

test('an MCP message: 413 with -32600', () => {
  let err: unknown;
  try {
    parseJsonRpc(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":${TOO_MANY}}}`);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(JsonRpcBodyError);
  expect([(err as JsonRpcBodyError).status, (err as JsonRpcBodyError).code]).toEqual([413, RPC.invalidRequest]);
  expect((err as Error).message).toBe(
    'The JSON-RPC body is not read: it holds more than 250,000 JSON values (objects, arrays, members and elements). Send smaller arguments.',
  );
});

test('an MCP server answer, whole or as an event: not passed on (-32013, says to ask for less)', () => {
  const answer = new McpAnswer({ masking, maskFields: [], keepTool: () => true, keepResource: () => true, keepPrompt: () => true });
  const whole = answer.json(Buffer.from(rpc(TOO_MANY)));
  expect(whole.outcomes).toEqual([{ counts: {}, hidden: 0, unreadable: true }]);
  expect(JSON.parse(whole.body.toString())).toEqual({
    jsonrpc: '2.0',
    id: null,
    error: {
      code: RPC.unavailable,
      message:
        "The MCP server's answer was not checked (it holds more than 250,000 JSON values (objects, arrays, members and elements)), so scopekeeper did not pass it on; ask for less at a time.",
    },
  });
  const outcomes: unknown[] = [];
  const out = answer.stream((o) => outcomes.push(o)).push(Buffer.from(`event: message\ndata: ${rpc(TOO_MANY)}\n\n`));
  expect(out.toString()).not.toContain('jane@example.com');
  expect(outcomes).toEqual([{ counts: {}, hidden: 0, unreadable: true }]);
});

test('a Messages event stream without masking: an event too large to read throws, so the relay ends the stream with an error event', () => {
  const event = `event: message_start\ndata: {"type":"message_start","message":{"content":[],"x":${TOO_MANY}}}\n\n`;
  const observer = new MessageStreamObserver();
  const [ev] = new SseParser().push(Buffer.from(event));
  expect(() => observer.observe(ev!)).toThrow(JsonTooLargeError);
});
