// A TokenRequest-minted service-account token verifies against the API server's own OIDC
// discovery and JWKS with jose, as the sidecar verifies projected tokens.
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify, type FetchImplementation } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cluster, ensureNamespace } from './harness/cluster.ts';
import { AuthenticationError, TokenVerifier, type IssuerConfig } from '../packages/sidecar/src/identity/verifier.ts';

const c = cluster();
const NS = 'team-a';
const SA = 'e2e-token-check';

interface Discovery {
  issuer: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported: string[];
}

const agent = new Agent({ connect: c.caData ? { ca: c.caData } : {} });
afterAll(() => agent.close());

// Discovery is anonymous on the local control plane; elsewhere use the admin token if there is one.
const auth = (): Record<string, string> => (!c.anonymousDiscovery && c.tokens.admin ? { authorization: `Bearer ${c.tokens.admin}` } : {});
const get = async (url: string) => {
  const r = await undiciFetch(url, { dispatcher: agent, headers: auth() });
  expect(r.status).toBe(200);
  return r.json();
};
const fetchWithCa: FetchImplementation = (url, options) =>
  undiciFetch(url, {
    ...options,
    headers: { ...Object.fromEntries(options.headers), ...auth() },
    dispatcher: agent,
  }) as unknown as Promise<Response>;

let discovery: Discovery;
let token: string;

beforeAll(async () => {
  await ensureNamespace(NS);
  await c.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } }),
  });
  token = (await c.kubectl(['create', 'token', SA, '--audience', 'scopekeeper', '--duration', '10m', '-n', NS])).stdout.trim();
  discovery = (await get(`${c.server}/.well-known/openid-configuration`)) as Discovery;
});

test('OIDC discovery names the issuer and a JWKS on the API server', () => {
  if (c.serviceAccountIssuer) expect(discovery.issuer).toBe(c.serviceAccountIssuer);
  if (c.mode === 'local') {
    expect(discovery.issuer).toBe(c.server);
    expect(discovery.jwks_uri).toBe(`${c.server}/openid/v1/jwks`);
  }
  expect(discovery.id_token_signing_alg_values_supported).toContain('RS256');
});

test('the token verifies with jose against discovery + JWKS: iss, aud, sub', async () => {
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { [customFetch]: fetchWithCa });
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: discovery.issuer,
    audience: 'scopekeeper',
    algorithms: discovery.id_token_signing_alg_values_supported,
    requiredClaims: ['exp', 'iat', 'sub'],
  });
  expect(protectedHeader.alg).toBe('RS256');
  expect(payload.iss).toBe(discovery.issuer);
  expect(payload.aud).toEqual(['scopekeeper']);
  expect(payload.sub).toBe(`system:serviceaccount:${NS}:${SA}`);
  expect(payload['kubernetes.io']).toMatchObject({ namespace: NS, serviceaccount: { name: SA } });
  expect(payload.exp! - payload.iat!).toBe(600);

  const keys = (await get(discovery.jwks_uri)) as { keys: { kid: string }[] };
  expect(keys.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(token).kid);
});

test("the sidecar's own verifier: accepted for scopekeeper, refused for another audience and when tampered with", async () => {
  // The verifier the data path runs (not jose directly): discovery and JWKS of the real API server.
  const dir = await mkdtemp(join(tmpdir(), 'sk-e2e-sa-'));
  try {
    const cfg: IssuerConfig = { issuer: discovery.issuer, discoveryUrl: c.server };
    if (c.caData) cfg.ca = c.caData;
    if (!c.anonymousDiscovery && c.tokens.admin) {
      cfg.bearerTokenFile = join(dir, 'token');
      await writeFile(cfg.bearerTokenFile, c.tokens.admin);
    }
    const ours = new TokenVerifier({ issuers: [cfg] });
    expect(await ours.verify(token)).toMatchObject({
      issuer: discovery.issuer,
      subject: `system:serviceaccount:${NS}:${SA}`,
      serviceAccount: { namespace: NS, name: SA },
    });
    for (const audience of ['someone-else', 'scopekeeper-evil', 'Scopekeeper', 'scopekeepe']) {
      const other = new TokenVerifier({ issuers: [cfg], audience });
      await expect(other.verify(token)).rejects.toMatchObject({ code: 'wrong_audience' });
    }
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: `system:serviceaccount:${NS}:admin` })).toString('base64url')}.${s}`;
    await expect(ours.verify(forged)).rejects.toBeInstanceOf(AuthenticationError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the same token is refused for another audience, and when tampered with (jose)', async () => {
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri), { [customFetch]: fetchWithCa });
  await expect(jwtVerify(token, jwks, { issuer: discovery.issuer, audience: 'someone-else' })).rejects.toMatchObject({
    code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
  });
  const [h, p, s] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: `system:serviceaccount:${NS}:admin` })).toString('base64url')}.${s}`;
  await expect(jwtVerify(forged, jwks, { issuer: discovery.issuer, audience: 'scopekeeper' })).rejects.toMatchObject({
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });
});
