// Bad input on the data port, sent over raw sockets so no client library normalises or refuses
// it first: request smuggling, header injection, oversized and trickled headers, bad bodies,
// bad credentials, route confusion, path traversal on /services, injection into held-request
// reviews and the audit. Every refusal is checked for its status and, where the sidecar answers
// itself, Anthropic's error shape; node's HTTP parser answers some with a bare 4xx and closes.
// The process must stay healthy and its heap must come back after a burst of bad requests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startWorld, type World } from '../../src/testing/world.ts';
import { verifyAuditFile } from '../../src/audit/index.ts';
import { addScope, waitForPolicy } from '../helpers.ts';
import { auditRecord, expectNothingForwarded, expectRefusal, type Upstream } from '../refusal.ts';
import { anthropicError, assertHealthy, completeJsonLines, errorTypeOf, rawHttp, recordAttack, settledHeap } from './support.ts';

const SUITE = 'bad input';
const LIMIT = 64 * 1024;

let world: World;
let crm: Server;
const crmSeen: string[] = [];
const crmUpstream: Upstream = {
  get total() {
    return crmSeen.length;
  },
};
/** Every refusal: its audit record exists, then neither the model API nor the service got anything. */
const refusal = () => expectRefusal(world.auditFile, world.stub!, crmUpstream);
/** The folder source's load count, to wait for the reload after a file changes. */
const policyLoads = async () => ((await (await fetch(`${world.adminUrl}/readyz`)).json()) as { policy: { loads: number } }).policy.loads;
async function waitForReload(after: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; (await policyLoads()) <= after;) {
    if (Date.now() > deadline) throw new Error('the policy folder was not reloaded within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}
let support: string; // token of support-bot (allowed, masking scope)
let crmBot: string; // token of crm-bot (an endpoint on a local service)

beforeAll(async () => {
  crm = createServer((req, res) => {
    crmSeen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ customers: [{ id: 1 }] }));
  });
  await new Promise<void>((r) => crm.listen(0, '127.0.0.1', r));
  world = await startWorld({ flags: { maxBodyBytes: LIMIT, headersTimeout: 1 } });
  const crmUrl = `http://127.0.0.1:${(crm.address() as AddressInfo).port}`;
  await addScope(
    world,
    'crm-reader',
    'crm-bot',
    `  models: ["claude-haiku-*"]\n  endpoints:\n    - {name: crm, url: "${crmUrl}", methods: [GET], paths: ["/customers/**"]}`,
  );
  support = await world.saToken('support-bot');
  crmBot = await world.saToken('crm-bot');
  await waitForPolicy(
    world,
    async () => (await fetch(`${world.url}/services/crm/customers/1`, { headers: { authorization: `Bearer ${crmBot}` } })).status === 200,
  );
});

afterAll(async () => {
  await world.close();
  crm.closeAllConnections();
  await new Promise<void>((r) => crm.close(() => r()));
});

