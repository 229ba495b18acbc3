// Faults behind the sidecar: an upstream that resets, stalls, truncates or garbles its
// response (a tiny custom upstream plays each), an identity provider that goes down, an upstream
// key that disappears. The caller always learns of the failure in Anthropic's terms (a 502/504
// error body, or an SSE `error` event after a 200), the audit record carries an error, and the
// process stays healthy.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { SseParser, type SseEvent } from '@scopekeeper/core';
import { startWorld, UPSTREAM_KEY, type World } from '../../src/testing/world.ts';
import { LocalIssuer } from '../../src/identity/local-issuer.ts';
import { AuthenticationError, TokenVerifier } from '../../src/identity/verifier.ts';
import { addScope, waitForPolicy } from '../helpers.ts';
import { auditRecord as auditOf, expectRefusal } from '../refusal.ts';
import { anthropicError, assertHealthy, DELTA, END, errorTypeOf, ev, pour, recordAttack, START } from './support.ts';

const SUITE = 'upstream and IdP faults';

const ask = (world: World, token: string, o: Record<string, unknown> = {}) =>
  fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...o }),
  });

/** Parses what the caller received; `dangling` is an unterminated last block (half an event). */
function sse(text: string): { events: SseEvent[]; dangling: SseEvent[] } {
  const p = new SseParser();
  const events = p.push(Buffer.from(text));
  return { events, dangling: p.end() };
}

/** The request's audit record (the shared helper: a generous deadline, waits on the record itself). */
const auditRecord = async (world: World, requestId: string | null) => {
  if (!requestId) throw new Error('the answer carries no x-scopekeeper-request-id');
  return (await auditOf(world.auditFile, requestId)) as { status: number; error?: string; decision: string; reasons: string[] };
};

describe('the stand-in upstream: reset mid-stream and too slow', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ flags: { upstreamTimeout: 1 } });
  });
  afterAll(() => world.close());

  test('reset in the middle of a stream: the caller gets an SSE error event, the audit an error', async () => {
    const res = await ask(world, await world.saToken('support-bot'), {
      stream: true,
      messages: [{ role: 'user', content: 'STUB:reset a reply long enough to be cut in the middle of it' }],
    });
    const { events, dangling } = sse(await res.text());
    const last = events[events.length - 1]!;
    const record = await auditRecord(world, res.headers.get('x-scopekeeper-request-id'));
    recordAttack({
      suite: SUITE,
      attack: 'upstream resets the connection mid-stream',
      expected: '200 then SSE error event (api_error); audit error',
      status: res.status,
      errorType: `sse:${(JSON.parse(last.data!) as { error: { type: string } }).error.type}`,
      note: record.error,
    });
    expect(res.status).toBe(200);
    expect(events.some((e) => e.event === 'content_block_delta')).toBe(true);
    expect(last.event).toBe('error');
    expect(anthropicError(last.data!).error.type).toBe('api_error');
    expect(dangling).toEqual([]);
    expect(record).toMatchObject({ status: 200, error: expect.stringContaining('interrupted') });
  });

  test.each([false, true])('an upstream slower than --upstream-timeout (stream: %s) is a 504 timeout_error', async (stream) => {
    const t0 = Date.now();
    const res = await ask(world, await world.saToken('support-bot'), {
      stream,
      messages: [{ role: 'user', content: 'STUB:slow:3000 too late' }],
    });
    const body = await res.text();
    const record = await auditRecord(world, res.headers.get('x-scopekeeper-request-id'));
    recordAttack({
      suite: SUITE,
      attack: `upstream answers after 3 s, --upstream-timeout 1 s (stream: ${stream})`,
      expected: '504 timeout_error; audit error',
      status: res.status,
      errorType: errorTypeOf(body),
      note: `answered after ${Math.round((Date.now() - t0) / 100) / 10} s`,
    });
    // The stand-in would answer 200 after 3 s: a 504 timeout_error, audited as "did not answer", can
    // only be the sidecar's own --upstream-timeout (no wall-clock bound, which a busy machine breaks).
    expect([res.status, errorTypeOf(body)]).toEqual([504, 'timeout_error']);
    expect(record).toMatchObject({ status: 504, error: expect.stringContaining('did not answer') });
    await assertHealthy(world);
  });
});

type Mode = (req: IncomingMessage, res: ServerResponse) => void;
const sseHead = (res: ServerResponse, extra: Record<string, string> = {}) =>
  res.writeHead(200, { 'content-type': 'text/event-stream', ...extra });

