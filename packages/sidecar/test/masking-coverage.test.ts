// Issue 14 class 8 over HTTP: tool results of every kind and Unicode-formatted or percent-encoded
// values are masked through the sidecar, JSON and streamed (the text 5 characters at a time, so
// "%40" arrives cut). The upstream here answers with the blocks a
// model using server tools, MCP connectors and code execution sends.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWorld, type World } from '../src/testing/world.ts';

const EMAIL = 'jane.doe@example.com';
const CARD_NBSP = '4111\u00a01111\u00a01111\u00a01111';
const MAIL_FULLWIDTH = 'ann\uff20example.com';
/** A card in Arabic-Indic digits and a phone number in Devanagari ones: NFKC leaves both as written. */
const CARD_ARABIC = '\u0664\u0661\u0661\u0661 \u0661\u0661\u0661\u0661 \u0661\u0661\u0661\u0661 \u0661\u0661\u0661\u0661';
const PHONE_DEVANAGARI = '+\u0967 \u096a\u0967\u096b-\u096b\u096b\u096b-\u0968\u096c\u096d\u0967';
/** An address and a phone number as a URL carries them. */
const MAIL_PERCENT = 'ann.lee%40example.org';
const PHONE_PERCENT = '%2B1%20212-555-0188';

const content = [
  {
    type: 'server_tool_use',
    id: 'srvtoolu_1',
    name: 'web_fetch',
    input: { url: `https://crm.example.com/?q=${EMAIL}&cc=${MAIL_PERCENT}&tel=${PHONE_PERCENT}` },
  },
  {
    type: 'web_fetch_tool_result',
    tool_use_id: 'srvtoolu_1',
    content: {
      type: 'web_fetch_result',
      url: 'https://crm.example.com',
      content: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: `owner ${EMAIL}` } },
    },
  },
  {
    type: 'web_search_tool_result',
    tool_use_id: 'srvtoolu_2',
    content: [
      { type: 'web_search_result', title: `contact ${EMAIL}`, url: 'https://example.com', encrypted_content: 'Eq', page_age: null },
    ],
  },
  {
    type: 'code_execution_tool_result',
    tool_use_id: 'srvtoolu_3',
    content: { type: 'code_execution_result', stdout: `card ${CARD_NBSP}`, stderr: '', return_code: 0, content: [] },
  },
  {
    type: 'mcp_tool_result',
    tool_use_id: 'mcptoolu_1',
    is_error: false,
    content: [{ type: 'text', text: `crm: ${MAIL_FULLWIDTH}, ${PHONE_DEVANAGARI}` }],
  },
  {
    type: 'text',
    text: `Done: mail ${MAIL_FULLWIDTH}, card ${CARD_NBSP}, card ${CARD_ARABIC}, phone ${PHONE_DEVANAGARI}. Link: https://crm.example.com/?cc=${MAIL_PERCENT}&tel=${PHONE_PERCENT}`,
  },
];

function sse(): string {
  const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  let s = ev('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      usage: { input_tokens: 1, output_tokens: 1 },
    },
  });
  content.forEach((b, index) => {
    if (b.type === 'text') {
      s += ev('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      const t = (b as { text: string }).text;
      for (let i = 0; i < t.length; i += 5)
        s += ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: t.slice(i, i + 5) } });
    } else s += ev('content_block_start', { type: 'content_block_start', index, content_block: b });
    s += ev('content_block_stop', { type: 'content_block_stop', index });
  });
  return (
    s +
    ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }) +
    ev('message_stop', { type: 'message_stop' })
  );
}

/** What a client reads: the answer's JSON, or every event's data with the text deltas joined (the text arrives 5 characters at a time). */
function readable(body: string, stream: boolean): string {
  if (!stream) return JSON.stringify(JSON.parse(body));
  const events = body
    .split('\n\n')
    .map((e) => e.split('\n').find((l) => l.startsWith('data: ')))
    .filter((d) => d !== undefined)
    .map((d) => JSON.parse(d.slice('data: '.length)) as { delta?: { type?: string; text?: string } });
  const text = events.map((e) => (e.delta?.type === 'text_delta' ? e.delta.text : '')).join('');
  return `${JSON.stringify(events)}\n${text}`;
}

/**
 * The lines beside the events' data, each with the address (core masking/sse-framing.ts): a
 * comment, an id (a browser's EventSource hands it to the page), an unknown field, the name of an
 * event whose data has no type, and a ping whose data is not JSON; and the first copy of a key an
 * event repeats (masking/sse-events.ts lastKeysOnly).
 */
function framed(): string {
  return sse()
    .replace('event: message_start\n', `: trace for ${EMAIL}\nevent: message_start\nid: ${EMAIL}\n`)
    .replace(
      'event: message_stop\n',
      `event: ping\ndata: owner ${EMAIL}\n\nevent: ${EMAIL}\nx-owner: ${EMAIL}\ndata: {}\n\n` +
        `event: future\ndata: {"type":"future","note":"${EMAIL}","note":"-"}\n\nevent: message_stop\n`,
    );
}

let world: World;
let upstream: Server;
beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      if ((JSON.parse(body) as { stream?: boolean }).stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(body.includes('framing') ? framed() : sse());
      } else {
        const json = JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-5',
          content,
          stop_reason: 'end_turn',
          usage: { input_tokens: 1, output_tokens: 9 },
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
      }
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  world = await startWorld({ flags: { upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } });
});
afterAll(async () => {
  await world.close();
  upstream.close();
});

test.each([false, true])('stream %s: every result block and Unicode-formatted value is masked', async (stream) => {
  // support-agent masks email, phone, credit-card, iban, api-key, jwt
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await world.saToken('support-bot')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream, messages: [{ role: 'user', content: 'look it up' }] }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  const decoded = readable(text, stream);
  for (const leak of [
    EMAIL,
    CARD_NBSP,
    MAIL_FULLWIDTH,
    'jane.doe',
    '4111',
    CARD_ARABIC,
    PHONE_DEVANAGARI,
    '\u0664\u0661',
    '\u096a\u0967\u096b',
    'ann.lee',
    '212-555',
  ])
    expect(decoded).not.toContain(leak);
  expect(text).toContain('[MASKED:email]');
  expect(text).toContain('[MASKED:credit-card]');
  expect(decoded).toContain('card [MASKED:credit-card], phone [MASKED:phone].');
  expect(decoded).toContain('?cc=[MASKED:email]&tel=[MASKED:phone]');
  // identifiers and encrypted payloads are untouched
  expect(text).toContain('"tool_use_id":"srvtoolu_3"');
  expect(text).toContain('"encrypted_content":"Eq"');
});

test('streamed: the lines beside the data (a comment, an id, an event name, a field, a ping that is not JSON) and a repeated key reach no reader in clear', async () => {
  const upstreamSends = framed();
  for (const line of [
    `: trace for ${EMAIL}`,
    `id: ${EMAIL}`,
    `event: ${EMAIL}`,
    `x-owner: ${EMAIL}`,
    `data: owner ${EMAIL}`,
    `"note":"${EMAIL}"`,
  ])
    expect(upstreamSends).toContain(line);
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await world.saToken('support-bot')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'framing' }] }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  // the bytes as any reader gets them, not only what the SDKs read
  expect(text).not.toContain('jane.doe');
  expect(text).toContain(`id: [MASKED:email]`);
  expect(text).toContain(`event: [MASKED:email]`);
  expect(text).toContain('event: message_stop');
  expect(text).toContain('data: {"type":"future","note":"-"}');
});
