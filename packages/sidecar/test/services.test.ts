// Issue 14 classes 6 and 7 over HTTP: every answer of a masking endpoint is masked or refused
// (502), paths that mean something else downstream are refused, override and hop-by-hop headers
// never cross the sidecar.
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, rawGet, waitForPolicy } from './helpers.ts';
import { expectRefusal } from './refusal.ts';

let world: World;
let svc: Server;
const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
const PII = { email: 'ann@example.com', card: '4111 1111 1111 1111' };

/** The service answers whatever /<kind> asks for. */
function answer(kind: string): { status: number; headers: Record<string, string>; body: Buffer } {
  const json = (status: number, o: unknown) => ({
    status,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(o)),
  });
  switch (kind) {
    case 'error-404':
      return json(404, { error: `no customer ${PII.email}`, card: PII.card });
    case 'error-500':
      return json(500, { trace: `failed for ${PII.email}` });
    case 'sse':
      return { status: 200, headers: { 'content-type': 'text/event-stream' }, body: Buffer.from(`data: {"email":"${PII.email}"}\n\n`) };
    case 'xml':
      return { status: 200, headers: { 'content-type': 'application/xml' }, body: Buffer.from(`<c><email>${PII.email}</email></c>`) };
    case 'latin1':
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat([Buffer.from(`{"n":"`), Buffer.from([0xe9]), Buffer.from(`","e":"${PII.email}"}`)]),
      };
    case 'text-as-json':
      return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(`email ${PII.email}`) };
    case 'keys-numbers':
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(`{"${PII.email}":{"card":4111111111111111}}`),
      };
    case 'repeated-key':
      // the first copy holds the value; JSON.parse (and so the masker) reads only the last
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(`{"customer":{"email":"${PII.email}","email":"withheld","id":7}}`),
      };
    case 'gzip':
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify({ e: PII.email })),
      };
    case 'compress':
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'content-encoding': 'compress' },
        body: Buffer.from(JSON.stringify({ e: PII.email })),
      };
    case 'headers':
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'x-customer': PII.email, location: `/customers?mail=${PII.email}` },
        body: Buffer.from('{"ok":true}'),
      };
    case 'hop':
      return {
        status: 200,
        headers: {
          'content-type': 'application/json',
          connection: 'x-internal-secret',
          'x-internal-secret': 'topsecret',
          'keep-alive': 'timeout=5',
        },
        body: Buffer.from('{"ok":true}'),
      };
    default:
      return json(200, { ok: true });
  }
}