describe('a misbehaving upstream (custom server)', () => {
  let world: World;
  let upstream: Server;
  let mode: Mode = (_req, res) => void res.end();
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.once('end', () => {
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ data: [{ type: 'model', id: 'claude-sonnet-4-5' }] }));
        }
        mode(req, res);
      });
    });
    upstream.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    world = await startWorld({ flags: { upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } });
    await addScope(world, 'plain', 'plain-bot', '  models: ["claude-sonnet-4-*"]');
    const token = await world.saToken('plain-bot');
    await waitForPolicy(
      world,
      async () => (await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
    );
  });
  afterAll(async () => {
    await world.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  const streams: [string, 'error' | 'message_stop', string | undefined, Mode][] = [
    [
      'reset in the middle of an event',
      'error',
      'interrupted',
      (_q, res) => (
        sseHead(res),
        res.write(START + DELTA('hello ') + 'event: content_block_delta\ndata: {"type":"content_bl'),
        void setTimeout(() => res.socket?.destroy(), 30)
      ),
    ],
    [
      'clean end in the middle of an event',
      'error',
      'ended before message_stop',
      (_q, res) => (sseHead(res), void res.end(START + DELTA('hello ') + 'event: content_block_delta\ndata: {"type":"content_bl')),
    ],
    [
      'clean end without message_stop',
      'error',
      'ended before message_stop',
      (_q, res) => (sseHead(res), void res.end(START + DELTA('hello '))),
    ],
    [
      'binary garbage as text/event-stream',
      'error',
      'ended before message_stop',
      (_q, res) => (sseHead(res), void res.end(Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x0d, 0x0a, 0x80, 0x0a, 0x0a]))),
    ],
    [
      'events whose data is not JSON',
      'message_stop',
      undefined,
      (_q, res) => (
        sseHead(res),
        void res.end(START + 'event: content_block_delta\ndata: {not json\n\nevent: message_delta\ndata: [1,2\n\n' + END)
      ),
    ],
    [
      'an error event from the upstream',
      'error',
      'upstream error event: overloaded_error',
      (_q, res) => (
        sseHead(res),
        void res.end(START + DELTA('x') + ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }))
      ),
    ],
    [
      'content-encoding gzip that is not gzip',
      'error',
      'interrupted',
      (_q, res) => (sseHead(res, { 'content-encoding': 'gzip' }), void res.end('this is not gzip')),
    ],
    [
      'one 5 MB line',
      'message_stop',
      undefined,
      (_q, res) => (sseHead(res), res.write(START), void res.end(`data: ${'a'.repeat(5 * 1024 * 1024)}\n\n` + END)),
    ],
    [
      // Before: held whole, whatever its size (300 MB of it took the sidecar to 1.6 GB of RSS).
      'one event of 20 MB that does not end',
      'error',
      'upstream event too large: an event still without its end after',
      (_q, res) => (sseHead(res), res.write(START + DELTA('hi') + 'event: content_block_delta\ndata: "'), void pour(res, 20)),
    ],
    [
      'CR-only line endings',
      'message_stop',
      undefined,
      (_q, res) => (sseHead(res), void res.end((START + DELTA('hi') + END).replace(/\n/g, '\r'))),
    ],
  ];

  describe.each(['plain-bot', 'support-bot'])('SSE as %s', (sa) => {
    const masking = sa === 'support-bot' ? 'masking on' : 'no masking';
    test.each(streams)('%s -> 200, the stream ends with %s', async (name, lastEvent, auditError, m) => {
      mode = m;
      const res = await ask(world, await world.saToken(sa), { stream: true });
      const { events, dangling } = sse(await res.text());
      const last = events[events.length - 1];
      const record = await auditRecord(world, res.headers.get('x-scopekeeper-request-id'));
      const errType = last?.event === 'error' ? (JSON.parse(last.data!) as { error: { type: string } }).error.type : undefined;
      recordAttack({
        suite: SUITE,
        attack: `upstream SSE: ${name} (${masking})`,
        expected: `200, ends with ${lastEvent}${auditError ? '; audit error' : ''}`,
        status: res.status,
        errorType: errType ? `sse:${errType}` : `sse:${last?.event}`,
        note: record.error,
      });
      expect(res.status).toBe(200);
      expect(last?.event).toBe(lastEvent);
      // The caller never holds half an event: an added error event is read as one.
      expect(dangling).toEqual([]);
      if (auditError) expect(record.error).toContain(auditError);
      else expect(record.error).toBeUndefined();
    });
  });

  const failures: [string, number, string, Mode][] = [
    [
      'JSON cut short (Content-Length 1000, 10 bytes sent)',
      502,
      'api_error',
      (_q, res) => (
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' }),
        res.write('{"id":"msg'),
        void setTimeout(() => res.socket?.destroy(), 20)
      ),
    ],
    [
      'response headers over 16 KB',
      502,
      'api_error',
      (_q, res) => void res.writeHead(200, { 'content-type': 'application/json', 'x-huge': 'a'.repeat(20 * 1024) }).end('{}'),
    ],
    ['connection closed without an answer', 502, 'api_error', (_q, res) => void res.socket?.destroy()],
    // Before: node:http destroyed the socket without 'response' or 'error', and the caller
    // waited for ever (the --upstream-timeout timer went with the socket).
    [
      '101 Switching Protocols that no request asked for',
      502,
      'api_error',
      (_q, res) => void res.socket?.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n'),
    ],
    // Before: node:http took the status, and the sidecar relayed it as sent (an SDK reads no
    // status it knows; the JSON body was masked all the same).
    ...[600, 799, 999].map((status): [string, number, string, Mode] => [
      `status ${status}, which HTTP does not define`,
      502,
      'api_error',
      (_q, res) =>
        void res.socket?.write(
          `HTTP/1.1 ${status} Odd\r\ncontent-type: application/json\r\ncontent-length: 31\r\n\r\n{"type":"message","content":[]}`,
        ),
    ]),
  ];
  test.each(failures)('%s -> %i %s', async (name, status, type, m) => {
    mode = m;
    const res = await ask(world, await world.saToken('support-bot'));
    const body = await res.text();
    const record = await auditRecord(world, res.headers.get('x-scopekeeper-request-id'));
    recordAttack({
      suite: SUITE,
      attack: `upstream: ${name}`,
      expected: `${status} ${type}; audit error`,
      status: res.status,
      errorType: errorTypeOf(body),
      note: record.error,
    });
    expect([res.status, errorTypeOf(body)]).toEqual([status, type]);
    expect(record.error).toBeDefined();
    expect(body).not.toContain(UPSTREAM_KEY);
  });

  test('a 200 JSON body that is not JSON is not delivered: 502, says why (before: 200, masked as text)', async () => {
    mode = (_q, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>mail jane.doe@example.com</html>');
    const res = await ask(world, await world.saToken('support-bot'));
    const body = await res.text();
    recordAttack({
      suite: SUITE,
      attack: 'upstream: 200 application/json that is HTML',
      expected: '502 api_error, not delivered',
      status: res.status,
      errorType: errorTypeOf(body),
      note: body,
    });
    expect(res.status).toBe(502);
    expect(errorTypeOf(body)).toBe('api_error');
    expect(body).toContain('not JSON');
    expect(body).not.toContain('jane.doe');
  });

  // The SDKs read the answer to a stream:true request as an event stream whatever its
  // content-type; the masker did by the content-type (case-sensitively), so a value split across
  // deltas, or written with \u0040, was masked as plain text and went out whole.
  const splitStream = (START + DELTA('mail jane.doe@exa') + DELTA('mple.com and xAT_example.com ') + END).replace('AT_', '\\u0040');
  test.each([
    ['application/json', { 'content-type': 'application/json' }],
    ['Text/Event-Stream', { 'content-type': 'Text/Event-Stream; charset=utf-8' }],
    ['no content-type', {}],
  ])('a stream:true answer sent as %s is masked as an event stream (before: as text, the address in clear)', async (name, head) => {
    mode = (_q, res) => void res.writeHead(200, head).end(splitStream);
    const res = await ask(world, await world.saToken('support-bot'), { stream: true });
    const text = await res.text();
    const { events } = sse(text);
    const said = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (JSON.parse(e.data!) as { delta: { text: string } }).delta.text)
      .join('');
    recordAttack({
      suite: SUITE,
      attack: `upstream: a stream:true answer sent as ${name}, a value split across deltas`,
      expected: '200, masked as an event stream',
      status: res.status,
      note: said,
    });
    expect(res.status).toBe(200);
    expect(said).toBe('mail [MASKED:email] and [MASKED:email] ');
    expect(events[events.length - 1]!.event).toBe('message_stop');
  });

  test('a stream:false answer that is an event stream is not delivered: 502 (it is not the JSON the SDK reads)', async () => {
    mode = (_q, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(splitStream);
    const res = await ask(world, await world.saToken('support-bot'));
    const body = await res.text();
    expect(res.status).toBe(502);
    expect(errorTypeOf(body)).toBe('api_error');
    expect(body).not.toContain('jane.doe');
  });

  test('a 200 JSON answer that is not UTF-8 is not delivered unmasked: 502, says why (before: 200, the e-mail in clear)', async () => {
    const answer = JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'mail jane.doe@example.com INVALID' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 3, output_tokens: 2 },
    });
    // one byte that is not UTF-8: a lenient decoder (every SDK's) shows U+FFFD and the rest in clear
    const bytes = Buffer.from(answer.replace('INVALID', '\u0000'), 'utf8');
    bytes[bytes.indexOf(0)] = 0xff;
    mode = (_q, res) => void res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length }).end(bytes);
    const res = await ask(world, await world.saToken('support-bot'));
    const body = await res.text();
    recordAttack({
      suite: SUITE,
      attack: 'upstream: 200 Messages JSON with one byte that is not UTF-8, an e-mail in its text (masking scope)',
      expected: '502 api_error, nothing of the answer delivered',
      status: res.status,
      errorType: errorTypeOf(body),
    });
    expect([res.status, errorTypeOf(body)]).toEqual([502, 'api_error']);
    expect(body).toContain('could not mask this answer of the model API (its body is not UTF-8 text)');
    expect(body).not.toContain('jane.doe');
  });

  test.each([
    ['JSON', false, 'application/json'],
    ['an event stream', true, 'text/event-stream'],
  ])(
    '%s in a content-encoding the sidecar does not decode (gzip, gzip), to a masking scope: 502 naming it (before: JSON went out as it came, to be decoded unmasked; a stream became a 200 its caller could not decode)',
    async (_n, stream, type) => {
      const text = stream
        ? `${START}${DELTA('mail jane.doe@example.com')}${END}`
        : JSON.stringify({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'mail jane.doe@example.com' }] });
      const bytes = gzipSync(gzipSync(Buffer.from(text)));
      mode = (_q, res) =>
        void res.writeHead(200, { 'content-type': type, 'content-encoding': 'gzip, gzip', 'content-length': bytes.length }).end(bytes);
      const res = await ask(world, await world.saToken('support-bot'), { stream });
      const body = await res.text();
      recordAttack({
        suite: SUITE,
        attack: `upstream: 200 ${type} with content-encoding "gzip, gzip" (masking scope)`,
        expected: '502 api_error naming the content-encoding, nothing of the answer delivered',
        status: res.status,
        errorType: errorTypeOf(body),
      });
      expect([res.status, errorTypeOf(body)]).toEqual([502, 'api_error']);
      expect(body).toContain('could not mask this answer of the model API (content-encoding gzip, gzip)');
    },
  );

  test('usage keys of a JSON answer other than the token counts become no metric label and no audit field', async () => {
    const usage = { input_tokens: 3, output_tokens: 2, evil_tokens: 9, 'a"b_tokens': 4, cache_read_input_tokens: 'x'.repeat(64) };
    mode = (_q, res) =>
      void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: 'msg_u', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], usage }));
    const res = await ask(world, await world.saToken('plain-bot'));
    await res.arrayBuffer();
    const record = (await auditRecord(world, res.headers.get('x-scopekeeper-request-id'))) as { usage?: unknown };
    const metrics = await (await fetch(`${world.adminUrl}/metrics`)).text();
    const types = new Set([...metrics.matchAll(/^scopekeeper_tokens_total\{[^}]*type="([^"]*)"/gm)].map((m) => m[1]));
    recordAttack({
      suite: SUITE,
      attack: 'upstream: a JSON answer whose usage has keys of its own (`evil_tokens`, a quote in a key)',
      expected: 'only the token counts are counted and recorded',
      status: res.status,
      note: [...types].join(','),
    });
    expect(res.status).toBe(200);
    expect(record.usage).toEqual({ input_tokens: 3, output_tokens: 2 });
    expect([...types].sort()).toEqual(['input', 'output']);
  });

  test('an upstream that cannot be reached is a 502 api_error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const w = await startWorld({ flags: { upstream: `http://127.0.0.1:${port}` } });
    try {
      const res = await ask(w, await w.saToken('support-bot'));
      const body = await res.text();
      recordAttack({
        suite: SUITE,
        attack: 'upstream port closed (connection refused)',
        expected: '502 api_error',
        status: res.status,
        errorType: errorTypeOf(body),
      });
      expect([res.status, errorTypeOf(body)]).toEqual([502, 'api_error']);
    } finally {
      await w.close();
    }
  });
});

