import { inspectMessagesRequest, parseBetas, RequestInspectionError } from './inspect.ts';
import { anthropicError, sseErrorEvent } from './errors.ts';

const body = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('inspectMessagesRequest', () => {
  test('reads model, max_tokens, stream, thinking, tools and betas', () => {
    const b = body({
      model: 'claude-sonnet-4-5',
      max_tokens: 32000,
      stream: true,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'Read' }, { name: 'Bash', input_schema: {} }],
      messages: [],
    });
    const copy = Buffer.from(b);
    expect(inspectMessagesRequest(b, ['a-2025-01-01, b-2025-02-02', 'c'])).toMatchObject({
      model: 'claude-sonnet-4-5',
      maxTokens: 32000,
      stream: true,
      thinking: true,
      tools: ['Read', 'Bash'],
      betas: ['a-2025-01-01', 'b-2025-02-02', 'c'],
    });
    expect(b.equals(copy)).toBe(true);
  });
  test('thinking disabled or absent is off', () => {
    expect(inspectMessagesRequest(body({ model: 'm', max_tokens: 1, thinking: { type: 'disabled' } }), undefined).thinking).toBe(false);
    expect(inspectMessagesRequest(body({ model: 'm', max_tokens: 1 }), undefined).thinking).toBe(false);
  });
  test('count_tokens needs no max_tokens', () => {
    expect(inspectMessagesRequest(body({ model: 'm', messages: [] }), undefined, { requireMaxTokens: false }).maxTokens).toBeUndefined();
  });
  test.each([
    ['not JSON', '{', /not valid UTF-8 JSON/],
    ['an array', '[]', /JSON object/],
    ['no model', JSON.stringify({ max_tokens: 1 }), /model: Field required/],
    ['no max_tokens', JSON.stringify({ model: 'm' }), /max_tokens: Field required/],
    ['bad max_tokens', JSON.stringify({ model: 'm', max_tokens: -1 }), /positive integer/],
    ['bad stream', JSON.stringify({ model: 'm', max_tokens: 1, stream: 'yes' }), /stream/],
    ['tools not an array', JSON.stringify({ model: 'm', max_tokens: 1, tools: {} }), /tools: must be an array/],
    ['tool without name', JSON.stringify({ model: 'm', max_tokens: 1, tools: [{}] }), /tools.0.name/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /not valid UTF-8 JSON/],
  ])('refuses %s with a message that says what to send', (_n, b, re) => {
    const run = () => inspectMessagesRequest(typeof b === 'string' ? Buffer.from(b) : (b as Buffer), undefined);
    expect(run).toThrow(RequestInspectionError);
    expect(run).toThrow(re);
  });
  test('parseBetas', () => expect(parseBetas(undefined)).toEqual([]));
});

describe('errors', () => {
  test('Anthropic error shape and status', () => {
    const e = anthropicError('permission_error', 'Denied.', 'req_1');
    expect(e.status).toBe(403);
    expect(JSON.parse(e.json)).toEqual({ type: 'error', error: { type: 'permission_error', message: 'Denied.' }, request_id: 'req_1' });
    expect(anthropicError('authentication_error', 'x').status).toBe(401);
    expect(anthropicError('request_too_large', 'x').status).toBe(413);
  });
  test('SSE error event', () => {
    expect(sseErrorEvent('api_error', 'upstream reset')).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream reset"}}\n\n',
    );
  });
});
