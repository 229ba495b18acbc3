// The data path on loopback: credentials, byte-identical bodies, audit completeness, refusals.
import { readFile, writeFile } from 'node:fs/promises';
import { SignJWT, base64url } from 'jose';
import { startWorld, UPSTREAM_KEY, type World } from '../src/testing/world.ts';
import { verifyAuditFile } from '../src/audit/index.ts';
import { capturingLogger, rawGet } from './helpers.ts';
import { expectRefusal } from './refusal.ts';

let world: World;
const captured = capturingLogger();
beforeAll(async () => {
  world = await startWorld({ log: captured.log });
});
afterAll(() => world.close());

const post = (path: string, headers: Record<string, string>, body: string | Buffer) =>
  fetch(`${world.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const msg = (o: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...o });
/** Every refusal: wait for its audit record, then check the upstream received nothing. */
const refusal = (w: World = world) => expectRefusal(w.auditFile, w.stub!);

describe('credentials and bodies', () => {
  test('the upstream sees our key, never the caller token or x-api-key, and the exact body bytes', async () => {
    const token = await world.saToken('support-bot');
    // Odd spacing, key order and a unicode escape: any re-serialisation would change these bytes.
    const body = Buffer.from(
      '{ "max_tokens":64,  "model" : "claude-sonnet-4-5","messages":[{"role":"user","content":"h\\u00e9llo  ☃"}],"metadata":{"user_id":"u1"} }',
    );
    const before = world.stub!.received.length;
    const res = await post(
      '/v1/messages?beta=true',
      { authorization: `Bearer ${token}`, 'x-api-key': token, 'anthropic-beta': 'files-api-2025-04-14', cookie: 'session=abc' },
      body,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-scopekeeper-decision')).toBe('allow');
    expect(res.headers.get('x-scopekeeper-request-id')).toMatch(/^req_sk_/);
    const seen = world.stub!.received.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/v1/messages?beta=true');
    expect(seen[0]!.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(seen[0]!.headers.cookie).toBeUndefined();
    expect(seen[0]!.headers['anthropic-beta']).toBe('files-api-2025-04-14');
    expect(JSON.stringify(seen[0]!.headers)).not.toContain(token);
    expect(seen[0]!.body.equals(body)).toBe(true);
  });

  test('upstream errors are forwarded unchanged', async () => {
    const token = await world.saToken('support-bot');
    const res = await post(
      '/v1/messages',
      { authorization: `Bearer ${token}` },
      msg({ messages: [{ role: 'user', content: 'STUB:error:529' }] }),
    );
    expect(res.status).toBe(529);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  test('a stream interrupted upstream ends with an SSE error event', async () => {
    const token = await world.saToken('support-bot');
    const res = await post(
      '/v1/messages',
      { authorization: `Bearer ${token}` },
      msg({ stream: true, messages: [{ role: 'user', content: 'STUB:reset a long enough text to be cut in the middle of it' }] }),
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('event: content_block_delta');
    expect(text).toMatch(
      /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"The upstream stream was interrupted/,
    );
  });
});

describe('refusals in Anthropic shape', () => {
  test.each([
    ['GET', '/v1/complete', 404, 'not_found_error'],
    ['POST', '/v1/messages/batches', 404, 'not_found_error'],
    ['DELETE', '/v1/messages', 404, 'not_found_error'],
  ])('%s %s -> %i %s', async (method, path, status, type) => {
    const check = refusal();
    const res = await fetch(`${world.url}${path}`, { method });
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type } });
    // an unknown route is audited too (route "unknown", reason NotFound), and nothing went upstream
    expect(await check.refused(res)).toMatchObject({ route: 'unknown', reasons: ['NotFound'], status: 404 });
  });

  test('HEAD / answers the SDK probe without credentials', async () => {
    const res = await fetch(`${world.url}/`, { method: 'HEAD' });
    expect(res.status).toBe(200);
  });

  test('malformed JSON is a 400 invalid_request_error that says what to send', async () => {
    const token = await world.saToken('support-bot');
    const check = refusal();
    const res = await post('/v1/messages', { authorization: `Bearer ${token}` }, '{"model": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringContaining('not valid UTF-8 JSON'),
    });
    await check.refused(res);
  });

  test('a body over the limit is a 413 request_too_large', async () => {
    const small = await startWorld({ flags: { maxBodyBytes: 1024 } });
    try {
      const token = await small.saToken('support-bot');
      const check = refusal(small);
      const res = await fetch(`${small.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: msg({ messages: [{ role: 'user', content: 'x'.repeat(5000) }] }),
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as any).error.type).toBe('request_too_large');
      await check.refused(res);
    } finally {
      await small.close();
    }
  });

  test('concurrent held requests of one shape share one pending review and log no error', async () => {
    const token = await world.saToken('ops-bot');
    const before = captured.lines.length;
    const check = refusal();
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const r = await post('/v1/messages', { authorization: `Bearer ${token}` }, msg({ model: 'claude-opus-4-5' }));
        await r.arrayBuffer();
        return r;
      }),
    );
    for (const r of answers) await check.refused(r);
    const refs = answers.map((r) => [r.status, r.headers.get('x-scopekeeper-approval')] as const);
    expect(new Set(refs.map(([s]) => s))).toEqual(new Set([403]));
    expect(new Set(refs.map(([, ref]) => ref)).size).toBe(1);
    expect(captured.lines.slice(before).filter((l) => l.includes('could not record the held request'))).toEqual([]);
  });

  test('held request: 403 naming the pending review in the message and the header', async () => {
    const token = await world.saToken('ops-bot');
    const check = refusal();
    const res = await post(
      '/v1/messages',
      { authorization: `Bearer ${token}`, 'x-scopekeeper-reason': 'incident' },
      msg({ model: 'claude-opus-4-1' }),
    );
    expect(res.status).toBe(403);
    expect((await check.refused(res)).decision).toBe('approval-required');
    const ref = res.headers.get('x-scopekeeper-approval')!;
    expect(ref).toMatch(/^team-a\/ops-agent-jit-[0-9a-f]{16}$/);
    expect(((await res.json()) as any).error.message).toContain(ref);
    expect(res.headers.get('x-scopekeeper-decision')).toBe('approval-required');
  });
});