describe('the upstream key file', () => {
  test('emptied: 503 api_error without a crash; restored: 200 again', async () => {
    const world = await startWorld();
    try {
      const token = await world.saToken('support-bot');
      await writeFile(world.keyFile, '');
      // The key is re-read at most once a second: ask until the sidecar has noticed (a request
      // before that still goes out with the old key); the refusal is checked on the request that
      // got it.
      const deadline = Date.now() + 10_000;
      let check = expectRefusal(world.auditFile, world.stub!);
      let res = await ask(world, token);
      while (res.status === 200 && Date.now() < deadline) {
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50)); // polling, not a wait that must be long enough
        check = expectRefusal(world.auditFile, world.stub!);
        res = await ask(world, token);
      }
      const body = await res.text();
      await check.refused(res);
      recordAttack({
        suite: SUITE,
        attack: 'upstream key file emptied (bad Secret rotation)',
        expected: '503 api_error, process alive',
        status: res.status,
        errorType: errorTypeOf(body),
      });
      expect([res.status, errorTypeOf(body)]).toEqual([503, 'api_error']);
      expect((await fetch(`${world.adminUrl}/healthz`)).status).toBe(200);
      await writeFile(world.keyFile, UPSTREAM_KEY);
      // Restored: healthy again once the sidecar re-reads the file (the same once-a-second window).
      const until = Date.now() + 10_000;
      for (;;) {
        try {
          await assertHealthy(world);
          break;
        } catch (e) {
          if (Date.now() > until) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      await world.close();
    }
  });
});

