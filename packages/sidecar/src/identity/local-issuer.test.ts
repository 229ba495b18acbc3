import { decodeJwt, decodeProtectedHeader } from 'jose';
import { LocalIssuer } from './local-issuer.ts';

let issuer: LocalIssuer;

beforeAll(async () => {
  issuer = await LocalIssuer.start();
});

afterAll(async () => {
  await issuer.close();
});

test('listens on loopback and serves an OIDC discovery document', async () => {
  expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${issuer.url}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({
    issuer: issuer.issuer,
    jwks_uri: `${issuer.url}/jwks`,
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
  });
  expect((await fetch(`${issuer.url}/nope`)).status).toBe(404);
});

test('publishes RS256 and ES256 public keys only, with kid, alg and use', async () => {
  const { keys } = (await (await fetch(issuer.jwksUri)).json()) as { keys: Record<string, unknown>[] };
  expect(keys.map((k) => [k.kty, k.alg, k.use])).toEqual([
    ['RSA', 'RS256', 'sig'],
    ['EC', 'ES256', 'sig'],
  ]);
  for (const k of keys) {
    expect(typeof k.kid).toBe('string');
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k).not.toHaveProperty(priv);
  }
});

test('mint: defaults, overrides and omitted claims', async () => {
  const before = Math.floor(Date.now() / 1000);
  const token = await issuer.mint({ sub: 'alice', email: 'alice@example.com', groups: ['g'] });
  const claims = decodeJwt(token);
  expect(claims).toMatchObject({ iss: issuer.issuer, aud: 'scopekeeper', sub: 'alice', email: 'alice@example.com', groups: ['g'] });
  expect(claims.exp! - claims.iat!).toBe(600);
  expect(claims.iat).toBeGreaterThanOrEqual(before);
  expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: issuer.currentKey('RS256').kid, typ: 'JWT' });

  const custom = decodeJwt(await issuer.mint({ sub: 'b', ttlSeconds: 60, aud: ['x'], exp: undefined, tenant: 't1' }, { alg: 'ES256' }));
  expect(custom).not.toHaveProperty('exp');
  expect(custom).toMatchObject({ aud: ['x'], tenant: 't1' });
});

test('rotate publishes a new current key; retire unpublishes', async () => {
  const old = issuer.currentKey('ES256').kid;
  const kid = await issuer.rotate('ES256');
  expect(issuer.currentKey('ES256').kid).toBe(kid);
  expect(decodeProtectedHeader(await issuer.mint({ sub: 'x' }, { alg: 'ES256' })).kid).toBe(kid);
  issuer.retire(old);
  const { keys } = (await (await fetch(issuer.jwksUri)).json()) as { keys: { kid: string }[] };
  expect(keys.map((k) => k.kid)).toContain(kid);
  expect(keys.map((k) => k.kid)).not.toContain(old);
});

test('available = false answers 503 and counts requests', async () => {
  const before = { ...issuer.requests };
  issuer.available = false;
  expect((await fetch(issuer.jwksUri)).status).toBe(503);
  expect((await fetch(`${issuer.url}/.well-known/openid-configuration`)).status).toBe(503);
  issuer.available = true;
  expect(issuer.requests).toEqual({ discovery: before.discovery + 1, jwks: before.jwks + 1 });
});