describe('/services', () => {
  test.each([
    ['/services/crm/customers/../admin', 400],
    ['/services/crm/customers/%2e%2e/admin', 400],
    ['/services/crm/customers%2Fadmin', 400],
    ['/services/crm/customers/%252e%252e/admin', 400],
    ['/services/crm/customers/a%5c..%5cadmin', 400],
    ['/services/CRM/customers/1', 400],
    ['/services/crm/admin/users', 403],
    ['/services/billing/x', 403],
  ])('%s -> %i', async (path, status) => {
    const token = await world.saToken('ops-bot');
    const check = refusal();
    // node:http sends the path as written; fetch would resolve the dot segments first.
    const res = await rawGet(`${world.url}${path}`, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body).type).toBe('error');
    await check.refused(res);
  });
});

describe('bad tokens', () => {
  test('each gets 401 authentication_error, and no token reaches a response, log or audit record', async () => {
    const key = world.issuer.currentKey('RS256');
    const now = Math.floor(Date.now() / 1000);
    const good = await world.saToken('support-bot');
    const [h, p] = good.split('.');
    const tokens: Record<string, string> = {
      expired: await world.issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', iat: now - 900, nbf: now - 900, exp: now - 300 }),
      'wrong audience': await world.issuer.mint({ sub: 'x', aud: 'someone-else' }),
      'alg none': `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`,
      'tampered payload': `${h}.${base64url.encode(JSON.stringify({ sub: 'system:serviceaccount:team-a:admin', aud: 'scopekeeper', iss: world.issuer.issuer, exp: now + 60 }))}.${good.split('.')[2]}`,
      'HS256 with the public key': await new SignJWT({ sub: 'x', aud: 'scopekeeper' })
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .setIssuer(world.issuer.issuer)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(await world.issuer.publicKeyPem())),
      'lifetime too long': await world.issuer.mint({ sub: 'x', ttlSeconds: 86_400 }),
      garbage: 'not.a.jwt-at-all',
      // audiences that almost match "scopekeeper"
      'audience with a suffix': await world.issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', aud: 'scopekeeper-evil' }),
      'audience that is a prefix': await world.issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', aud: 'scopekeepe' }),
      'audience in another case': await world.issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', aud: 'Scopekeeper' }),
      'audience with a space': await world.issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', aud: 'scopekeeper ' }),
      'empty audience list': await world.issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', aud: [] }),
      'audience list of near misses': await world.issuer.mint({
        sub: 'system:serviceaccount:team-a:support-bot',
        aud: ['scopekeeper-evil', 'SCOPEKEEPER'],
      }),
      'no audience': await world.issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', aud: undefined }),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const check = refusal();
      const res = await post('/v1/messages', { authorization: `Bearer ${token}` }, msg());
      const text = await res.text();
      expect([name, res.status]).toEqual([name, 401]);
      expect((await check.refused(res)).decision).toBe('deny');
      expect(JSON.parse(text).error.type).toBe('authentication_error');
      expect(text).not.toContain(token);
      for (const part of token.split('.').filter((x) => x.length > 8)) expect(text).not.toContain(part);
    }
    await world.sidecar.stop().then(() => world.restart());
    const audit = await readFile(world.auditFile, 'utf8');
    const logs = captured.lines.join('');
    for (const token of [...Object.values(tokens), good]) {
      for (const part of token.split('.').filter((x) => x.length > 8)) {
        expect(audit).not.toContain(part);
        expect(logs).not.toContain(part);
      }
    }
    expect(audit).not.toContain(UPSTREAM_KEY);
    expect(logs).not.toContain(UPSTREAM_KEY);
  });
});