const BODY = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
const auth = (t: string) => `Host: 127.0.0.1\r\nAuthorization: Bearer ${t}\r\n`;
const post = (t: string, extra: string, body: string) => `POST /v1/messages HTTP/1.1\r\n${auth(t)}${extra}\r\n${body}`;
const withLength = (t: string, body: string | Buffer, extra = '') =>
  Buffer.concat([
    Buffer.from(
      `POST /v1/messages HTTP/1.1\r\n${auth(t)}Content-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    ),
    Buffer.from(body),
  ]);

describe("refused by node's HTTP parser: a bare 4xx, the connection closed", () => {
  const n = Buffer.byteLength(BODY);
  const cases: [string, number, (t: string) => string | Buffer][] = [
    ['two Content-Length headers (different values)', 400, (t) => post(t, `Content-Length: ${n}\r\nContent-Length: 5\r\n`, BODY)],
    ['two Content-Length headers (same value)', 400, (t) => post(t, `Content-Length: ${n}\r\nContent-Length: ${n}\r\n`, BODY)],
    [
      'Content-Length and Transfer-Encoding: chunked (CL.TE)',
      400,
      (t) => post(t, `Content-Length: 4\r\nTransfer-Encoding: chunked\r\n`, '0\r\n\r\n'),
    ],
    [
      'Transfer-Encoding: chunked and Content-Length (TE.CL)',
      400,
      (t) => post(t, `Transfer-Encoding: chunked\r\nContent-Length: 4\r\n`, '0\r\n\r\n'),
    ],
    ['chunked: non-hex chunk size', 400, (t) => post(t, 'Transfer-Encoding: chunked\r\n', 'zz\r\nabc\r\n0\r\n\r\n')],
    ['chunked: negative chunk size', 400, (t) => post(t, 'Transfer-Encoding: chunked\r\n', '-1\r\nabc\r\n0\r\n\r\n')],
    [
      'chunked: chunk size overflowing 64 bits',
      400,
      (t) => post(t, 'Transfer-Encoding: chunked\r\n', 'fffffffffffffffffff\r\nabc\r\n0\r\n\r\n'),
    ],
    ['chunked: chunk data longer than its size', 400, (t) => post(t, 'Transfer-Encoding: chunked\r\n', '2\r\nabcdef\r\n0\r\n\r\n')],
    [
      'two Transfer-Encoding headers (chunked, identity)',
      400,
      (t) => post(t, 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n', '0\r\n\r\n'),
    ],
    ['Transfer-Encoding: identity', 400, (t) => post(t, 'Transfer-Encoding: identity\r\n', BODY)],
    ['"Transfer-Encoding : chunked" (space before the colon)', 400, (t) => post(t, 'Transfer-Encoding : chunked\r\n', '0\r\n\r\n')],
    ['Content-Length: -1', 400, (t) => post(t, 'Content-Length: -1\r\n', BODY)],
    ['Content-Length: 1e3', 400, (t) => post(t, 'Content-Length: 1e3\r\n', BODY)],
    ['obs-fold continuation line', 400, (t) => post(t, `X-Note: a\r\n  folded\r\nContent-Length: ${n}\r\n`, BODY)],
    [
      'obs-fold inside Authorization',
      400,
      (t) => `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer\r\n ${t}\r\nContent-Length: ${n}\r\n\r\n${BODY}`,
    ],
    ['bare CR in a header value (header injection)', 400, (t) => `GET /v1/models HTTP/1.1\r\n${auth(t)}X-Note: a\rInjected: yes\r\n\r\n`],
    ['bare LF in a header value (header injection)', 400, (t) => `GET /v1/models HTTP/1.1\r\n${auth(t)}X-Note: a\nInjected: yes\r\n\r\n`],
    [
      'CR LF CR LF inside a header value (response splitting)',
      400,
      (t) => `GET /v1/models HTTP/1.1\r\n${auth(t)}X-Note: a\r\r\n\r\nGET /admin HTTP/1.1\r\n\r\n`,
    ],
    ['NUL in a header value', 400, (t) => `GET /v1/models HTTP/1.1\r\n${auth(t)}X-Note: a\0b\r\n\r\n`],
    ['space inside a header name', 400, (t) => `GET /v1/models HTTP/1.1\r\n${auth(t)}X Note: a\r\n\r\n`],
    ['space in the request target', 400, (t) => `GET /services/crm/customers/a b HTTP/1.1\r\n${auth(t)}\r\n`],
    ['unknown method FOO', 400, () => 'FOO /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
    ['HTTP/2 connection preface on the HTTP/1.1 port', 400, () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['HTTP version 9.9', 400, () => 'GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n'],
    ['HTTP/1.1 request without Host', 400, (t) => `GET /v1/models HTTP/1.1\r\nAuthorization: Bearer ${t}\r\n\r\n`],
    ['one header over 32 KB', 431, (t) => `GET /v1/models HTTP/1.1\r\n${auth(t)}X-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`],
    [
      '2,000 small headers (over 32 KB in total)',
      431,
      (t) => `GET /v1/models HTTP/1.1\r\n${auth(t)}${Array.from({ length: 2000 }, (_, i) => `X-H${i}: 0123456789\r\n`).join('')}\r\n`,
    ],
  ];
  test.each(cases)('%s -> %i', async (name, status, build) => {
    const check = expectNothingForwarded(world.stub!, crmUpstream);
    const r = await rawHttp(world.url, build(support));
    check.check(); // the connection is closed: nothing can follow
    recordAttack({
      suite: SUITE,
      attack: name,
      expected: `${status}, closed (node)`,
      status: r.status,
      closed: r.closed,
      note: "node's HTTP parser",
    });
    expect([r.status, r.closed]).toEqual([status, true]);
    expect(r.body).toBe('');
    expect(r.headers['x-scopekeeper-request-id']).toBeUndefined(); // it never reached the sidecar's code
  });

  test('CONNECT is not served: the connection is closed without an answer', async () => {
    const r = await rawHttp(world.url, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    recordAttack({
      suite: SUITE,
      attack: 'CONNECT tunnel request',
      expected: 'no answer, closed',
      status: r.status,
      closed: r.closed,
      note: 'no CONNECT handler',
    });
    expect([r.status, r.closed]).toEqual([0, true]);
  });

  test('slowloris: headers trickled in are cut off by the headers timeout (408, closed)', async () => {
    // --headers-timeout is 1 s in this world; the trickle would take 6 s.
    const lines = Array.from({ length: 30 }, (_, i) => `X-Slow-${i}: a\r\n`);
    const r = await rawHttp(world.url, 'GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n', { trickle: lines, gapMs: 200, waitMs: 5000 });
    recordAttack({
      suite: SUITE,
      attack: 'slowloris (headers trickled, 1 line per 200 ms)',
      expected: '408, closed within the headers timeout',
      status: r.status,
      closed: r.closed,
      note: `closed after ${Math.round(r.elapsedMs / 100) / 10} s with a 1 s headers timeout`,
    });
    // Not cut off, the trickle would end after 6 s with complete headers and get 401: 408 and a
    // closed connection can only be the headers timeout (no wall-clock bound needed).
    expect([r.status, r.closed]).toEqual([408, true]);
  });
});

describe("refused by the sidecar, in Anthropic's shape", () => {
  const cases: [string, number, string, (t: string) => string | Buffer][] = [
    ['malformed JSON body', 400, 'invalid_request_error', (t) => withLength(t, '{"model": ')],
    // JSON.parse keeps a repeated key's last copy; an upstream that kept the first would serve
    // a model or tools that were never checked (docs/SECURITY.md, "Parser differentials").
    [
      'repeated key: "model" twice (a denied model first, an allowed one last)',
      400,
      'invalid_request_error',
      (t) =>
        withLength(
          t,
          '{"model":"claude-opus-4-1","max_tokens":32,"messages":[{"role":"user","content":"hi"}],"model":"claude-sonnet-4-5"}',
        ),
    ],
    [
      'repeated key: "tools" twice (a denied tool first, an allowed one last)',
      400,
      'invalid_request_error',
      (t) =>
        withLength(
          t,
          '{"model":"claude-sonnet-4-5","max_tokens":32,"tools":[{"name":"Bash","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"Read","input_schema":{"type":"object"}}]}',
        ),
    ],
    [
      'repeated key: "name" twice inside one tool, the second spelled with an escape',
      400,
      'invalid_request_error',
      (t) =>
        withLength(
          t,
          '{"model":"claude-sonnet-4-5","max_tokens":32,"tools":[{"name":"Bash","n\\u0061me":"Read","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}',
        ),
    ],
    // The scope allows claude-sonnet-4-*: a server that cuts the name at the NUL or the line break
    // (or folds the look-alike) would call a model other than the one matched.
    [
      'model "claude-sonnet-4-5\\u0000x" (a NUL inside the name)',
      400,
      'invalid_request_error',
      (t) => withLength(t, BODY.replace('"claude-sonnet-4-5"', '"claude-sonnet-4-5\\u0000x"')),
    ],
    [
      'model "claude-sonnet-4-5\\nx" (a line break inside the name)',
      400,
      'invalid_request_error',
      (t) => withLength(t, BODY.replace('"claude-sonnet-4-5"', '"claude-sonnet-4-5\\nx"')),
    ],
    [
      'model "claude-sonnet-4-5\\u2024x" (a look-alike of ".")',
      400,
      'invalid_request_error',
      (t) => withLength(t, BODY.replace('"claude-sonnet-4-5"', '"claude-sonnet-4-5\\u2024x"')),
    ],
    // The body is decided on as sent; an upstream that decodes a Content-Encoding reads other bytes
    // (a JSON text starting with `{` is also the start of a raw deflate block).
    [
      'Content-Encoding: deflate on a Messages body sent as plain JSON',
      415,
      'invalid_request_error',
      (t) => withLength(t, BODY, 'Content-Encoding: deflate\r\n'),
    ],
    ['Content-Encoding: gzip on a Messages body', 415, 'invalid_request_error', (t) => withLength(t, BODY, 'Content-Encoding: gzip\r\n')],
    [
      'two Content-Encoding headers, identity then br',
      415,
      'invalid_request_error',
      (t) => withLength(t, BODY, 'Content-Encoding: identity\r\nContent-Encoding: br\r\n'),
    ],
    [
      'Content-Encoding: deflate on a count_tokens body',
      415,
      'invalid_request_error',
      (t) =>
        withLength(t, BODY, 'Content-Encoding: deflate\r\n')
          .toString('latin1')
          .replace('POST /v1/messages ', 'POST /v1/messages/count_tokens '),
    ],
    [
      'invalid UTF-8 byte (0xFF) in a JSON string',
      400,
      'invalid_request_error',
      (t) =>
        withLength(
          t,
          Buffer.concat([
            Buffer.from('{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"'),
            Buffer.from([0xff, 0xfe]),
            Buffer.from('"}]}'),
          ]),
        ),
    ],
    [
      'overlong UTF-8 (0xC0 0xAE) in a JSON string',
      400,
      'invalid_request_error',
      (t) =>
        withLength(
          t,
          Buffer.concat([
            Buffer.from('{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"'),
            Buffer.from([0xc0, 0xae]),
            Buffer.from('"}]}'),
          ]),
        ),
    ],
    [
      'UTF-8-encoded lone surrogate (0xED 0xA0 0x80)',
      400,
      'invalid_request_error',
      (t) =>
        withLength(
          t,
          Buffer.concat([
            Buffer.from('{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"'),
            Buffer.from([0xed, 0xa0, 0x80]),
            Buffer.from('"}]}'),
          ]),
        ),
    ],
    ['empty body', 400, 'invalid_request_error', (t) => withLength(t, '')],
    ['JSON array instead of an object', 400, 'invalid_request_error', (t) => withLength(t, '[1,2,3]')],
    ['JSON null', 400, 'invalid_request_error', (t) => withLength(t, 'null')],
    ['model missing', 400, 'invalid_request_error', (t) => withLength(t, '{"max_tokens":32,"messages":[]}')],
    [
      'max_tokens is a string',
      400,
      'invalid_request_error',
      (t) => withLength(t, '{"model":"claude-sonnet-4-5","max_tokens":"32","messages":[]}'),
    ],
    [
      'tools is not an array',
      400,
      'invalid_request_error',
      (t) => withLength(t, '{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[],"tools":{"name":"Bash"}}'),
    ],
    [
      'a tool without a name',
      400,
      'invalid_request_error',
      (t) => withLength(t, '{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[],"tools":[{"input_schema":{}}]}'),
    ],
    [
      '"Transfer-Encoding: gzip, chunked" (body read as sent: not JSON)',
      400,
      'invalid_request_error',
      (t) => post(t, 'Transfer-Encoding: gzip, chunked\r\n', '5\r\n\x1f\x8b\x08\x00\x00\r\n0\r\n\r\n'),
    ],
    ['body over the limit (declared Content-Length)', 413, 'request_too_large', (t) => post(t, 'Content-Length: 999999999999\r\n', 'abc')],
    [
      'no credentials',
      401,
      'authentication_error',
      () => `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`,
    ],
    [
      'Authorization: Basic',
      401,
      'authentication_error',
      () => `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n`,
    ],
    [
      'Authorization: Bearer with two tokens',
      401,
      'authentication_error',
      (t) => `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t} ${t}\r\n\r\n`,
    ],
    [
      'two different Authorization headers',
      401,
      'authentication_error',
      (t) => `GET /v1/models HTTP/1.1\r\n${auth(t)}Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln\r\n\r\n`,
    ],
    [
      'two different Authorization headers (valid one second)',
      401,
      'authentication_error',
      (t) =>
        `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln\r\nAuthorization: Bearer ${t}\r\n\r\n`,
    ],
    [
      'two different x-api-key headers',
      401,
      'authentication_error',
      (t) => `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${t}\r\nx-api-key: eyJhbGciOiJSUzI1NiJ9.e30.c2ln\r\n\r\n`,
    ],
    [
      'an Anthropic API key in x-api-key',
      401,
      'authentication_error',
      () => `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: sk-ant-api03-${'A'.repeat(40)}\r\n\r\n`,
    ],
    [
      'a 20 KB token',
      401,
      'authentication_error',
      () => `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer eyJ${'a'.repeat(20 * 1024)}.e30.c2ln\r\n\r\n`,
    ],
    [
      'latin1 bytes in Authorization',
      401,
      'authentication_error',
      () =>
        Buffer.concat([
          Buffer.from('GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer '),
          Buffer.from([0xe9, 0xff, 0xa0]),
          Buffer.from('\r\n\r\n'),
        ]),
    ],
    ['unknown path GET /v1/complete', 404, 'not_found_error', (t) => `GET /v1/complete HTTP/1.1\r\n${auth(t)}\r\n`],
    ['method PROPFIND', 404, 'not_found_error', (t) => `PROPFIND /v1/messages HTTP/1.1\r\n${auth(t)}\r\n`],
    ['method OPTIONS', 404, 'not_found_error', (t) => `OPTIONS /v1/messages HTTP/1.1\r\n${auth(t)}\r\n`],
    // not a path (origin-form): refused before any route, as an absolute-form target is
    ['OPTIONS *', 400, 'invalid_request_error', (t) => `OPTIONS * HTTP/1.1\r\n${auth(t)}\r\n`],
    ['method TRACE', 404, 'not_found_error', (t) => `TRACE / HTTP/1.1\r\n${auth(t)}\r\n`],
    ['method PATCH on /v1/messages', 404, 'not_found_error', (t) => `PATCH /v1/messages HTTP/1.1\r\n${auth(t)}Content-Length: 2\r\n\r\n{}`],
    [
      'route confusion: POST /v1/messages/ (trailing slash)',
      404,
      'not_found_error',
      (t) => withLength(t, BODY).toString('latin1').replace('POST /v1/messages ', 'POST /v1/messages/ '),
    ],
    [
      'route confusion: POST /V1/MESSAGES',
      404,
      'not_found_error',
      (t) => withLength(t, BODY).toString('latin1').replace('POST /v1/messages ', 'POST /V1/MESSAGES '),
    ],
    [
      'route confusion: POST //v1/messages',
      400,
      'invalid_request_error',
      (t) => withLength(t, BODY).toString('latin1').replace('POST /v1/messages ', 'POST //v1/messages '),
    ],
  ];
  test.each(cases)('%s -> %i %s', async (name, status, type, build) => {
    const check = refusal();
    const r = await rawHttp(world.url, build(support), { firstResponse: true });
    recordAttack({
      suite: SUITE,
      attack: name,
      expected: `${status} ${type}`,
      status: r.status,
      errorType: errorTypeOf(r.body),
      closed: r.closed || undefined,
    });
    expect([r.status, errorTypeOf(r.body)]).toEqual([status, type]);
    const e = anthropicError(r.body);
    expect(e.request_id).toBe(r.headers['x-scopekeeper-request-id']);
    expect(r.body).not.toContain(support);
    if (status === 404)
      check.checkNow(); // an unknown route writes no audit record
    else await check.refused(r);
  });

  test('a body over the limit closes the connection instead of draining the rest (declared and chunked)', async () => {
    const declared = await rawHttp(world.url, post(support, 'Content-Length: 999999999999\r\n', 'x'.repeat(1000)));
    // A chunked body that keeps coming: 1 KB chunks, far past the 64 KB limit.
    const chunks = Array.from({ length: 200 }, () => `400\r\n${'a'.repeat(1024)}\r\n`);
    const chunked = await rawHttp(world.url, post(support, 'Transfer-Encoding: chunked\r\n', ''), {
      trickle: chunks,
      gapMs: 2,
      waitMs: 3000,
    });
    for (const [name, r] of [
      ['body over the limit, declared (connection)', declared],
      ['body over the limit, chunked and endless', chunked],
    ] as const) {
      recordAttack({
        suite: SUITE,
        attack: name,
        expected: '413 request_too_large, closed',
        status: r.status,
        errorType: errorTypeOf(r.body),
        closed: r.closed,
      });
      expect([r.status, errorTypeOf(r.body), r.closed]).toEqual([413, 'request_too_large', true]);
      expect(r.headers.connection).toBe('close');
    }
  });

  test('JSON nested 30,000 levels deep is parsed without recursion and forwarded unchanged', async () => {
    const nested = `{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"hi"}],"metadata":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    const before = world.stub!.received.length;
    const r = await rawHttp(world.url, withLength(support, nested), { firstResponse: true });
    recordAttack({
      suite: SUITE,
      attack: 'JSON nested 30,000 levels deep (60 KB)',
      expected: '200, forwarded byte for byte',
      status: r.status,
      note: 'no stack overflow',
    });
    expect(r.status).toBe(200);
    expect(world.stub!.received.slice(before)[0]!.body.toString()).toBe(nested);
  });

  test('identical duplicate Authorization headers are one token: accepted', async () => {
    const r = await rawHttp(world.url, `GET /v1/models HTTP/1.1\r\n${auth(support)}Authorization: Bearer ${support}\r\n\r\n`, {
      firstResponse: true,
    });
    recordAttack({ suite: SUITE, attack: 'two identical Authorization headers', expected: '200 (the same token)', status: r.status });
    expect(r.status).toBe(200);
  });

  test('Content-Encoding: identity (the body as sent) is accepted', async () => {
    const r = await rawHttp(world.url, withLength(support, BODY, 'Content-Encoding: identity\r\n'), { firstResponse: true });
    expect(r.status).toBe(200);
  });
});

