// Identity = (issuer, subject) at the verifier: which issuer may vouch for what (DESIGN.md §9a),
// near-miss audiences, and the verified-token cache.
import { LocalIssuer } from './local-issuer.ts';
import { TokenVerifier, type VerifierOptions } from './verifier.ts';
import { issuerTrust } from './flags.ts';

let primary: LocalIssuer; // the first --issuer
let second: LocalIssuer; // another configured issuer
const verifiers: TokenVerifier[] = [];

function newVerifier(opts: Partial<VerifierOptions> = {}): TokenVerifier {
  const v = new TokenVerifier({ issuers: [primary.issuerConfig(), second.issuerConfig()], ...opts });
  verifiers.push(v);
  return v;
}

/** A controllable clock (real time plus an offset). */
function clock(): { now: () => number; advance: (seconds: number) => void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (s) => (offset += s * 1000) };
}

beforeAll(async () => {
  [primary, second] = await Promise.all([LocalIssuer.start(), LocalIssuer.start()]);
});

afterAll(async () => {
  await Promise.all(verifiers.map((v) => v.close()));
  await Promise.all([primary.close(), second.close()]);
});

const SA_SUB = 'system:serviceaccount:team-a:support-bot';
const SA_CLAIM = { namespace: 'team-a', serviceaccount: { name: 'support-bot', uid: 'c0ffee' } };

describe('only the service-account issuer produces ServiceAccounts', () => {
  test('by default the primary issuer is the service-account issuer', async () => {
    const v = newVerifier();
    expect(v.trust).toEqual({ primaryIssuer: primary.issuer, serviceAccountIssuer: primary.issuer });
    await expect(v.verify(await primary.mint({ sub: SA_SUB }))).resolves.toMatchObject({
      primary: true,
      serviceAccount: { namespace: 'team-a', name: 'support-bot' },
    });
  });

  test('a second issuer saying sub system:serviceaccount:… is a User of that issuer, not the service account', async () => {
    const id = await newVerifier().verify(await second.mint({ sub: SA_SUB }));
    expect(id).toEqual({ issuer: second.issuer, subject: SA_SUB, primary: false, groups: [] });
  });

  test('a second issuer carrying a kubernetes.io claim is not a service account', async () => {
    const id = await newVerifier().verify(await second.mint({ sub: 'opaque', 'kubernetes.io': SA_CLAIM }));
    expect(id.serviceAccount).toBeUndefined();
    expect(id).toMatchObject({ issuer: second.issuer, subject: 'opaque', primary: false });
  });

  test('--service-account-issuer names another issuer: only its tokens are service accounts', async () => {
    const v = newVerifier({ serviceAccountIssuer: second.issuer });
    await expect(v.verify(await second.mint({ sub: SA_SUB }))).resolves.toMatchObject({
      primary: false,
      serviceAccount: { namespace: 'team-a', name: 'support-bot' },
    });
    const fromPrimary = await v.verify(await primary.mint({ sub: SA_SUB, 'kubernetes.io': SA_CLAIM }));
    expect(fromPrimary.serviceAccount).toBeUndefined();
    expect(fromPrimary.primary).toBe(true);
  });

  test('--service-account-issuer must be one of the issuers', () => {
    expect(() => newVerifier({ serviceAccountIssuer: 'https://elsewhere.example.com' })).toThrow(/not one of the --issuer values/);
    expect(issuerTrust(['https://a', 'https://b'], '')).toEqual({ primaryIssuer: 'https://a', serviceAccountIssuer: 'https://a' });
  });
});

describe('email counts only with email_verified: true', () => {
  test.each([
    ['absent', undefined, false],
    ['false', false, false],
    ['the string "true"', 'true', false],
    ['the string "false"', 'false', false],
    ['1', 1, false],
    ['true', true, true],
  ])('email_verified %s', async (_label, emailVerified, counts) => {
    const id = await newVerifier().verify(await primary.mint({ sub: 'u-1', email: 'victim@example.com', email_verified: emailVerified }));
    if (counts) expect(id.email).toBe('victim@example.com');
    else expect(id).not.toHaveProperty('email');
  });
});

