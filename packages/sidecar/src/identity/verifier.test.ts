import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, SignJWT, generateKeyPair } from 'jose';
import { LocalIssuer } from './local-issuer.ts';
import { AuthenticationError, IssuerUnavailableError, TokenVerifier, extractToken, parseIssuerFlag } from './verifier.ts';
import type { VerifierOptions } from './verifier.ts';

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const nowSec = (): number => Math.floor(Date.now() / 1000);

let issuer: LocalIssuer;
let other: LocalIssuer; // a second configured issuer
let verifier: TokenVerifier;
const verifiers: TokenVerifier[] = [];

function newVerifier(opts: Partial<VerifierOptions> = {}): TokenVerifier {
  const v = new TokenVerifier({ issuers: [issuer.issuerConfig(), other.issuerConfig()], ...opts });
  verifiers.push(v);
  return v;
}

/** A controllable clock for the rate limit and cache age (real time plus an offset). */
function clock(): { now: () => number; advance: (seconds: number) => void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (s) => (offset += s * 1000) };
}

beforeAll(async () => {
  [issuer, other] = await Promise.all([LocalIssuer.start(), LocalIssuer.start()]);
  verifier = newVerifier();
  await verifier.warm();
});

afterAll(async () => {
  await Promise.all(verifiers.map((v) => v.close()));
  await Promise.all([issuer.close(), other.close()]);
});

describe('happy paths', () => {
  test('RS256 user token: subject, email, groups', async () => {
    const token = await issuer.mint({
      sub: 'u-123',
      email: 'alice@example.com',
      email_verified: true,
      groups: ['support-engineers', 'staff'],
    });
    await expect(verifier.verify(token)).resolves.toEqual({
      issuer: issuer.issuer,
      subject: 'u-123',
      primary: true,
      email: 'alice@example.com',
      groups: ['support-engineers', 'staff'],
    });
  });

  test('ES256 token', async () => {
    const token = await issuer.mint({ sub: 'bob' }, { alg: 'ES256' });
    await expect(verifier.verify(token)).resolves.toEqual({ issuer: issuer.issuer, subject: 'bob', primary: true, groups: [] });
  });

  test('a token of the second configured issuer', async () => {
    const token = await other.mint({ sub: 'carol' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ issuer: other.issuer, subject: 'carol' });
  });

  test('Kubernetes service-account token maps to serviceAccount', async () => {
    const token = await issuer.mint({
      sub: 'system:serviceaccount:team-a:support-bot',
      'kubernetes.io': { namespace: 'team-a', serviceaccount: { name: 'support-bot', uid: 'c0ffee' }, pod: { name: 'p', uid: 'u' } },
    });
    await expect(verifier.verify(token)).resolves.toEqual({
      issuer: issuer.issuer,
      subject: 'system:serviceaccount:team-a:support-bot',
      primary: true,
      groups: [],
      serviceAccount: { namespace: 'team-a', name: 'support-bot' },
    });
  });

  test('service account from the kubernetes.io claim alone', async () => {
    const token = await issuer.mint({ sub: 'opaque-id', 'kubernetes.io': { namespace: 'team-b', serviceaccount: { name: 'bot' } } });
    await expect(verifier.verify(token)).resolves.toMatchObject({ serviceAccount: { namespace: 'team-b', name: 'bot' } });
  });

  test('custom groups claim name; a single string is one group', async () => {
    const v = new TokenVerifier({ issuers: [{ ...issuer.issuerConfig(), groupsClaim: 'roles' }] });
    verifiers.push(v);
    const list = await issuer.mint({ sub: 'dave', groups: ['a', 'b', 7 as unknown as string] }, { groupsClaim: 'roles' });
    await expect(v.verify(list)).resolves.toMatchObject({ groups: ['a', 'b'] });
    const one = await issuer.mint({ sub: 'dave', roles: 'security-leads', groups: ['ignored'] });
    await expect(v.verify(one)).resolves.toMatchObject({ groups: ['security-leads'] });
  });

  test('aud as an array that includes the audience; custom audience', async () => {
    const token = await issuer.mint({ sub: 'erin', aud: ['other', 'scopekeeper'] });
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'erin' });
    const v = newVerifier({ audience: 'team-a-gateway' });
    await expect(v.verify(await issuer.mint({ sub: 'erin', aud: 'team-a-gateway' }))).resolves.toMatchObject({ subject: 'erin' });
  });

  test('email_verified: false drops the email', async () => {
    const token = await issuer.mint({ sub: 'frank', email: 'frank@example.com', email_verified: false });
    const id = await verifier.verify(token);
    expect(id.email).toBeUndefined();
  });

  test('a token without kid is tried against the fitting keys', async () => {
    const token = await issuer.mint({ sub: 'gina' }, { header: { kid: undefined } });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).not.toHaveProperty('kid');
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'gina' });
  });

  test('clock skew: expired 10 s ago and nbf 10 s ahead are accepted', async () => {
    const t = nowSec();
    await expect(verifier.verify(await issuer.mint({ sub: 'h', iat: t - 610, nbf: t - 610, exp: t - 10 }))).resolves.toBeDefined();
    await expect(verifier.verify(await issuer.mint({ sub: 'h', iat: t, nbf: t + 10 }))).resolves.toBeDefined();
  });

  test('lifetime: exactly the maximum is accepted; exp - now counts when iat and nbf are absent', async () => {
    await expect(verifier.verify(await issuer.mint({ sub: 'i', ttlSeconds: 3600 }))).resolves.toBeDefined();
    const t = nowSec();
    await expect(verifier.verify(await issuer.mint({ sub: 'i', iat: undefined, nbf: undefined, exp: t + 1800 }))).resolves.toBeDefined();
  });

  test('authenticate(): x-api-key JWT, both headers, Authorization preferred', async () => {
    const token = await issuer.mint({ sub: 'sdk-user' });
    await expect(verifier.authenticate({ 'x-api-key': token })).resolves.toMatchObject({ subject: 'sdk-user' });
    await expect(verifier.authenticate({ authorization: `Bearer ${token}`, 'x-api-key': token })).resolves.toMatchObject({
      subject: 'sdk-user',
    });
    const foreign = await issuer.mint({ sub: 'someone-else', aud: 'another-service' });
    await expect(verifier.authenticate({ authorization: `Bearer ${token}`, 'x-api-key': foreign })).resolves.toMatchObject({
      subject: 'sdk-user',
    });
    await expect(verifier.authenticate({ authorization: `Bearer ${token}`, 'x-api-key': 'sk-ant-api03-abcdef' })).resolves.toMatchObject({
      subject: 'sdk-user',
    });
  });

  test('a token of an issuer reached through discoveryUrl (issuer ≠ URL, like the kube-apiserver)', async () => {
    const kube = await LocalIssuer.start({ issuer: 'https://kubernetes.default.svc.cluster.local' });
    try {
      const cfg = parseIssuerFlag(`https://kubernetes.default.svc.cluster.local=${kube.url}`);
      expect(cfg).toEqual(kube.issuerConfig());
      const v = new TokenVerifier({ issuers: [cfg] });
      verifiers.push(v);
      const token = await kube.mint({ sub: 'system:serviceaccount:default:app' });
      await expect(v.verify(token)).resolves.toMatchObject({
        issuer: 'https://kubernetes.default.svc.cluster.local',
        serviceAccount: { namespace: 'default', name: 'app' },
      });
    } finally {
      await kube.close();
    }
  });
});

