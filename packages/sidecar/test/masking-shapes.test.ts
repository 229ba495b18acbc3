// Shapes of the model API's answers that carried data past the masker: the model list
// (/v1/models) was relayed with its entries whole.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';

const MAIL = 'jane.doe@example.com';

describe('/v1/models through a scope that masks', () => {
  let world: World;
  let upstream: Server;
  let list: unknown;
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.once('end', () => {
        const body = JSON.stringify(list);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    list = {
      data: [{ type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude', created_at: '2025-09-29T00:00:00Z' }],
      has_more: false,
    };
    world = await startWorld({ flags: { upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } });
    await addScope(world, 'masked-models', 'models-bot', '  models: ["claude-sonnet-4-*"]\n  data: {mask: [email, credit-card]}');
    const token = await world.saToken('models-bot');
    await waitForPolicy(
      world,
      async () => (await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
    );
  });
  afterAll(async () => {
    await world.close();
    upstream.close();
  });

  const models = async () => {
    const res = await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${await world.saToken('models-bot')}` } });
    return { status: res.status, text: await res.text() };
  };

  test('a display_name, a field of an entry and a note beside the list are masked (before: passed in clear)', async () => {
    list = {
      data: [
        {
          type: 'model',
          id: 'claude-sonnet-4-5',
          display_name: `Claude (ask ${MAIL})`,
          created_at: '2025-09-29T00:00:00Z',
          extra: { card: 4111111111111111 },
        },
        { type: 'model', id: 'claude-opus-4-1', display_name: MAIL, created_at: '2025-08-05T00:00:00Z' },
      ],
      note: `contact ${MAIL}`,
      has_more: false,
    };
    const { status, text } = await models();
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({
      data: [
        {
          type: 'model',
          id: 'claude-sonnet-4-5',
          display_name: 'Claude (ask [MASKED:email])',
          created_at: '2025-09-29T00:00:00Z',
          extra: { card: '[MASKED:credit-card]' },
        },
      ],
      note: 'contact [MASKED:email]',
      has_more: false,
      first_id: 'claude-sonnet-4-5',
      last_id: 'claude-sonnet-4-5',
    });
    expect(text).not.toContain('jane.doe');
  });

  test('a list with nothing to mask is filtered and otherwise kept', async () => {
    list = {
      data: [{ type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' }],
      has_more: false,
    };
    const { status, text } = await models();
    expect(status).toBe(200);
    expect(text).toBe(
      '{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}',
    );
  });
});

// The model API's error answers (status 400 or more) were relayed byte for byte, masked or not:
// the SDKs put an error's text in the exception the app reads (`err.message`, `err.error`), and
// read an error answer as JSON even when the request asked for a stream.
describe('error answers of the model API through a scope that masks', () => {
  let world: World;
  let upstream: Server;
  let answer: { status: number; type?: string; body: string; headers?: Record<string, string> };
  let clearToken: string;
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.once('end', () => {
        res.writeHead(answer.status, {
          ...(answer.type ? { 'content-type': answer.type } : {}),
          'content-length': Buffer.byteLength(answer.body),
          'retry-after': '3',
          ...answer.headers,
        });
        res.end(answer.body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    world = await startWorld({ flags: { upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } });
    await addScope(world, 'masked-errors', 'errors-bot', '  models: ["claude-sonnet-4-*"]\n  data: {mask: [email, credit-card]}');
    await addScope(world, 'clear-errors', 'clear-bot', '  models: ["claude-sonnet-4-*"]');
    clearToken = await world.saToken('clear-bot');
    answer = { status: 200, type: 'application/json', body: '{"type":"message","content":[]}' };
    await waitForPolicy(world, async () => (await send('errors-bot')).status === 200);
  });
  afterAll(async () => {
    await world.close();
    upstream.close();
  });

  async function send(sa: string, stream = false) {
    const token = sa === 'clear-bot' ? clearToken : await world.saToken(sa);
    const res = await fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], stream }),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  const error = (message: string) =>
    JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message }, request_id: 'req_1' });

  test.each([
    ['a 400', 400, false],
    ['a 429 to a stream request (read as JSON, as the SDKs read it)', 429, true],
    ['a 529', 529, false],
  ])('%s whose message holds an email and a card: masked, status and headers kept', async (_what, status, stream) => {
    answer = { status, type: 'application/json', body: error(`no customer ${MAIL}, card 4111 1111 1111 1111`) };
    const r = await send('errors-bot', stream);
    expect(r.status).toBe(status);
    expect(r.headers.get('retry-after')).toBe('3');
    expect(JSON.parse(r.text)).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'no customer [MASKED:email], card [MASKED:credit-card]' },
      request_id: 'req_1',
    });
  });

  test('through the real SDK: the exception the app reads carries the mask', async () => {
    const Anthropic = (await import('@anthropic-ai/sdk')).default;
    answer = { status: 400, type: 'application/json', body: error(`no customer ${MAIL}`) };
    const client = new Anthropic({ baseURL: world.url, apiKey: null, authToken: await world.saToken('errors-bot'), maxRetries: 0 });
    const err = await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { status: number },
      );
    expect(err?.status).toBe(400);
    expect(err?.message).toContain('[MASKED:email]');
    expect(err?.message).not.toContain('jane.doe');
  });

  test('an error answer that is not JSON (a gateway page with an email) is not delivered: 502 that says why', async () => {
    answer = { status: 503, type: 'text/html', body: `<html>down; write to ${MAIL}</html>` };
    const r = await send('errors-bot');
    expect(r.status).toBe(502);
    expect(r.text).not.toContain('jane.doe');
    expect(JSON.parse(r.text).type).toBe('error');
  });

  test('an empty error answer passes with its status', async () => {
    answer = { status: 503, body: '' };
    const r = await send('errors-bot');
    expect(r.status).toBe(503);
    expect(r.text).toBe('');
  });

  // The model API's headers (or a gateway's in front of it): the SDKs hand them to the app
  // (`withResponse()`, an error's `headers`). Before, only an internal service's were masked.
  const NOTE = { 'x-gateway-note': `owner ${MAIL}`, 'request-id': 'req_011CSHoEeqs5C35K2UUqR7Fy' };
  const SSE_BODY = [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":1,"output_tokens":1}}}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
  ].join('');

  test.each([
    ['a JSON answer', 200, false],
    ['a streamed answer', 200, true],
    ['an error answer', 400, false],
  ])('%s with an email in a header: the header masked, the others kept', async (_what, status, stream) => {
    answer = {
      status,
      type: stream ? 'text/event-stream' : 'application/json',
      body: stream ? SSE_BODY : status === 200 ? '{"type":"message","content":[]}' : error('bad'),
      headers: NOTE,
    };
    const r = await send('errors-bot', stream);
    expect(r.status).toBe(status);
    expect(r.headers.get('x-gateway-note')).toBe('owner [MASKED:email]');
    expect(r.headers.get('request-id')).toBe(NOTE['request-id']);
    expect(r.headers.get('retry-after')).toBe('3');
    if (stream) expect(r.text).toBe(SSE_BODY);
  });

  test('through the real SDK: the headers the app reads carry the mask; a scope that does not mask passes them', async () => {
    const Anthropic = (await import('@anthropic-ai/sdk')).default;
    answer = { status: 200, type: 'application/json', body: '{"type":"message","content":[]}', headers: NOTE };
    const params = { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };
    const masked = new Anthropic({ baseURL: world.url, apiKey: null, authToken: await world.saToken('errors-bot'), maxRetries: 0 });
    const { response } = await masked.messages.create(params).withResponse();
    expect(response.headers.get('x-gateway-note')).toBe('owner [MASKED:email]');
    const clear = new Anthropic({ baseURL: world.url, apiKey: null, authToken: clearToken, maxRetries: 0 });
    expect((await clear.messages.create(params).withResponse()).response.headers.get('x-gateway-note')).toBe(`owner ${MAIL}`);
  });

  test('a scope that does not mask: the error passes byte for byte', async () => {
    const body = error(`no customer ${MAIL}`);
    answer = { status: 400, type: 'application/json', body };
    const r = await send('clear-bot');
    expect(r.status).toBe(400);
    expect(r.text).toBe(body);
  });
});