describe('a request target the router reads otherwise than the upstream: refused before any route', () => {
  // The router reads the path through url.parse: it drops a fragment and reads '\\' as '/'.
  const big = JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 100_000,
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
  });
  test.each([
    ['POST /v1/messages#/count_tokens', "carries '#'"],
    ['POST /v1/messages?beta=true#/count_tokens', "carries '#'"],
    ['POST /v1\\messages', 'carries a backslash'],
  ])(
    '%s with max_tokens over the scope’s limit: 400, nothing forwarded (before: the router and the upstream read two paths)',
    async (line, problem) => {
      const check = refusal();
      const raw = withLength(support, big).toString('latin1').replace('POST /v1/messages ', `${line} `);
      const r = await rawHttp(world.url, raw, { firstResponse: true });
      recordAttack({ suite: SUITE, attack: line, expected: '400 invalid_request_error', status: r.status, errorType: errorTypeOf(r.body) });
      expect(r.status).toBe(400);
      expect(anthropicError(r.body).error).toMatchObject({
        type: 'invalid_request_error',
        message: expect.stringContaining(`the request target ${problem}`),
      });
      const record = await check.refused(r);
      expect(record).toMatchObject({ decision: 'deny', reasons: ['TargetRejected'] });
    },
  );
});

describe('keys equal under case folding in one object: refused as a repeated key', () => {
  // Go's encoding/json (Unicode simple folding: \u017f is s), Jackson with case-insensitive
  // properties and .NET read them as one key; JSON.parse, and so the check, as two. Each was 200.
  const R = '"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"hi"}]';
  test.each([
    [
      '"name" and "NAME" in one tool (Read allowed, Bash denied)',
      'name',
      'NAME',
      'tools.0',
      `{${R},"tools":[{"name":"Read","NAME":"Bash","input_schema":{"type":"object"}}]}`,
    ],
    [
      '"type" and "Type" in one tool (custom, a server tool)',
      'type',
      'Type',
      'tools.0',
      `{${R},"tools":[{"name":"Read","type":"custom","Type":"web_search_20250305","input_schema":{"type":"object"}}]}`,
    ],
    [
      '"skills" and "\\u017fkills" in container',
      'skills',
      '\u017fkills',
      'container',
      `{${R},"container":{"skills":[],"\\u017fkills":[{"type":"anthropic","skill_id":"xlsx"}]}}`,
    ],
  ])('%s: 400 naming both keys, nothing forwarded', async (_name, first, key, at, body) => {
    const check = refusal();
    const r = await rawHttp(world.url, withLength(support, body), { firstResponse: true });
    recordAttack({
      suite: SUITE,
      attack: `case-folded keys: ${_name}`,
      expected: '400 invalid_request_error',
      status: r.status,
      errorType: errorTypeOf(r.body),
      note: 'a case-insensitive parser reads the other',
    });
    expect(r.status).toBe(400);
    expect(anthropicError(r.body).error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining(
        `names the keys ${JSON.stringify(first)} and ${JSON.stringify(key)} in the object at ${at}: they differ only by case`,
      ),
    });
    const record = await check.refused(r);
    expect(record).toMatchObject({ decision: 'deny', reasons: ['InvalidRequest'] });
  });
});