describe('bad tokens', () => {
  /** Every rejection is an AuthenticationError whose message contains no part of the token. */
  function assertSafe(err: unknown, token: string): AuthenticationError {
    expect(err).toBeInstanceOf(AuthenticationError);
    const e = err as AuthenticationError;
    expect(e.status).toBe(401);
    expect(e.message.length).toBeGreaterThan(20);
    const parts = [token, ...token.split('.'), ...token.split(' ')].filter((p) => p.length >= 6 && p !== 'Bearer');
    for (const part of parts) {
      expect(e.message).not.toContain(part);
      expect(String(e.stack)).not.toContain(part);
    }
    return e;
  }

  async function rejectToken(token: string, code?: string, v: TokenVerifier = verifier): Promise<AuthenticationError> {
    const err = await v.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    const e = assertSafe(err, token);
    if (code) expect(e.code).toBe(code);
    return e;
  }

  async function rejectHeaders(headers: { authorization?: string; 'x-api-key'?: string }, code?: string): Promise<AuthenticationError> {
    const err = await verifier.authenticate(headers).then(
      () => undefined,
      (e: unknown) => e,
    );
    let e = assertSafe(err, '');
    for (const value of Object.values(headers)) e = assertSafe(err, value ?? '');
    if (code) expect(e.code).toBe(code);
    return e;
  }

  const valid = (): Promise<string> => issuer.mint({ sub: 'victim', email: 'victim@example.com', groups: ['admins'] });

  test('alg none', async () => {
    const t = nowSec();
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: issuer.issuer, sub: 'x', aud: 'scopekeeper', iat: t, exp: t + 60 })}.`;
    const e = await rejectToken(token, 'unsupported_algorithm');
    expect(e.message).toMatch(/none/);
    await rejectToken(`${b64({ alg: 'None' })}.${b64({ iss: issuer.issuer })}.c2lnbmF0dXJl`, 'unsupported_algorithm');
  });

  test('HS256 signed with the issuer public key PEM as HMAC secret (with and without kid)', async () => {
    const pem = await issuer.publicKeyPem();
    const secret = new TextEncoder().encode(pem);
    const claims = { sub: 'attacker', aud: 'scopekeeper' };
    const withKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: issuer.currentKey('RS256').kid })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
    await rejectToken(withKid, 'unsupported_algorithm');
    const noKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
    await rejectToken(noKid, 'unsupported_algorithm');
  });

  test('signed by another key under a known kid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ sub: 'attacker', aud: 'scopekeeper' })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.currentKey('RS256').kid })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await rejectToken(token, 'bad_signature');
  });

  test('unknown kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ sub: 'attacker', aud: 'scopekeeper' })
      .setProtectedHeader({ alg: 'ES256', kid: 'attacker-key-1' })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await rejectToken(token, 'unknown_key');
  });

  test('expired', async () => {
    const t = nowSec();
    const e = await rejectToken(await issuer.mint({ sub: 'x', iat: t - 700, nbf: t - 700, ttlSeconds: 600 }), 'expired');
    expect(e.message).toContain(new Date((t - 100) * 1000).toISOString().slice(0, 19));
    expect(e.message).toMatch(/fetch a fresh one/);
  });

  test('nbf in the future', async () => {
    await rejectToken(await issuer.mint({ sub: 'x', nbf: nowSec() + 300 }), 'not_yet_valid');
  });

  test('iat in the future beyond the skew', async () => {
    const t = nowSec();
    await rejectToken(await issuer.mint({ sub: 'x', iat: t + 300, nbf: undefined, exp: t + 600 }), 'issued_in_future');
  });

  test('wrong aud and missing aud', async () => {
    await rejectToken(await issuer.mint({ sub: 'x', aud: 'kubernetes' }), 'wrong_audience');
    await rejectToken(await issuer.mint({ sub: 'x', aud: ['a', 'b'] }), 'wrong_audience');
    await rejectToken(await issuer.mint({ sub: 'x', aud: undefined }), 'missing_claim');
  });

  test('wrong iss: signed by one configured issuer, claiming the other', async () => {
    // Its kid is not among the other issuer's keys; without kid, none of them verifies it.
    await rejectToken(await issuer.mint({ sub: 'x', iss: other.issuer }), 'unknown_key');
    await rejectToken(await issuer.mint({ sub: 'x', iss: other.issuer }, { header: { kid: undefined } }), 'bad_signature');
  });

  test('unconfigured iss', async () => {
    const e = await rejectToken(await issuer.mint({ sub: 'x', iss: 'https://evil.example.com' }), 'unknown_issuer');
    expect(e.message).toContain('https://evil.example.com');
  });

  test('missing exp', async () => {
    await rejectToken(await issuer.mint({ sub: 'x', exp: undefined }), 'missing_claim');
  });

  test('missing iss', async () => {
    await rejectToken(await issuer.mint({ sub: 'x', iss: undefined }), 'missing_claim');
  });

  test('missing sub', async () => {
    await rejectToken(await issuer.mint({ sub: undefined as unknown as string }), 'missing_claim');
  });

  test('lifetime over the maximum', async () => {
    await rejectToken(await issuer.mint({ sub: 'x', ttlSeconds: 7200 }), 'lifetime_too_long');
    const t = nowSec();
    await rejectToken(await issuer.mint({ sub: 'x', iat: undefined, nbf: undefined, exp: t + 86400 }), 'lifetime_too_long');
  });

  test('exp that is not a number', async () => {
    await rejectToken(await issuer.mint({ sub: 'x', exp: '9999999999' as unknown as number }), 'invalid_claim');
  });

  test('tampered payload', async () => {
    const [h, p, s] = (await valid()).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${b64({ ...claims, groups: ['security-leads'] })}.${s}`;
    await rejectToken(forged, 'bad_signature');
  });

  test('tampered header: alg changed (RS256 → PS256) and kid moved to the EC key', async () => {
    const [h, p, s] = (await valid()).split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    await rejectToken(`${b64({ ...header, alg: 'PS256' })}.${p}.${s}`, 'key_mismatch');
    await rejectToken(`${b64({ ...header, kid: issuer.currentKey('ES256').kid })}.${p}.${s}`, 'key_mismatch');
    await rejectToken(`${b64({ ...header, typ: 'at+jwt' })}.${p}.${s}`, 'bad_signature');
  });

  test('truncated signature', async () => {
    const token = await valid();
    await rejectToken(token.slice(0, -10), 'bad_signature');
    const es = await issuer.mint({ sub: 'x' }, { alg: 'ES256' });
    await rejectToken(es.slice(0, -4), 'bad_signature');
  });

  test('garbage, empty, three dots, five parts', async () => {
    await rejectToken('this-is-garbage-not-a-token', 'malformed_token');
    await rejectToken('', 'missing_token');
    await rejectToken('...', 'malformed_token');
    await rejectToken(`${(await valid()).split('.').slice(0, 2).join('.')}.sig.extra.parts`, 'malformed_token');
  });

  test('non-JSON header, non-object payload', async () => {
    const [, p, s] = (await valid()).split('.') as [string, string, string];
    await rejectToken(`${b64('definitely not json')}.${p}.${s}`, 'malformed_token');
    const [h] = (await valid()).split('.') as [string];
    await rejectToken(`${h}.${b64('[1,2,3]')}.${s}`, 'malformed_token');
  });

  test('non-base64url parts', async () => {
    await rejectToken('eyJ@@@@@@.eyJ######.abcdefgh', 'malformed_token');
    const [h, p] = (await valid()).split('.') as [string, string];
    await rejectToken(`${h}.${p}.abc+def/ghi=`, 'malformed_token');
  });

  test('crit header', async () => {
    const { privateKey } = issuer.currentKey('RS256');
    const token = await new CompactSign(new TextEncoder().encode(JSON.stringify({ iss: issuer.issuer, sub: 'x' })))
      .setProtectedHeader({ alg: 'RS256', kid: issuer.currentKey('RS256').kid, crit: ['exp'], exp: 1 } as never)
      .sign(privateKey)
      .catch(() => `${b64({ alg: 'RS256', crit: ['exp'] })}.${b64({ iss: issuer.issuer })}.c2lnbmF0dXJl`);
    await rejectToken(token, 'malformed_token');
  });

  test('service-account sub and kubernetes.io claim disagree', async () => {
    const token = await issuer.mint({
      sub: 'system:serviceaccount:team-a:bot',
      'kubernetes.io': { namespace: 'team-b', serviceaccount: { name: 'bot' } },
    });
    await rejectToken(token, 'invalid_claim');
  });

  test('very long (64 KB) token', async () => {
    const token = await issuer.mint({ sub: 'x', padding: 'A'.repeat(64 * 1024) });
    await rejectToken(token, 'token_too_large');
  });

  test('a JWT for another audience in x-api-key', async () => {
    await rejectHeaders({ 'x-api-key': await issuer.mint({ sub: 'x', aud: 'another-gateway' }) }, 'wrong_audience');
  });

  test('an expired JWT in x-api-key', async () => {
    const t = nowSec();
    await rejectHeaders({ 'x-api-key': await issuer.mint({ sub: 'x', iat: t - 4000, exp: t - 3600 }) }, 'expired');
  });

  test('an "sk-ant-..." static key in x-api-key', async () => {
    const e = await rejectHeaders({ 'x-api-key': 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789' }, 'static_key');
    expect(e.message).toMatch(/short-lived/);
  });

  test('Bearer with no token', async () => {
    await rejectHeaders({ authorization: 'Bearer' }, 'missing_token');
    await rejectHeaders({ authorization: 'Bearer    ' }, 'missing_token');
  });

  test('lowercase "bearer", other schemes, no scheme', async () => {
    const token = await valid();
    await rejectHeaders({ authorization: `bearer ${token}` }, 'malformed_token');
    await rejectHeaders({ authorization: `Basic ${b64('user:password-secret')}` }, 'malformed_token');
    await rejectHeaders({ authorization: token }, 'malformed_token');
    await rejectHeaders({ authorization: 'sk-ant-api03-AbCdEfGhIjKlMnOp' }, 'malformed_token');
  });

  test('two tokens in Authorization', async () => {
    const token = await valid();
    await rejectHeaders({ authorization: `Bearer ${token} ${token}` }, 'malformed_token');
  });

  test('no credentials at all', async () => {
    const e = await rejectHeaders({}, 'missing_token');
    expect(e.message).toMatch(/Authorization: Bearer/);
  });
});