describe('near-miss audiences are refused', () => {
  test.each([
    ['a prefix extension', 'scopekeeper-evil'],
    ['another case', 'Scopekeeper'],
    ['upper case', 'SCOPEKEEPER'],
    ['a trailing space', 'scopekeeper '],
    ['an empty array', []],
    ['an array of near misses', ['scopekeeper-evil', 'xscopekeeper', 'scopekeeper/']],
    ['an empty string', ''],
  ])('aud %s', async (_label, aud) => {
    await expect(newVerifier().verify(await primary.mint({ sub: 'x', aud }))).rejects.toMatchObject({ code: 'wrong_audience' });
  });

  test('aud holding a non-string next to the audience is refused', async () => {
    await expect(
      newVerifier().verify(await primary.mint({ sub: 'x', aud: ['scopekeeper', 7] as unknown as string[] })),
    ).rejects.toMatchObject({ code: 'invalid_claim' });
  });
});

describe('the verified-token cache', () => {
  test('the same token is verified once; the entry ends at exp', async () => {
    const c = clock();
    const v = newVerifier({ now: c.now });
    const token = await primary.mint({ sub: 'cached', ttlSeconds: 120 });
    const first = await v.verify(token);
    expect(v.cachedTokens).toBe(1);
    await expect(v.verify(token)).resolves.toBe(first);
    // Past exp but within the clock skew: the entry is gone, so the token is verified afresh.
    c.advance(121);
    const again = await v.verify(token);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    c.advance(30);
    await expect(v.verify(token)).rejects.toMatchObject({ code: 'expired' });
  });

  test("a change of the issuer's key set drops the cached tokens of that issuer", async () => {
    const rot = await LocalIssuer.start();
    const c = clock();
    const v = new TokenVerifier({ issuers: [rot.issuerConfig()], now: c.now, jwksMaxAgeSeconds: 60 });
    verifiers.push(v);
    try {
      const oldKid = rot.currentKey('RS256').kid;
      const token = await rot.mint({ sub: 'old' });
      await expect(v.verify(token)).resolves.toMatchObject({ subject: 'old' });
      await rot.rotate('RS256');
      rot.retire(oldKid);
      c.advance(61);
      // A hit on a stale key set still refreshes it in the background.
      const refreshedAt = v.status()[0]!.refreshedAt;
      await expect(v.verify(token)).resolves.toMatchObject({ subject: 'old' });
      for (let i = 0; i < 200 && v.status()[0]!.refreshedAt === refreshedAt; i++) await new Promise((r) => setTimeout(r, 10));
      await expect(v.verify(token)).rejects.toMatchObject({ code: 'unknown_key' });
    } finally {
      await rot.close();
    }
  });

  test('bounded: the least recently used entry goes first', async () => {
    const v = newVerifier({ tokenCacheSize: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => primary.mint({ sub })));
    const ida = await v.verify(a!);
    await v.verify(b!);
    await v.verify(a!); // a is now the most recent
    await v.verify(c!); // evicts b
    expect(v.cachedTokens).toBe(2);
    await expect(v.verify(a!)).resolves.toBe(ida);
  });

  test('bounded: a token sent again and again stays the most recent, behind any other used since', async () => {
    const v = newVerifier({ tokenCacheSize: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => primary.mint({ sub })));
    const ida = await v.verify(a!);
    const idb = await v.verify(b!);
    await v.verify(a!);
    await v.verify(b!);
    await v.verify(b!); // b is the most recent, a the least
    await v.verify(c!); // evicts a
    await expect(v.verify(b!)).resolves.toBe(idb);
    const again = await v.verify(a!);
    expect(again).not.toBe(ida);
    expect(again).toEqual(ida);
  });

  test('a refused token is not cached', async () => {
    const v = newVerifier();
    await expect(v.verify(await primary.mint({ sub: 'x', aud: 'other' }))).rejects.toMatchObject({ code: 'wrong_audience' });
    expect(v.cachedTokens).toBe(0);
  });

  test('cached identities are frozen: one request cannot change what the next sees', async () => {
    const v = newVerifier();
    const id = await v.verify(await primary.mint({ sub: 'frozen', groups: ['g'] }));
    expect(Object.isFrozen(id)).toBe(true);
    expect(Object.isFrozen(id.groups)).toBe(true);
  });
});