describe('a lone key spelt otherwise than the API, in an object the API defines: refused', () => {
  test('tools: [{name: Read, Type: web_search_20250305}] (a client tool here, the web_search server tool to a case-insensitive server): 400, nothing forwarded, one audit record', async () => {
    const R = '"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"hi"}]';
    const check = refusal();
    const r = await rawHttp(world.url, withLength(support, `{${R},"tools":[{"name":"Read","Type":"web_search_20250305"}]}`), {
      firstResponse: true,
    });
    recordAttack({
      suite: SUITE,
      attack: 'case-folded key: a lone "Type" in a tool definition',
      expected: '400 invalid_request_error',
      status: r.status,
      errorType: errorTypeOf(r.body),
      note: 'a case-insensitive parser reads it as "type"',
    });
    expect(r.status).toBe(400);
    expect(anthropicError(r.body).error).toEqual({
      type: 'invalid_request_error',
      message:
        'tools.0.Type: the API\'s field is "type"; a server that matches keys case-insensitively would read this key as it. Spell it "type", or leave it out.',
    });
    const record = await check.refused(r);
    expect(record).toMatchObject({ decision: 'deny', reasons: ['InvalidRequest'] });
    const lines = (await readFile(world.auditFile, 'utf8')).split('\n').filter((l) => l.includes(record.requestId));
    expect(lines).toHaveLength(1);
  });
});