describe('the identity provider goes down', () => {
  test('cached keys keep working; a token with an unknown kid fails closed with 401', async () => {
    const world = await startWorld();
    try {
      const oldKid = world.issuer.currentKey('RS256').kid;
      await assertHealthy(world); // warms the JWKS cache
      world.issuer.available = false;
      const cached = await world.issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot' }, { kid: oldKid });
      const ok = await ask(world, cached);
      await ok.arrayBuffer();
      recordAttack({
        suite: SUITE,
        attack: 'JWKS endpoint down, token signed by a cached key',
        expected: '200 (cached keys)',
        status: ok.status,
      });
      expect(ok.status).toBe(200);
      await world.issuer.rotate('RS256');
      const rotated = await world.saToken('support-bot');
      const check = expectRefusal(world.auditFile, world.stub!);
      const res = await ask(world, rotated);
      const body = await res.text();
      await check.refused(res);
      recordAttack({
        suite: SUITE,
        attack: 'JWKS endpoint down, token signed by a new (unknown) kid',
        expected: '401 authentication_error',
        status: res.status,
        errorType: errorTypeOf(body),
      });
      expect([res.status, errorTypeOf(body)]).toEqual([401, 'authentication_error']);
      for (const part of rotated.split('.')) expect(body).not.toContain(part);
    } finally {
      world.issuer.available = true;
      await world.close();
    }
  });

  test('the verifier itself: an outage during a refresh fails closed, recovery lets the new key in', async () => {
    const issuer = await LocalIssuer.start();
    const verifier = new TokenVerifier({ issuers: [issuer.issuerConfig()], jwksRefreshIntervalSeconds: 0 });
    try {
      await verifier.warm();
      issuer.available = false;
      const kid = await issuer.rotate('RS256');
      const token = await issuer.mint({ sub: 'u1' });
      const err = await verifier.verify(token).catch((e: unknown) => e);
      recordAttack({
        suite: SUITE,
        attack: 'JWKS refresh answers 503 for an unknown kid (verifier)',
        expected: 'AuthenticationError (401), token not in the message',
        status: 401,
        errorType: (err as AuthenticationError).code,
      });
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as Error).message).not.toContain(token.split('.')[2]!);
      issuer.available = true;
      await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'u1' });
      expect(issuer.currentKey('RS256').kid).toBe(kid);
    } finally {
      await verifier.close();
      await issuer.close();
    }
  });
});