describe('extractToken', () => {
  test('sources and precedence', () => {
    expect(extractToken({})).toBeUndefined();
    expect(extractToken({ authorization: 'Bearer eyJa.b.c' })).toBe('eyJa.b.c');
    expect(extractToken({ 'x-api-key': 'eyJa.b.c' })).toBe('eyJa.b.c');
    expect(extractToken({ authorization: 'Bearer eyJa.b.c', 'x-api-key': 'eyJx.y.z' })).toBe('eyJa.b.c');
    expect(extractToken({ 'x-api-key': ['eyJa.b.c', 'eyJa.b.c'] })).toBe('eyJa.b.c');
    expect(() => extractToken({ 'x-api-key': ['eyJa.b.c', 'eyJx.y.z'] })).toThrow(AuthenticationError);
    expect(() => extractToken({ 'x-api-key': 'not-a-jwt' })).toThrow(AuthenticationError);
  });
});

describe('JWKS cache, refresh and outages', () => {
  async function foreignToken(kid: string): Promise<string> {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT({ sub: 'x', aud: 'scopekeeper' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  }

  test('concurrent first requests share one discovery and one JWKS fetch', async () => {
    const v = newVerifier();
    const before = { ...issuer.requests };
    const token = await issuer.mint({ sub: 'x' });
    await Promise.all(Array.from({ length: 20 }, () => v.verify(token)));
    expect(issuer.requests.discovery - before.discovery).toBe(1);
    expect(issuer.requests.jwks - before.jwks).toBe(1);
  });

  test('an unknown kid triggers one JWKS refresh, rate-limited per issuer', async () => {
    const c = clock();
    const v = newVerifier({ now: c.now });
    await v.warm();
    const start = issuer.requests.jwks;
    c.advance(31);
    await expect(v.verify(await foreignToken('unknown-1'))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(issuer.requests.jwks - start).toBe(1);
    await expect(v.verify(await foreignToken('unknown-2'))).rejects.toMatchObject({ code: 'unknown_key' });
    c.advance(10);
    await expect(v.verify(await foreignToken('unknown-3'))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(issuer.requests.jwks - start).toBe(1);
    c.advance(21);
    await expect(v.verify(await foreignToken('unknown-4'))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(issuer.requests.jwks - start).toBe(2);
    // Known keys keep verifying without any fetch.
    await expect(v.verify(await issuer.mint({ sub: 'ok' }))).resolves.toMatchObject({ subject: 'ok' });
    expect(issuer.requests.jwks - start).toBe(2);
  });

  test('key rotation: a token with the new kid verifies after refresh', async () => {
    const rot = await LocalIssuer.start();
    const c = clock();
    const v = new TokenVerifier({ issuers: [rot.issuerConfig()], now: c.now });
    verifiers.push(v);
    try {
      await v.warm();
      const oldToken = await rot.mint({ sub: 'before' });
      const kid = await rot.rotate('RS256');
      const newToken = await rot.mint({ sub: 'after' });
      expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe(kid);
      // Within the rate limit of the warm-up fetch the new kid is not fetched yet: fail closed.
      await expect(v.verify(newToken)).rejects.toMatchObject({ code: 'unknown_key' });
      c.advance(31);
      const before = rot.requests.jwks;
      await expect(v.verify(newToken)).resolves.toMatchObject({ subject: 'after' });
      expect(rot.requests.jwks - before).toBe(1);
      await expect(v.verify(oldToken)).resolves.toMatchObject({ subject: 'before' });
    } finally {
      await rot.close();
    }
  });

  test('a retired key stops verifying once the cache is refreshed in the background', async () => {
    const rot = await LocalIssuer.start();
    const c = clock();
    const v = new TokenVerifier({ issuers: [rot.issuerConfig()], now: c.now, jwksMaxAgeSeconds: 60 });
    verifiers.push(v);
    try {
      await v.warm();
      const oldKid = rot.currentKey('RS256').kid;
      const oldToken = await rot.mint({ sub: 'old' });
      await rot.rotate('RS256');
      rot.retire(oldKid);
      c.advance(61);
      const refreshedAt = v.status()[0]!.refreshedAt;
      // Stale cache: served while the background refresh runs.
      await expect(v.verify(oldToken)).resolves.toMatchObject({ subject: 'old' });
      for (let i = 0; i < 100 && v.status()[0]!.refreshedAt === refreshedAt; i++) await new Promise((r) => setTimeout(r, 10));
      expect(v.status()[0]!.refreshedAt).not.toBe(refreshedAt);
      await expect(v.verify(oldToken)).rejects.toMatchObject({ code: 'unknown_key' });
      await expect(v.verify(await rot.mint({ sub: 'new' }))).resolves.toMatchObject({ subject: 'new' });
    } finally {
      await rot.close();
    }
  });

  test('JWKS endpoint down after warm-up: cached keys keep working, an unknown kid fails closed', async () => {
    const down = await LocalIssuer.start();
    const c = clock();
    const v = new TokenVerifier({ issuers: [down.issuerConfig()], now: c.now, jwksMaxAgeSeconds: 60 });
    verifiers.push(v);
    try {
      await v.warm();
      down.available = false;
      const token = await down.mint({ sub: 'still-works' });
      await expect(v.verify(token)).resolves.toMatchObject({ subject: 'still-works' });
      // Past the cache age: the background refresh fails, the keys stay.
      c.advance(120);
      await expect(v.verify(token)).resolves.toMatchObject({ subject: 'still-works' });
      for (let i = 0; i < 100 && v.status()[0]!.lastError === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      expect(v.status()[0]).toMatchObject({ ready: true, lastError: expect.stringContaining('HTTP 503') });
      await expect(v.verify(await down.mint({ sub: 'es' }, { alg: 'ES256' }))).resolves.toMatchObject({ subject: 'es' });
      // An unknown kid: the refresh fails, so the token fails closed (as "retry").
      c.advance(31);
      const kid = await down.rotate('RS256');
      const rotated = await down.mint({ sub: 'rotated' }, { kid });
      const err = await v.verify(rotated).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IssuerUnavailableError);
      expect((err as IssuerUnavailableError).message).toMatch(/retry/);
      expect((err as IssuerUnavailableError).message).not.toContain(rotated.split('.')[2]!);
      expect((err as IssuerUnavailableError).detail).toMatch(/HTTP 503/);
      // Right after, rate-limited: plain unknown key, no fetch.
      const before = down.requests.jwks + down.requests.discovery;
      await expect(v.verify(rotated)).rejects.toMatchObject({ code: 'unknown_key' });
      expect(down.requests.jwks + down.requests.discovery).toBe(before);
      // Back up: the new key verifies after the next allowed refresh.
      down.available = true;
      c.advance(31);
      await expect(v.verify(rotated)).resolves.toMatchObject({ subject: 'rotated' });
    } finally {
      await down.close();
    }
  });

  test('issuer unreachable at start: IssuerUnavailableError with the cause for the log; warm() rejects', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const gone = `http://127.0.0.1:${port}`;
    const v = new TokenVerifier({ issuers: [{ issuer: gone }] });
    verifiers.push(v);
    await expect(v.warm()).rejects.toBeInstanceOf(IssuerUnavailableError);
    expect(v.ready()).toBe(false);
    expect(v.status()[0]!.lastError).toMatch(/ECONNREFUSED|fetch failed/);
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ sub: 'x', aud: 'scopekeeper' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .setIssuer(gone)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const err = (await v.verify(token).catch((e: unknown) => e)) as IssuerUnavailableError;
    expect(err).toBeInstanceOf(IssuerUnavailableError);
    expect(err.code).toBe('issuer_unavailable');
    expect(err.status).toBe(401);
    expect(err.message).not.toContain(token.split('.')[1]!);
  });

  test('an issuer that answers 101 Switching Protocols: warm() rejects at once, naming it (before: it waited for ever)', async () => {
    // node:http destroys the socket of an unasked 101 and emits neither 'response' nor 'error';
    // the fetch timer then destroyed a request already destroyed, and the refresh never settled.
    const srv = createServer();
    srv.on(
      'request',
      (_req, res) => void res.socket?.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n'),
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const v = new TokenVerifier({
        issuers: [{ issuer: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` }],
        fetchTimeoutMs: 2000,
      });
      verifiers.push(v);
      const err = (await v.warm().catch((e: unknown) => e)) as IssuerUnavailableError;
      expect(err).toBeInstanceOf(IssuerUnavailableError);
      expect(err.detail).toMatch(/101 Switching Protocols/);
      expect(v.ready()).toBe(false);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  test('discovery naming another issuer is refused', async () => {
    const liar = await LocalIssuer.start({ issuer: 'https://idp.example.com' });
    try {
      const v = new TokenVerifier({ issuers: [{ issuer: 'https://accounts.example.org', discoveryUrl: liar.url }] });
      verifiers.push(v);
      const err = (await v.warm().catch((e: unknown) => e)) as IssuerUnavailableError;
      expect(err).toBeInstanceOf(IssuerUnavailableError);
      expect(err.detail).toMatch(/names issuer "https:\/\/idp.example.com"/);
    } finally {
      await liar.close();
    }
  });

  test('https issuer with a private CA (the ca option)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-ca-'));
    const run = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    try {
      run(
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '1',
        '-subj',
        '/CN=test-ca',
      );
      run(
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'srv.key',
        '-out',
        'srv.csr',
        '-subj',
        '/CN=127.0.0.1',
      );
      writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
      run(
        'x509',
        '-req',
        '-in',
        'srv.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'srv.crt',
        '-days',
        '1',
        '-extfile',
        'ext.cnf',
      );
      const tlsIssuer = await LocalIssuer.start({
        tls: { key: readFileSync(join(dir, 'srv.key'), 'utf8'), cert: readFileSync(join(dir, 'srv.crt'), 'utf8') },
      });
      try {
        expect(tlsIssuer.issuer).toMatch(/^https:\/\/127\.0\.0\.1:/);
        const token = await tlsIssuer.mint({ sub: 'tls-user' });
        const untrusted = new TokenVerifier({ issuers: [tlsIssuer.issuerConfig()] });
        verifiers.push(untrusted);
        await expect(untrusted.verify(token)).rejects.toBeInstanceOf(IssuerUnavailableError);
        const trusted = new TokenVerifier({ issuers: [{ ...tlsIssuer.issuerConfig(), ca: readFileSync(join(dir, 'ca.crt'), 'utf8') }] });
        verifiers.push(trusted);
        await expect(trusted.verify(token)).resolves.toMatchObject({ subject: 'tls-user' });
      } finally {
        await tlsIssuer.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the JWKS is asked for as application/jwk-set+json, which the kube-apiserver insists on (406 otherwise)', async () => {
    const kube = await LocalIssuer.start({ issuer: 'https://kube.example' });
    const accepts: Record<string, string | undefined> = {};
    // A front that negotiates like the kube-apiserver: /openid/v1/jwks is only served as application/jwk-set+json.
    const front = createServer((req, res) => {
      const jwks = req.url === '/openid/v1/jwks';
      accepts[jwks ? 'jwks' : 'discovery'] = req.headers.accept;
      const type = jwks ? 'application/jwk-set+json' : 'application/json';
      const acceptable = (req.headers.accept ?? '*/*')
        .split(',')
        .some((a) => ['*/*', 'application/*', type].includes(a.split(';')[0]!.trim()));
      if (!acceptable) return void res.writeHead(406, { 'content-type': 'application/json' }).end('{"kind":"Status","code":406}');
      const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
      fetch(`${kube.url}${jwks ? '/jwks' : req.url}`)
        .then(async (r) => {
          const body = (await r.text()).replaceAll(kube.jwksUri, `${frontUrl}/openid/v1/jwks`).replaceAll(kube.url, frontUrl);
          res.writeHead(r.status, { 'content-type': type }).end(body);
        })
        .catch(() => res.writeHead(502).end());
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    try {
      const v = new TokenVerifier({
        issuers: [{ issuer: kube.issuer, discoveryUrl: `http://127.0.0.1:${(front.address() as AddressInfo).port}` }],
      });
      verifiers.push(v);
      await expect(v.verify(await kube.mint({ sub: 'system:serviceaccount:team-a:agent-bot' }))).resolves.toMatchObject({
        issuer: 'https://kube.example',
      });
      expect(accepts).toEqual({ discovery: 'application/json', jwks: 'application/jwk-set+json, application/json' });
    } finally {
      await new Promise<void>((r) => front.close(() => r()));
      await kube.close();
    }
  });

  test('bearerTokenFile is sent on discovery and JWKS fetches', async () => {
    const seen: (string | undefined)[] = [];
    const guarded = await LocalIssuer.start({ issuer: 'https://kube.example' });
    const dir = mkdtempSync(join(tmpdir(), 'sk-tok-'));
    const file = join(dir, 'token');
    writeFileSync(file, 'reader-credential\n');
    // A front that checks the credential and forwards to the issuer.
    const front = createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== 'Bearer reader-credential') return void res.writeHead(401).end();
      fetch(`${guarded.url}${req.url}`)
        .then(async (r) => {
          const body = (await r.text()).replaceAll(guarded.url, `http://127.0.0.1:${(front.address() as AddressInfo).port}`);
          res.writeHead(r.status, { 'content-type': 'application/json' }).end(body);
        })
        .catch(() => res.writeHead(502).end());
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    try {
      const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
      const v = new TokenVerifier({ issuers: [{ issuer: guarded.issuer, discoveryUrl: frontUrl, bearerTokenFile: file }] });
      verifiers.push(v);
      await v.warm();
      expect(seen).toEqual(['Bearer reader-credential', 'Bearer reader-credential']);
      await expect(v.verify(await guarded.mint({ sub: 'system:serviceaccount:ns:app' }))).resolves.toMatchObject({
        issuer: 'https://kube.example',
      });
      writeFileSync(file, 'rotated-credential');
      const unauthorised = new TokenVerifier({ issuers: [{ issuer: guarded.issuer, discoveryUrl: frontUrl, bearerTokenFile: file }] });
      verifiers.push(unauthorised);
      const err = (await unauthorised.warm().catch((e: unknown) => e)) as IssuerUnavailableError;
      expect(err.detail).toMatch(/HTTP 401/);
      expect(err.detail).not.toContain('credential');
    } finally {
      await new Promise<void>((r) => front.close(() => r()));
      await guarded.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration', () => {
  test('parseIssuerFlag', () => {
    expect(parseIssuerFlag('https://accounts.example.com')).toEqual({ issuer: 'https://accounts.example.com' });
    expect(parseIssuerFlag(' https://kubernetes.default.svc.cluster.local=https://127.0.0.1:6443 ')).toEqual({
      issuer: 'https://kubernetes.default.svc.cluster.local',
      discoveryUrl: 'https://127.0.0.1:6443',
    });
    expect(parseIssuerFlag('http://127.0.0.1:5556/dex')).toEqual({ issuer: 'http://127.0.0.1:5556/dex' });
    expect(() => parseIssuerFlag('')).toThrow(/ISSUER=DISCOVERY_URL/);
    expect(() => parseIssuerFlag('not a url')).toThrow(/absolute URL/);
    expect(() => parseIssuerFlag('http://idp.example.com')).toThrow(/https/);
    expect(() => parseIssuerFlag('https://idp.example.com?x=1')).toThrow(/query/);
    expect(() => parseIssuerFlag('https://kubernetes.default.svc=http://10.0.0.1:6443')).toThrow(/https/);
  });

  test('HMAC, none and unknown algorithms cannot be configured', () => {
    for (const alg of ['HS256', 'none', 'RSA-OAEP']) {
      expect(() => new TokenVerifier({ issuers: [{ issuer: 'https://idp.example.com' }], algorithms: [alg] })).toThrow(
        /never "none" or HMAC/,
      );
    }
  });

  test('the algorithm allow-list is enforced', async () => {
    const v = newVerifier({ algorithms: ['ES256'] });
    const err = (await v.verify(await issuer.mint({ sub: 'x' })).catch((e: unknown) => e)) as AuthenticationError;
    expect(err.code).toBe('unsupported_algorithm');
    await expect(v.verify(await issuer.mint({ sub: 'x' }, { alg: 'ES256' }))).resolves.toBeDefined();
  });

  test('no issuers, duplicate issuers, insecure issuers are refused', () => {
    expect(() => new TokenVerifier({ issuers: [] })).toThrow(/--issuer/);
    expect(() => new TokenVerifier({ issuers: [{ issuer: 'https://a.example' }, { issuer: 'https://a.example' }] })).toThrow(/twice/);
    expect(() => new TokenVerifier({ issuers: [{ issuer: 'http://idp.example.com' }] })).toThrow(/https/);
  });
});

describe('configuration and refusals, as they are worded', () => {
  const one = () => [{ issuer: 'https://idp.example.com' }];
  test.each<[string, Partial<VerifierOptions>, string]>([
    ['an empty audience', { audience: '' }, 'the audience must not be empty'],
    ['a negative lifetime', { maxLifetimeSeconds: -1 }, 'maxLifetimeSeconds must be a non-negative number'],
    ['an infinite lifetime', { maxLifetimeSeconds: Infinity }, 'maxLifetimeSeconds must be a non-negative number'],
    ['a negative skew', { clockSkewSeconds: -0.5 }, 'clockSkewSeconds must be a non-negative number'],
    ['a skew that is not a number', { clockSkewSeconds: NaN }, 'clockSkewSeconds must be a non-negative number'],
    ['no algorithm', { algorithms: [] }, 'at least one algorithm must be allowed'],
    [
      'an HMAC algorithm',
      { algorithms: ['RS256', 'HS256'] },
      'algorithm "HS256" is not accepted: only asymmetric signatures (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519) — never "none" or HMAC',
    ],
    ['no issuer', { issuers: [] }, 'at least one issuer must be configured (--issuer)'],
  ])('%s is refused', (_name, opts, message) => {
    expect(() => new TokenVerifier({ issuers: one(), ...opts })).toThrow(new Error(message));
  });

  test('zero lifetime and zero skew are allowed; the defaults', () => {
    const v = new TokenVerifier({ issuers: one(), maxLifetimeSeconds: 0, clockSkewSeconds: 0 });
    expect([v.maxLifetimeSeconds, v.clockSkewSeconds]).toEqual([0, 0]);
    const d = new TokenVerifier({ issuers: one() });
    expect([d.audience, d.maxLifetimeSeconds, d.clockSkewSeconds, d.algorithms]).toEqual([
      'scopekeeper',
      3600,
      30,
      ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    ]);
  });

  test('ready only when every issuer has its keys', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const v = new TokenVerifier({ issuers: [issuer.issuerConfig(), { issuer: `http://127.0.0.1:${port}` }], fetchTimeoutMs: 2000 });
    verifiers.push(v);
    expect(v.ready()).toBe(false);
    expect(verifier.ready()).toBe(true); // both issuers warmed in beforeAll
    await expect(v.warm()).rejects.toBeInstanceOf(IssuerUnavailableError);
    expect(v.status().map((s) => s.ready)).toEqual([true, false]);
    expect(v.ready()).toBe(false);
  });

  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(AuthenticationError);
    return { code: (e as AuthenticationError).code, message: (e as Error).message };
  };
  const unsigned = (payload: Record<string, unknown>) => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}.${b64('sig')}`;

  test('no token at all, and an empty one', async () => {
    expect(await refusal(verifier.authenticate({}))).toEqual({
      code: 'missing_token',
      message:
        'No identity token was sent; send "Authorization: Bearer <JWT>" with a short-lived token for audience scopekeeper (e.g. a projected service-account token, or an apiKeyHelper that prints one).',
    });
    for (const t of ['', undefined as unknown as string, 7 as unknown as string]) {
      expect(await refusal(verifier.verify(t))).toEqual({
        code: 'missing_token',
        message: 'No token was sent; send "Authorization: Bearer <JWT>".',
      });
    }
  });

  test('the length limit: a token of exactly the limit is read, one more character is not', async () => {
    const at = 'a'.repeat(16 * 1024);
    expect((await refusal(verifier.verify(at))).code).not.toBe('token_too_large');
    expect(await refusal(verifier.verify(`${at}a`))).toEqual({
      code: 'token_too_large',
      message: 'The token is longer than 16384 characters; send a JWT from your identity provider.',
    });
  });

  test('iss missing, empty or not a string; an issuer nobody configured', async () => {
    const noIss = {
      code: 'missing_claim',
      message: 'The token has no "iss" (issuer) claim; use a token from an identity provider this sidecar trusts.',
    };
    for (const iss of ['', 5, undefined])
      expect(await refusal(verifier.verify(unsigned({ iss, sub: 'x', exp: nowSec() + 60 })))).toEqual(noIss);
    expect(await refusal(verifier.verify(unsigned({ iss: 'https://evil.example', sub: 'x' })))).toEqual({
      code: 'unknown_issuer',
      message: `The token's issuer "https://evil.example" is not one this sidecar trusts (${issuer.issuer}, ${other.issuer}); use a token from one of these, or add the issuer with --issuer.`,
    });
  });
});