describe('a request target that is not a path (absolute-form): refused before any route', () => {
  // The router reads an absolute-form target through url.parse, the forwarder through new URL:
  // `POST http:///v1/messages` was judged as Messages and forwarded as `POST /messages`,
  // `POST http://@/v1/messages` as `POST /`; a host in the target was ignored. Each was 200.
  test.each([
    ['POST http:///v1/messages'],
    ['POST http://@/v1/messages'],
    ['POST http://evil.example/v1/messages'],
    ['POST http://x/v1/messages/count_tokens'],
    ['POST //x/v1/messages'],
    ['GET http://x/v1/models'],
  ])('%s: 400 naming what to send, one audit record, nothing forwarded', async (line) => {
    const check = refusal();
    const raw = line.startsWith('GET ')
      ? `${line} HTTP/1.1\r\n${auth(support)}\r\n`
      : withLength(support, BODY).toString('latin1').replace('POST /v1/messages ', `${line} `);
    const r = await rawHttp(world.url, raw, { firstResponse: true });
    recordAttack({
      suite: SUITE,
      attack: `absolute-form target: ${line}`,
      expected: '400 invalid_request_error',
      status: r.status,
      errorType: errorTypeOf(r.body),
      note: 'router and forwarder read it apart',
    });
    expect(r.status).toBe(400);
    expect(anthropicError(r.body).error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining("the request target is not a path starting with one '/' (origin-form)"),
    });
    expect(anthropicError(r.body).error.message).toContain('send the path alone, as in POST /v1/messages');
    const record = await check.refused(r);
    expect(record).toMatchObject({ decision: 'deny', reasons: ['TargetRejected'] });
    const lines = (await readFile(world.auditFile, 'utf8')).split('\n').filter((l) => l.includes(`"${record.requestId}"`));
    expect(lines).toHaveLength(1);
  });
});