beforeAll(async () => {
  svc = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    // a server that honours content negotiation: XML when asked for
    const kind = req.headers.accept?.includes('xml') && req.url?.endsWith('/negotiated') ? 'xml' : (req.url ?? '').split('/').pop()!;
    const a = answer(kind);
    res.writeHead(a.status, { ...a.headers, 'content-length': a.body.length });
    res.end(a.body);
  });
  await new Promise<void>((r) => svc.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(svc.address() as AddressInfo).port}`;
  world = await startWorld();
  await addScope(
    world,
    'svc-masked',
    'svc-bot',
    `  models: ["claude-haiku-*"]\n  data: {mask: [email, credit-card]}\n  endpoints:\n    - {name: crm, url: "${url}", methods: [GET, POST], paths: ["/customers/**"]}`,
  );
  await addScope(
    world,
    'svc-plain',
    'plain-svc-bot',
    `  models: ["claude-haiku-*"]\n  endpoints:\n    - {name: crm, url: "${url}", methods: [GET, POST], paths: ["/customers/**"]}`,
  );
  const token = await world.saToken('svc-bot');
  await waitForPolicy(
    world,
    async () => (await fetch(`${world.url}/services/crm/customers/ok`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
  );
  const plain = await world.saToken('plain-svc-bot');
  await waitForPolicy(
    world,
    async () => (await fetch(`${world.url}/services/crm/customers/ok`, { headers: { authorization: `Bearer ${plain}` } })).status === 200,
  );
});
afterAll(async () => {
  await world.close();
  svc.close();
});

const get = async (path: string, headers: Record<string, string> = {}, sa = 'svc-bot') =>
  fetch(`${world.url}/services/crm/customers/${path}`, { headers: { authorization: `Bearer ${await world.saToken(sa)}`, ...headers } });

/** node:http, because fetch refuses to send Connection and Keep-Alive itself. */
function rawRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('class 6: every answer of a masking endpoint is masked, or refused', () => {
  test.each([
    ['a 404', 'error-404', 404],
    ['a 500', 'error-500', 500],
  ])('%s is masked too, status kept', async (_n, kind, status) => {
    const res = await get(kind);
    const text = await res.text();
    expect(res.status).toBe(status);
    expect(text).toContain('[MASKED:email]');
    expect(text).not.toContain(PII.email);
    expect(text).not.toContain(PII.card);
  });

  test.each([
    ['an event stream', 'sse', 'the service answered with an event stream'],
    ['XML', 'xml', 'the service answered application/xml, not JSON'],
    ['bytes that are not UTF-8', 'latin1', 'its body is not UTF-8 text'],
    ['text labelled as JSON', 'text-as-json', 'its body is not JSON'],
    ['an unknown content-encoding', 'compress', 'content-encoding compress'],
  ])('%s becomes a 502 that says why, with nothing of the body', async (_n, kind, why) => {
    const res = await get(kind);
    const body = await res.text();
    expect(res.status).toBe(502);
    expect(JSON.parse(body)).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining(why) } });
    expect(body).not.toContain(PII.email);
  });

  test('an answer that repeats a key goes out as it was checked: one copy, the last', async () => {
    const res = await get('repeated-key');
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toBe('{"customer":{"email":"withheld","id":7}}');
    expect(text).not.toContain(PII.email);
  });

  test('object keys and numbers are masked', async () => {
    const res = await get('keys-numbers');
    expect(await res.json()).toEqual({ '[MASKED:email]': { card: '[MASKED:credit-card]' } });
  });

  test("the answer's headers are masked too", async () => {
    const res = await get('headers');
    expect([res.status, res.headers.get('x-customer'), res.headers.get('location')]).toEqual([
      200,
      '[MASKED:email]',
      '/customers?mail=[MASKED:email]',
    ]);
  });

  test('a compressed answer is decoded and masked', async () => {
    const res = await get('gzip');
    expect(await res.json()).toEqual({ e: '[MASKED:email]' });
  });

  test("the service is asked for JSON: the caller's content negotiation is dropped", async () => {
    const res = await get('negotiated', {
      accept: 'application/xml',
      'accept-charset': 'latin1',
      'accept-language': 'fr',
      'accept-encoding': 'gzip',
      range: 'bytes=0-10',
    });
    expect(res.status).toBe(200);
    const h = seen[seen.length - 1]!.headers;
    expect([h.accept, h['accept-charset'], h['accept-language'], h['accept-encoding'], h.range]).toEqual([
      'application/json',
      undefined,
      undefined,
      'identity',
      undefined,
    ]);
  });

  test('an endpoint that masks nothing relays answers as they are', async () => {
    const res = await get('xml-free', {}, 'plain-svc-bot');
    expect(res.status).toBe(200);
  });
});

describe('class 7: paths that mean something else downstream', () => {
  test.each([
    '/services/crm/customers/..;/admin',
    '/services/crm/customers/..%3B/admin',
    '/services/crm/customers/..%3b/admin',
    '/services/crm/customers;jsessionid=x/1',
    '/services/crm/customers/1;x',
    '/services/crm/customers/%EF%BC%8E%EF%BC%8E/admin',
    '/services/crm/customers/%E2%80%A4%E2%80%A4/admin',
    '/services/crm/customers/..%EF%BC%8Fadmin',
    '/services/crm/customers/..%E2%88%95admin',
    '/services/crm/customers/..%EF%BC%BCadmin',
    '/services/crm/customers/..%EF%BC%9B/admin',
    '/services/crm/customers/%255c',
    '/services/crm/customers/1?_method=DELETE',
    '/services/crm/customers/1?a=1&%5Fmethod=DELETE',
    '/services/crm/customers/1?a=1;_method=DELETE',
    '/services/crm/customers/1?_me%74hod=DELETE',
    '/services/crm/customers/1?.method=DELETE',
    '/services/crm/customers/1?_method[]=DELETE',
  ])('GET %s is a 400 and reaches nothing', async (path) => {
    const token = await world.saToken('svc-bot');
    const check = expectRefusal(world.auditFile, world.stub!, {
      get total() {
        return seen.length;
      },
    });
    const r = await rawGet(world.url + path, { authorization: `Bearer ${token}` });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    await check.refused(r); // finished (audit record written), and neither the service nor the model API got it
  });

  test('a non-ASCII name that is not a look-alike passes', async () => {
    const res = await get('M%C3%BCller');
    expect(res.status).toBe(200);
  });
});

describe('class 7: a method override in a POST body (Rails, Spring, Symfony, Laravel read _method there)', () => {
  const multipart = (name: string) =>
    `--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--b\r\nContent-Disposition: form-data; ${name}\r\n\r\nDELETE\r\n--b--\r\n`;
  /** POST with node:http: the exact content type (or none) and body. */
  const post = (headers: Record<string, string>, body: string) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      void world.saToken('svc-bot').then((token) => {
        const req = request(
          `${world.url}/services/crm/customers/1`,
          { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-length': String(Buffer.byteLength(body)), ...headers } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      }, reject);
    });

  test.each([
    ['a urlencoded form', { 'content-type': 'application/x-www-form-urlencoded' }, 'name=Ann&_method=DELETE'],
    ['a form with a charset', { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, '%5Fmethod=PUT'],
    ["Rack's ';' separator", { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1;_method=DELETE'],
    ['PHP name mangling', { 'content-type': 'application/x-www-form-urlencoded' }, '.method=DELETE'],
    ['no content type (Rack reads it as a form)', {}, '_method=DELETE'],
    ['a multipart part', { 'content-type': 'multipart/form-data; boundary=b' }, multipart('name="_method"')],
    ['a multipart part named the RFC 5987 way', { 'content-type': 'multipart/form-data; boundary=b' }, multipart("name*=UTF-8''%5Fmethod")],
    [
      'a compressed form (a server that inflates bodies would read _method in it)',
      { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' },
      'not really gzip',
    ],
  ])('%s: 400, and the service gets nothing', async (_what, headers, body) => {
    const check = expectRefusal(world.auditFile, world.stub!, {
      get total() {
        return seen.length;
      },
    });
    const r = await post(headers, body);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('_method') },
    });
    const record = await check.refused(r);
    expect(record).toMatchObject({ decision: 'deny', status: 400 });
  });

  test.each([
    ['a form whose values mention _method', { 'content-type': 'application/x-www-form-urlencoded' }, 'payment_method=card&note=_method'],
    ['JSON naming _method (no server reads it)', { 'content-type': 'application/json' }, '{"_method":"DELETE"}'],
    ['a multipart part of another name', { 'content-type': 'multipart/form-data; boundary=b' }, multipart('name="payment_method"')],
  ])('%s is forwarded byte for byte', async (_what, headers, body) => {
    const received = new Promise<{ method: string; body: string }>((resolve) =>
      svc.once('request', (req: IncomingMessage) => {
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (text += c));
        req.on('end', () => resolve({ method: req.method ?? '', body: text }));
      }),
    );
    const r = await post(headers, body);
    expect(r.status).toBe(200);
    expect(await received).toEqual({ method: 'POST', body });
  });
});

describe('class 7: override and hop-by-hop headers', () => {
  test('override headers never reach the service', async () => {
    const res = await get('ok', {
      'x-http-method-override': 'DELETE',
      'x-http-method': 'DELETE',
      'x-method-override': 'DELETE',
      'x-original-url': '/admin',
      'x-rewrite-url': '/admin',
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-host': 'admin.internal',
      'x-forwarded-proto': 'https',
      'x-forwarded-prefix': '/admin',
      forwarded: 'for=10.0.0.1;host=admin.internal',
      'x-real-ip': '10.0.0.1',
      'x-original-host': 'admin.internal',
    });
    expect(res.status).toBe(200);
    const h = seen[seen.length - 1]!.headers;
    for (const name of [
      'x-http-method-override',
      'x-http-method',
      'x-method-override',
      'x-original-url',
      'x-rewrite-url',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
      'x-forwarded-prefix',
      'forwarded',
      'x-real-ip',
      'x-original-host',
    ]) {
      expect([name, h[name]]).toEqual([name, undefined]);
    }
  });

  test('their underscore twins (CGI, WSGI, Rack and PHP read X_HTTP_METHOD_OVERRIDE as X-HTTP-Method-Override) never reach it either', async () => {
    const twins = {
      x_http_method_override: 'DELETE',
      X_HTTP_Method: 'DELETE',
      x_original_url: '/admin',
      x_forwarded_for: '10.0.0.1',
      X_Forwarded_Host: 'admin.internal',
      x_real_ip: '10.0.0.1',
      x_scopekeeper_approval: 'team-a/x',
      x_api_key: 'sk-ant-caller',
    };
    const res = await get('ok', { ...twins, 'x-tenant': 'team-a' });
    expect(res.status).toBe(200);
    const h = seen[seen.length - 1]!.headers;
    expect(Object.keys(h).filter((n) => n.includes('_'))).toEqual([]);
    expect(h['x-tenant']).toBe('team-a'); // an ordinary header still goes
  });

  test("headers the caller names in Connection are dropped (request), and the service's (response)", async () => {
    const res = await rawRequest('GET', `${world.url}/services/crm/customers/hop`, {
      authorization: `Bearer ${await world.saToken('plain-svc-bot')}`,
      connection: 'keep-alive, x-tenant-override',
      'x-tenant-override': 'other-team',
      'keep-alive': 'timeout=5',
    });
    expect(res.status).toBe(200);
    const h = seen[seen.length - 1]!.headers;
    expect([h['x-tenant-override'], h['keep-alive']]).toEqual([undefined, undefined]);
    expect(res.headers['x-internal-secret']).toBeUndefined();
  });

  test('on the messages route too', async () => {
    const before = world.stub!.received.length;
    const res = await rawRequest(
      'POST',
      `${world.url}/v1/messages`,
      {
        'content-type': 'application/json',
        authorization: `Bearer ${await world.saToken('support-bot')}`,
        connection: 'x-tenant-override',
        'x-tenant-override': 'x',
        'x-forwarded-for': '10.0.0.1',
      },
      JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(res.status).toBe(200);
    const h = world.stub!.received[before]!.headers;
    expect([h['x-tenant-override'], h['x-forwarded-for']]).toEqual([undefined, undefined]);
  });
});
