// Property tests of token verification: no mutation of a valid token verifies, every failure
// is an AuthenticationError, and no message ever carries the token or a part of it.
import fc from 'fast-check';
import { LocalIssuer } from './local-issuer.ts';
import { AuthenticationError, TokenVerifier, extractToken } from './verifier.ts';

let issuer: LocalIssuer;
let verifier: TokenVerifier;
let valid: { rs: string; es: string };

beforeAll(async () => {
  issuer = await LocalIssuer.start();
  verifier = new TokenVerifier({ issuers: [issuer.issuerConfig()] });
  await verifier.warm();
  valid = {
    rs: await issuer.mint({ sub: 'system:serviceaccount:team-a:support-bot', groups: ['g1'] }),
    es: await issuer.mint({ sub: 'alice', email: 'alice@example.com' }, { alg: 'ES256' }),
  };
});

afterAll(async () => {
  await verifier.close();
  await issuer.close();
});

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** One edit of a token string. */
type Mutation =
  | { kind: 'replace'; at: number; ch: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'swapParts'; a: number; b: number }
  | { kind: 'header'; header: Record<string, unknown> }
  | { kind: 'payload'; payload: Record<string, unknown> }
  | { kind: 'part'; index: number; text: string };

const jsonish = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    ch: fc.oneof(fc.constantFrom(...B64URL.split('')), fc.string({ minLength: 1, maxLength: 1 })),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.string({ minLength: 1, maxLength: 4 }), fc.constantFrom('.', '=', ' ', '\t', 'A', '_')),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swapParts' as const), a: fc.nat(2), b: fc.nat(2) }),
  fc.record({
    kind: fc.constant('header' as const),
    header: fc.record(
      {
        alg: fc.oneof(fc.constantFrom('none', 'None', 'HS256', 'RS256', 'ES256', 'PS256', 'EdDSA', 'RS1'), fc.string()),
        kid: fc.oneof(fc.string(), fc.integer()),
        crit: fc.array(fc.string(), { maxLength: 2 }),
        typ: fc.string(),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    kind: fc.constant('payload' as const),
    payload: fc.record(
      { sub: jsonish, aud: jsonish, iss: jsonish, exp: jsonish, nbf: jsonish, iat: jsonish, 'kubernetes.io': jsonish },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    kind: fc.constant('part' as const),
    index: fc.nat(2),
    text: fc.string({ unit: fc.constantFrom(...B64URL.split('')), maxLength: 400 }),
  }),
);

/** A part's JSON object, or {} when an earlier edit broke it. */
function decoded(part: string | undefined): object {
  try {
    const v: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString());
    return typeof v === 'object' && v !== null ? v : {};
  } catch {
    return {};
  }
}

function apply(token: string, m: Mutation): string {
  const parts = token.split('.');
  switch (m.kind) {
    case 'replace': {
      if (token.length === 0) return m.ch;
      const at = m.at % token.length;
      return token.slice(0, at) + m.ch + token.slice(at + 1);
    }
    case 'insert': {
      const at = m.at % (token.length + 1);
      return token.slice(0, at) + m.text + token.slice(at);
    }
    case 'delete': {
      if (token.length === 0) return token;
      const at = m.at % token.length;
      return token.slice(0, at) + token.slice(at + m.len);
    }
    case 'truncate':
      return token.slice(0, m.at % Math.max(1, token.length));
    case 'swapParts': {
      const p = [...parts];
      [p[m.a], p[m.b]] = [p[m.b]!, p[m.a]!];
      return p.join('.');
    }
    case 'header':
      return [b64({ ...decoded(parts[0]), ...m.header }), parts[1] ?? '', parts[2] ?? ''].join('.');
    case 'payload':
      return [parts[0] ?? '', b64({ ...decoded(parts[1]), ...m.payload }), parts[2] ?? ''].join('.');
    case 'part': {
      const p = [...parts];
      p[m.index] = m.text;
      return p.join('.');
    }
  }
}

/** The failure is an AuthenticationError whose message holds neither the token nor a piece of it. */
async function refusedSafely(token: string): Promise<void> {
  let err: unknown;
  try {
    await verifier.verify(token);
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`a mutated token verified: ${token}`);
  if (!(err instanceof AuthenticationError)) throw new Error(`not an AuthenticationError: ${String(err)}`);
  const msg = err.message;
  if (token.length >= 12 && msg.includes(token)) throw new Error(`the message contains the token: ${msg}`);
  for (const part of token.split('.'))
    if (part.length >= 12 && msg.includes(part)) throw new Error(`the message contains a token part: ${msg}`);
}

describe('verify(token) under mutation', () => {
  test.each(['rs', 'es'] as const)(
    '%s: one or two random edits never verify, always an AuthenticationError, never echoed',
    async (which) => {
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 2 }), async (ms) => {
          const original = valid[which];
          const token = ms.reduce(apply, original);
          fc.pre(token !== original);
          await refusedSafely(token);
        }),
        { numRuns: 400 },
      );
    },
  );

  test('a signature re-encoded with different trailing bits (same bytes) is refused', async () => {
    // base64url of a 256-byte RSA signature has 4 unused bits in its last character: flipping
    // them decodes to the same bytes. A verifier must not accept such a malleated string.
    const [h, p, s] = valid.rs.split('.') as [string, string, string];
    const last = B64URL.indexOf(s[s.length - 1]!);
    for (let bits = 1; bits < 16; bits++) {
      const twin = `${h}.${p}.${s.slice(0, -1)}${B64URL[last ^ bits]}`;
      await refusedSafely(twin);
    }
  });

  test('arbitrary strings never verify and never throw anything but AuthenticationError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: fc.constantFrom(...`${B64URL}.=`.split('')), maxLength: 300 })),
        async (token) => {
          await refusedSafely(token);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the untouched tokens still verify (the properties above are not vacuous)', async () => {
    await expect(verifier.verify(valid.rs)).resolves.toMatchObject({ subject: 'system:serviceaccount:team-a:support-bot' });
    await expect(verifier.verify(valid.es)).resolves.toMatchObject({ subject: 'alice' });
  });
});

describe('extractToken(headers)', () => {
  test('never throws anything but AuthenticationError and never echoes what it was given', () => {
    const value = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 200 }), fc.array(fc.string({ maxLength: 60 }), { maxLength: 3 }));
    fc.assert(
      fc.property(value, value, (authorization, apiKey) => {
        try {
          const t = extractToken({ authorization, 'x-api-key': apiKey });
          if (t !== undefined && typeof t !== 'string') throw new Error('not a string');
        } catch (e) {
          if (!(e instanceof AuthenticationError)) throw e;
          for (const v of [authorization, apiKey].flat()) {
            if (typeof v === 'string' && v.trim().length >= 12 && e.message.includes(v.trim())) throw new Error(`echoed: ${e.message}`);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