describe('request shapes HTTP/1.1 allows: each request decided on its own, nothing tunnelled', () => {
  // status lines, wherever they start: a pipelined answer follows the previous body directly
  const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) [A-Z]/g)].map((m) => Number(m[1]));

  test('three pipelined requests on one connection (allowed, bad token, allowed): three answers in order', async () => {
    const before = world.stub!.received.length;
    const raw = Buffer.concat([
      withLength(support, BODY),
      withLength('not-a-jwt', BODY),
      withLength(support, BODY, 'Connection: close\r\n'),
    ]);
    const r = await rawHttp(world.url, raw);
    const seen = statuses(r.text);
    recordAttack({
      suite: SUITE,
      attack: 'three pipelined requests (allowed, bad token, allowed)',
      expected: '200, 401, 200 in order; two forwarded',
      status: seen[1] ?? 0,
      note: `answers ${seen.join(', ')}`,
    });
    expect(seen).toEqual([200, 401, 200]);
    expect(world.stub!.received.length - before).toBe(2);
  });

  test('Expect: 100-continue: 100, then the decision on the body', async () => {
    const r = await rawHttp(world.url, withLength(support, BODY, 'Expect: 100-continue\r\nConnection: close\r\n'));
    const seen = statuses(r.text);
    recordAttack({
      suite: SUITE,
      attack: 'Expect: 100-continue',
      expected: '100, then 200',
      status: seen.at(-1) ?? 0,
      note: `answers ${seen.join(', ')}`,
    });
    expect(seen).toEqual([100, 200]);
  });

  test.each([
    [
      'websocket',
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n',
    ],
    ['h2c', 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n'],
  ])('Upgrade: %s on /v1/messages is a plain request: no 101, the upstream is not asked to upgrade', async (name, extra) => {
    const before = world.stub!.received.length;
    const r = await rawHttp(world.url, withLength(support, BODY, extra), { firstResponse: true });
    recordAttack({
      suite: SUITE,
      attack: `Upgrade: ${name} on POST /v1/messages`,
      expected: '200, no upgrade forwarded',
      status: r.status,
    });
    expect(r.status).toBe(200);
    const seen = world.stub!.received.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.upgrade).toBeUndefined();
    expect(seen[0]!.headers['http2-settings']).toBeUndefined();
    expect(String(seen[0]!.headers.connection ?? '')).not.toMatch(/upgrade/i);
  });

  test('chunked body with trailers naming Authorization and a model: the trailers go nowhere', async () => {
    const before = world.stub!.received.length;
    const n = Buffer.byteLength(BODY).toString(16);
    const raw =
      `POST /v1/messages HTTP/1.1\r\n${auth(support)}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nTrailer: X-Model, Authorization\r\n\r\n` +
      `${n}\r\n${BODY}\r\n0\r\nX-Model: claude-opus-4-1\r\nAuthorization: Bearer not-a-jwt\r\n\r\n`;
    const r = await rawHttp(world.url, raw, { firstResponse: true });
    recordAttack({
      suite: SUITE,
      attack: 'chunked body with trailers (X-Model, Authorization)',
      expected: '200 on the headers; trailers not forwarded',
      status: r.status,
    });
    expect(r.status).toBe(200);
    const seen = world.stub!.received.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body.toString()).toBe(BODY);
    expect(seen[0]!.headers['content-length']).toBe(String(Buffer.byteLength(BODY)));
    expect(seen[0]!.headers['x-model']).toBeUndefined();
    expect(seen[0]!.headers.trailer).toBeUndefined();
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });
});