describe('audit', () => {
  test('1,000 concurrent requests leave exactly 1,000 records in a chain that verifies; removing one breaks it', async () => {
    const fresh = await startWorld();
    try {
      const tokens = [await fresh.saToken('support-bot'), await fresh.saToken('research-bot')];
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          fetch(`${fresh.url}/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${tokens[i % 2]}`, 'content-type': 'application/json' },
            body: msg({ stream: i % 3 === 0 }),
          }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      expect(results.filter((s) => s === 200)).toHaveLength(500);
      expect(results.filter((s) => s === 403)).toHaveLength(500);
      await fresh.sidecar.stop();
      const lines = (await readFile(fresh.auditFile, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(1000);
      expect(await verifyAuditFile(fresh.auditFile)).toMatchObject({ ok: true, records: 1000 });
      const records = lines.map((l) => JSON.parse(l));
      expect(new Set(records.map((r) => r.requestId)).size).toBe(1000);
      expect(records.filter((r) => r.decision === 'deny' && r.reasons[0] === 'ReviewExpired')).toHaveLength(500);
      lines.splice(500, 1);
      await writeFile(fresh.auditFile, lines.join('\n') + '\n');
      expect((await verifyAuditFile(fresh.auditFile)).ok).toBe(false);
    } finally {
      await fresh.close();
    }
  }, 60_000);
});

describe('SIGTERM', () => {
  test('stop() lets an in-flight stream finish, refuses new connections and flushes the audit', async () => {
    const slow = await startWorld({ stub: { eventDelayMs: 40 } });
    try {
      const token = await slow.saToken('support-bot');
      const url = slow.url;
      const res = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: msg({ stream: true, messages: [{ role: 'user', content: 'a reply long enough to take a second to stream out' }] }),
      });
      expect(res.status).toBe(200);
      const body = res.text();
      await new Promise((r) => setTimeout(r, 150));
      const stopped = slow.sidecar.stop();
      await new Promise((r) => setTimeout(r, 50));
      await expect(
        fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: msg() }),
      ).rejects.toThrow();
      const text = await body;
      expect(text).toContain('event: message_stop');
      await stopped;
      const lines = (await readFile(slow.auditFile, 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ status: 200, route: 'messages', decision: 'allow' });
    } finally {
      await slow.close();
    }
  });
});
