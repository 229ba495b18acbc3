// Thinking the request did not ask for, in the answer of a scope that masks. The masker leaves
// thinking text and signatures byte for byte (their signatures would break), so an upstream that
// thinks unasked, by default or by design, delivered its thinking unmasked, also where the scope
// forbids thinking: the e-mail below reached the caller in clear. Now such an answer is refused
// (JSON: a 502 that says why; a stream: ended with an error event before the thinking goes out).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';
import { auditRecord } from './refusal.ts';

const MAIL = 'jane.doe@example.com';
const USAGE = { input_tokens: 5, output_tokens: 7 };

/** An event stream in the API's framing. */
const sse = (events: object[]) => events.map((e) => `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
const start = {
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage: USAGE },
};
const end = [{ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }, { type: 'message_stop' }];
const text = (index: number, t: string) => [
  { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
  { type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } },
  { type: 'content_block_stop', index },
];
const thinkingBlock = [
  { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: `the customer is ${MAIL}` } },
  { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' } },
  { type: 'content_block_stop', index: 0 },
];

describe('thinking the request did not ask for, in a masked answer', () => {
  let world: World;
  let upstream: Server;
  let answer: { type: string; body: string };
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.once('end', () => {
        res.writeHead(200, { 'content-type': answer.type, 'content-length': Buffer.byteLength(answer.body) });
        res.end(answer.body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    world = await startWorld({ flags: { upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } });
    const models = '  models: ["claude-sonnet-4-*"]\n';
    await addScope(world, 'masked-nothink', 'masked-bot', `${models}  data: {mask: [email]}`);
    await addScope(world, 'masked-think', 'thinker-bot', `${models}  limits: {thinking: true}\n  data: {mask: [email]}`);
    await addScope(world, 'clear-nothink', 'clear-bot', models);
    json({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hi' }], usage: USAGE });
    await waitForPolicy(world, async () => (await send('masked-bot')).status === 200 && (await send('clear-bot')).status === 200);
  });
  afterAll(async () => {
    await world.close();
    upstream.close();
  });

  function json(message: object) {
    answer = { type: 'application/json', body: JSON.stringify({ id: 'msg_1', model: 'claude-sonnet-4-5', ...message }) };
  }
  function stream(events: object[] | string) {
    answer = { type: 'text/event-stream', body: typeof events === 'string' ? events : sse(events) };
  }
  async function send(sa: string, opts: { stream?: boolean; thinking?: boolean } = {}) {
    const res = await fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await world.saToken(sa)}`,
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 2048,
        messages: [{ role: 'user', content: 'hi' }],
        stream: opts.stream ?? false,
        ...(opts.thinking ? { thinking: { type: 'enabled', budget_tokens: 1024 } } : {}),
      }),
    });
    return { status: res.status, text: await res.text(), id: res.headers.get('x-scopekeeper-request-id')! };
  }
  /** The audit record of a request (written after the answer: batch window, write, fdatasync). */
  const recordOf = async (id: string) => (await auditRecord(world.auditFile, id)) as Record<string, unknown>;

  test.each([
    ['a thinking block', { type: 'thinking', thinking: `the customer is ${MAIL}`, signature: 'EqQBCgIYAhIM' }],
    ['a redacted_thinking block', { type: 'redacted_thinking', data: `opaque ${MAIL}` }],
  ])('JSON with %s: a 502 that says why, nothing of the answer (before: 200 with the e-mail in clear)', async (_what, block) => {
    json({ type: 'message', role: 'assistant', content: [block, { type: 'text', text: `mail ${MAIL}` }], usage: USAGE });
    const r = await send('masked-bot');
    expect(r.status).toBe(502);
    expect(r.text).not.toContain('jane.doe');
    const e = JSON.parse(r.text) as { type: string; error: { type: string; message: string } };
    expect(e.type).toBe('error');
    expect(e.error.type).toBe('api_error');
    expect(e.error.message).toContain('thinking the request did not ask for');
    expect(e.error.message).toContain('enable thinking in the request where the scope allows it');
    const rec = await recordOf(r.id);
    expect(rec.status).toBe(502);
    expect(String(rec.error)).toContain('thinking the request did not ask for');
    expect(rec.usage).toEqual(USAGE);
  });

  test.each([
    ['a thinking block', [start, ...thinkingBlock, ...text(1, `mail ${MAIL}`), ...end]],
    ['a thinking delta under a block that started as text', [start, ...text(0, 'ok').slice(0, 1), thinkingBlock[1]!, ...end]],
    [
      'a thinking block inside message_start',
      [{ ...start, message: { ...start.message, content: [thinkingBlock[0]!.content_block] } }, ...end],
    ],
    ['a signature delta alone', [start, ...text(0, 'ok').slice(0, 1), thinkingBlock[2]!, ...end]],
  ])('a stream with %s: ended with an error event before the thinking goes out', async (_what, events) => {
    stream(events as object[]);
    const r = await send('masked-bot', { stream: true });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('jane.doe');
    expect(r.text).not.toContain('thinking_delta');
    expect(r.text).not.toContain('signature_delta');
    expect(r.text).not.toContain('message_stop');
    expect(r.text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"scopekeeper could not mask/);
    expect(String((await recordOf(r.id)).error)).toContain('thinking the request did not ask for');
  });

  test('a type written with \\u escapes is read as the SDKs read it', async () => {
    const delta = `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thin\\u006bing_delta","thinking":"${MAIL}"}}\n\n`;
    stream(sse([start, ...text(0, 'ok').slice(0, 1)]) + delta + sse(end));
    const r = await send('masked-bot', { stream: true });
    expect(r.text).not.toContain('jane.doe');
    expect(r.text).toContain('event: error');
  });

  test('text and thinking in one chunk: nothing in clear, and the stream ends at an event boundary', async () => {
    // the upstream writes the whole body at once: the masked text and the thinking arrive together
    stream([start, ...text(0, `mail ${MAIL}`), ...thinkingBlock, ...end]);
    const r = await send('masked-bot', { stream: true });
    expect(r.text).not.toContain('jane.doe');
    expect(r.text.endsWith('\n\n')).toBe(true);
  });

  test('thinking in a last event cut before its blank line: the stream still ends saying why', async () => {
    const cut = `event: content_block_delta\ndata: ${JSON.stringify(thinkingBlock[1])}`;
    stream(sse([start, ...text(0, 'ok').slice(0, 1)]) + cut);
    const r = await send('masked-bot', { stream: true });
    expect(r.text).not.toContain('jane.doe');
    expect(r.text).toContain('thinking the request did not ask for');
    expect(String((await recordOf(r.id)).error)).toContain('thinking the request did not ask for');
  });

  test('text that mentions thinking is no thinking: masked and delivered', async () => {
    stream([start, ...text(0, `thinking of ${MAIL}, my signature \\u2014 done`), ...end]);
    const r = await send('masked-bot', { stream: true });
    expect(r.text).toContain('thinking of [MASKED:email]');
    expect(r.text).toContain('message_stop');
    expect(r.text).not.toContain('event: error');
    json({ type: 'message', role: 'assistant', content: [{ type: 'text', text: `thinking of ${MAIL}` }], usage: USAGE });
    const j = await send('masked-bot');
    expect(j.status).toBe(200);
    expect(j.text).toContain('thinking of [MASKED:email]');
  });

  test('thinking the request asked for, where the scope allows it: relayed as before (untouched)', async () => {
    json({
      type: 'message',
      role: 'assistant',
      content: [thinkingBlock[0]!.content_block, { type: 'text', text: `mail ${MAIL}` }],
      usage: USAGE,
    });
    const j = await send('thinker-bot', { thinking: true });
    expect(j.status).toBe(200);
    expect(j.text).toContain('"type":"thinking"');
    expect(j.text).toContain('mail [MASKED:email]');
    stream([start, ...thinkingBlock, ...end]);
    const s = await send('thinker-bot', { stream: true, thinking: true });
    expect(s.text).toContain(`"thinking":"the customer is ${MAIL}"`);
    expect(s.text).toContain('message_stop');
  });

  test('a scope that does not mask: thinking passes as before', async () => {
    stream([start, ...thinkingBlock, ...end]);
    const r = await send('clear-bot', { stream: true });
    expect(r.text).toContain('thinking_delta');
    expect(r.text).toContain('message_stop');
    json({ type: 'message', role: 'assistant', content: [thinkingBlock[0]!.content_block], usage: USAGE });
    expect((await send('clear-bot')).status).toBe(200);
  });

  test('through the real SDK: the stream ends in an APIError, the e-mail never reaches the app', async () => {
    const Anthropic = (await import('@anthropic-ai/sdk')).default;
    const client = new Anthropic({ baseURL: world.url, authToken: await world.saToken('masked-bot'), apiKey: null, maxRetries: 0 });
    stream([start, ...thinkingBlock, ...text(1, 'hello'), ...end]);
    const seen: string[] = [];
    const s = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 2048, messages: [{ role: 'user', content: 'hi' }] });
    s.on('streamEvent', (ev) => seen.push(JSON.stringify(ev)));
    await expect(s.finalMessage()).rejects.toThrow(/thinking the request did not ask for/);
    expect(seen.join('\n')).not.toContain('jane.doe');
  });
});