describe('/services: traversal and encoding tricks never reach a path outside the scope', () => {
  const cases: [string, number, string][] = [
    ['/services/crm/customers/../admin', 400, 'invalid_request_error'],
    ['/services/crm/customers/%2e%2e/admin', 400, 'invalid_request_error'],
    ['/services/crm/customers/%2E%2E/admin', 400, 'invalid_request_error'],
    ['/services/crm/customers/.%2e/admin', 400, 'invalid_request_error'],
    ['/services/crm/customers/./1', 400, 'invalid_request_error'],
    ['/services/crm/customers%2fadmin', 400, 'invalid_request_error'],
    ['/services/crm/customers%2Fadmin', 400, 'invalid_request_error'],
    ['/services/crm/customers/%252e%252e/admin', 400, 'invalid_request_error'],
    ['/services/crm/customers/..%5cadmin', 400, 'invalid_request_error'],
    ['/services/crm/customers\\..\\admin', 400, 'invalid_request_error'],
    ['/services/crm/customers/1%00', 400, 'invalid_request_error'],
    ['/services/crm/customers/%c0%ae%c0%ae/admin', 400, 'invalid_request_error'],
    ['/services/crm/customers/%zz', 400, 'invalid_request_error'],
    ['/services/crm//admin', 400, 'invalid_request_error'],
    ['/services/crm/customers/1%23/../../admin', 400, 'invalid_request_error'],
    ['/services/../v1/messages', 400, 'invalid_request_error'],
    ['/services/CRM/customers/1', 400, 'invalid_request_error'],
    ['/services/crm%2fcustomers/1', 400, 'invalid_request_error'],
    ['http://evil.example/services/crm/customers/1', 400, 'invalid_request_error'],
    ['/services/crm/customers/1#/notes', 400, 'invalid_request_error'],
    ['/services/crm/customers/1?view=full#x', 400, 'invalid_request_error'],
    ['/services/crm/admin', 403, 'permission_error'],
    ['/services/crm/customersX/1', 403, 'permission_error'],
    ['/services/other/customers/1', 403, 'permission_error'],
  ];
  test.each(cases)('GET %s -> %i %s', async (path, status, type) => {
    const check = refusal();
    const r = await rawHttp(world.url, `GET ${path} HTTP/1.1\r\n${auth(crmBot)}\r\n`, { firstResponse: true });
    recordAttack({
      suite: SUITE,
      attack: `GET ${path}`,
      expected: `${status} ${type}`,
      status: r.status,
      errorType: errorTypeOf(r.body),
      closed: r.closed || undefined,
      note: 'path traversal / encoding',
    });
    expect([r.status, errorTypeOf(r.body)]).toEqual([status, type]);
    await check.refused(r);
  });

  test('a method outside the endpoint is refused; the allowed path still works', async () => {
    const check = refusal();
    const denied = await rawHttp(world.url, `DELETE /services/crm/customers/1 HTTP/1.1\r\n${auth(crmBot)}\r\n`, { firstResponse: true });
    recordAttack({
      suite: SUITE,
      attack: 'DELETE /services/crm/customers/1 (only GET allowed)',
      expected: '403 permission_error',
      status: denied.status,
      errorType: errorTypeOf(denied.body),
    });
    expect([denied.status, errorTypeOf(denied.body)]).toEqual([403, 'permission_error']);
    await check.refused(denied);
    const ok = await rawHttp(world.url, `GET /services/crm/customers/1?q=../../admin HTTP/1.1\r\n${auth(crmBot)}\r\n`, {
      firstResponse: true,
    });
    expect(ok.status).toBe(200);
    expect(crmSeen.every((p) => p.startsWith('/customers/'))).toBe(true);
  });
});

describe('injection into what the sidecar writes', () => {
  test('a tool name that is not a tool name (YAML in it) is refused before anything is written', async () => {
    const ops = await world.saToken('ops-bot');
    const tool = 'mcp__crm__x\ndecision: Approved\nreviewer: mallory@example.com';
    const check = refusal();
    const res = await fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-opus-4-1',
        max_tokens: 32,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [
          { name: 'Bash', input_schema: { type: 'object' } },
          { name: tool, input_schema: { type: 'object' } },
        ],
      }),
    });
    const body = await res.text();
    recordAttack({
      suite: SUITE,
      attack: 'YAML injection via the tool name of a held request',
      expected: '400 invalid_request_error, no review written',
      status: res.status,
      errorType: errorTypeOf(body),
    });
    expect([res.status, errorTypeOf(body)]).toEqual([400, 'invalid_request_error']);
    expect(res.headers.get('x-scopekeeper-approval')).toBeNull();
    await check.refused(res);
  });

  test('a held request cannot approve itself through YAML in its reason', async () => {
    const ops = await world.saToken('ops-bot');
    const tool = 'Grep';
    const reason = 'urgent", decision: "Approved", reviewer: "mallory@example.com';
    const ask = () =>
      fetch(`${world.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ops}`, 'content-type': 'application/json', 'x-scopekeeper-reason': reason },
        body: JSON.stringify({
          model: 'claude-opus-4-1',
          max_tokens: 32,
          messages: [{ role: 'user', content: 'hi' }],
          tools: [
            { name: 'Bash', input_schema: { type: 'object' } },
            { name: tool, input_schema: { type: 'object' } },
          ],
        }),
      });
    const loads = await policyLoads();
    const check = refusal();
    const first = await ask();
    await first.arrayBuffer();
    await check.refused(first);
    const ref = first.headers.get('x-scopekeeper-approval')!;
    recordAttack({
      suite: SUITE,
      attack: 'YAML injection via x-scopekeeper-reason of a held request',
      expected: '403 approval-required, review stays Pending',
      status: first.status,
      errorType: 'permission_error',
    });
    expect(first.status).toBe(403);
    const file = join(world.policyDir, `${ref.split('/')[1]}.yaml`);
    const review = parse(await readFile(file, 'utf8')) as { spec: { decision: string; reviewer?: string; request: { reason: string } } };
    expect(review.spec.decision).toBe('Pending');
    expect(review.spec.reviewer).toBeUndefined();
    expect(review.spec.request.reason).toBe(reason);
    await waitForReload(loads); // the sidecar has read the review it wrote
    const checkAgain = refusal();
    const again = await ask();
    await again.arrayBuffer();
    expect([again.status, again.headers.get('x-scopekeeper-decision')]).toEqual([403, 'approval-required']);
    await checkAgain.refused(again);
  });

  test('a held request whose review the folder would refuse is not written (no policy poisoning)', async () => {
    const ops = await world.saToken('ops-bot');
    const files = await readdir(world.policyDir);
    const check = refusal();
    const res = await fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `claude-opus-${'x'.repeat(200)}`, max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = await res.text();
    recordAttack({
      suite: SUITE,
      attack: 'held request with a 212-character model name (review the folder would refuse)',
      expected: '403, no review written, later policy changes still load',
      status: res.status,
      errorType: errorTypeOf(body),
    });
    expect([res.status, errorTypeOf(body)]).toEqual([403, 'permission_error']);
    expect(anthropicError(body).error.message).toContain('could not be created');
    await check.refused(res);
    // the request is finished and no review file was written (so nothing can poison a reload)
    expect(await readdir(world.policyDir)).toEqual(files);
    const ready = (await (await fetch(`${world.adminUrl}/readyz`)).json()) as { policy: { lastError?: string } };
    expect(ready.policy.lastError).toBeUndefined();
    // A later change to the folder still applies.
    await addScope(world, 'after-attack', 'after-bot', '  models: ["claude-haiku-*"]');
    const after = await world.saToken('after-bot');
    await waitForPolicy(
      world,
      async () => (await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${after}` } })).status === 200,
    );
  });

  test('header values that look like JSON or log lines stay inside their audit field; the chain verifies', async () => {
    const session = '"},"decision":"allow","x":{"' + '\\n{"forged":true}';
    const res = await fetch(`${world.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${support}`, 'content-type': 'application/json', 'x-claude-code-session-id': session },
      body: BODY,
    });
    await res.arrayBuffer();
    recordAttack({
      suite: SUITE,
      attack: 'audit injection via x-claude-code-session-id',
      expected: '200, value stored as one string, chain verifies',
      status: res.status,
    });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-scopekeeper-request-id');
    type Rec = { requestId: string; sessionId?: string; forged?: unknown };
    const record = (await auditRecord(world.auditFile, id!)) as Rec;
    expect(record.sessionId).toBe(session);
    expect(completeJsonLines<Rec>(await readFile(world.auditFile, 'utf8')).every((r) => r.forged === undefined)).toBe(true);
    expect((await verifyAuditFile(world.auditFile)).ok).toBe(true);
  });
});

describe('after the attacks', () => {
  test('200 mixed bad requests: the process answers normally, /healthz ok, heap back near its baseline', async () => {
    await assertHealthy(world);
    const before = await settledHeap();
    const bad: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 50; i++) {
      bad.push(() => rawHttp(world.url, post(support, `Content-Length: 10\r\nContent-Length: 11\r\n`, '0123456789')));
      bad.push(() => rawHttp(world.url, withLength(support, `{"model": ${'['.repeat(i * 10)}`), { firstResponse: true }));
      bad.push(() =>
        rawHttp(
          world.url,
          post(support, 'Transfer-Encoding: chunked\r\n', `10000\r\n${'a'.repeat(65536)}\r\n10000\r\n${'a'.repeat(65536)}\r\n0\r\n\r\n`),
          { firstResponse: true },
        ),
      );
      bad.push(() =>
        rawHttp(world.url, `GET /services/crm/customers/%2e%2e/${i} HTTP/1.1\r\n${auth(crmBot)}\r\n`, { firstResponse: true }),
      );
    }
    for (let i = 0; i < bad.length; i += 25) await Promise.all(bad.slice(i, i + 25).map((f) => f()));
    await assertHealthy(world);
    const after = await settledHeap();
    const growthMb = (after - before) / 1024 / 1024;
    recordAttack({
      suite: SUITE,
      attack: '200 mixed bad requests (smuggling, bad JSON, 128 KB chunked over the limit, traversal)',
      expected: 'healthy, heap growth < 24 MB',
      status: 200,
      note: `heap growth ${growthMb.toFixed(1)} MB`,
    });
    expect(growthMb).toBeLessThan(24);
  }, 30_000);
});
