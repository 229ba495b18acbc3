// The caller's identity from a JWT (DESIGN.md §4 "Identity", §9a), verified against the
// configured OIDC issuers and turned into core's Identity by core's `identityFrom`.
//
// Order of checks (every failure is an AuthenticationError whose message is safe to show):
//   1. jws.ts: shape: size, three base64url parts, JSON header and payload;
//   2. jws.ts: header alg on the allow-list (never `none`, never HMAC), no `crit`;
//   3. the UNVERIFIED `iss` selects one configured issuer (nothing else is trusted before 5);
//   4. keys.ts (jwks.ts fetches): that issuer's cached keys that fit the header (kid, key type/curve/alg);
//   5. jose's jwtVerify: signature, then iss, aud, exp, nbf, sub present (claims.ts maps errors);
//   6. claims.ts: sub/aud shape, iat not in the future, lifetime capped;
//   7. core's identityFrom: (issuer, subject), ServiceAccounts only from the service-account issuer.
// A verified token is cached (token-cache.ts) until its exp or a change of its issuer's keys.
import { errors as joseErrors, jwtVerify } from 'jose';
import { identityFrom, IdentityClaimError, type Identity, type IssuerTrust } from '@scopekeeper/core';
import { AuthenticationError, quote } from './errors.ts';
import { extractToken, MAX_TOKEN_LENGTH, type HeaderValue } from './headers.ts';
import { issuerTrust, type IssuerConfig } from './flags.ts';
import { importKey, IssuerKeys, type CachedKey, type IssuerStatus } from './keys.ts';
import { checkRemainingClaims, joseClaimError, joseOptions, type ClaimRules } from './claims.ts';
import { VerifiedTokenCache, DEFAULT_TOKEN_CACHE_SIZE } from './token-cache.ts';
import { decodeJws, type DecodedToken } from './jws.ts';

// The verifier's whole surface from one module, for the data path and tests that import it.
export { AuthenticationError, IssuerUnavailableError, type AuthenticationErrorCode } from './errors.ts';
export { extractToken, MAX_TOKEN_LENGTH } from './headers.ts';
export { parseIssuerFlag, type IssuerConfig } from './flags.ts';
export type { IssuerStatus } from './keys.ts';

export interface VerifierOptions {
  /** The first is the primary issuer: subjects that name no issuer match its identities only. */
  issuers: IssuerConfig[];
  /** The only issuer whose tokens can be ServiceAccounts. Default: the primary issuer. */
  serviceAccountIssuer?: string;
  /** The audience a token must name in `aud`. Default `scopekeeper`. */
  audience?: string;
  /** Longest accepted token lifetime (exp − iat, else exp − nbf, else exp − now). Default 3600. */
  maxLifetimeSeconds?: number;
  /** Tolerance for exp, nbf, iat and the lifetime cap. Default 30. */
  clockSkewSeconds?: number;
  /** Accepted JWS algorithms; asymmetric only. Default RS/PS/ES 256/384/512 and EdDSA. */
  algorithms?: string[];
  /** Clock in milliseconds since the epoch. Default Date.now. */
  now?: () => number;
  /** Least time between two JWKS fetches triggered by an unknown kid, per issuer. Default 30. */
  jwksRefreshIntervalSeconds?: number;
  /** Age after which cached keys are refreshed in the background (kept if that fails). Default 600. */
  jwksMaxAgeSeconds?: number;
  /** Timeout of one discovery or JWKS fetch. Default 5000. */
  fetchTimeoutMs?: number;
  /** Verified tokens kept (LRU); 0 turns the cache off. Default 10,000. */
  tokenCacheSize?: number;
}

export const DEFAULT_AUDIENCE = 'scopekeeper';
export const DEFAULT_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
/** Algorithms that may be configured at all (asymmetric signatures jose verifies). */
const SUPPORTED_ALGORITHMS = new Set([...DEFAULT_ALGORITHMS, 'Ed25519']);

export class TokenVerifier {
  readonly audience: string;
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
  readonly algorithms: readonly string[];
  readonly trust: IssuerTrust;
  #issuers = new Map<string, { keys: IssuerKeys; groupsClaim: string }>();
  #cache: VerifiedTokenCache;
  #now: () => number;

  constructor(opts: VerifierOptions) {
    this.audience = opts.audience ?? DEFAULT_AUDIENCE;
    this.maxLifetimeSeconds = opts.maxLifetimeSeconds ?? 3600;
    this.clockSkewSeconds = opts.clockSkewSeconds ?? 30;
    this.#now = opts.now ?? Date.now;
    if (this.audience === '') throw new Error('the audience must not be empty');
    for (const [name, v] of [
      ['maxLifetimeSeconds', this.maxLifetimeSeconds],
      ['clockSkewSeconds', this.clockSkewSeconds],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
    }
    const algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS;
    for (const alg of algorithms) {
      if (!SUPPORTED_ALGORITHMS.has(alg)) {
        throw new Error(
          `algorithm ${JSON.stringify(alg)} is not accepted: only asymmetric signatures (${[...SUPPORTED_ALGORITHMS].join(', ')}) — never "none" or HMAC`,
        );
      }
    }
    if (algorithms.length === 0) throw new Error('at least one algorithm must be allowed');
    this.algorithms = [...algorithms];
    if (opts.issuers.length === 0) throw new Error('at least one issuer must be configured (--issuer)');
    const cacheOpts = {
      now: this.#now,
      refreshIntervalMs: (opts.jwksRefreshIntervalSeconds ?? 30) * 1000,
      maxAgeMs: (opts.jwksMaxAgeSeconds ?? 600) * 1000,
      timeoutMs: opts.fetchTimeoutMs ?? 5000,
    };
    for (const config of opts.issuers) {
      if (this.#issuers.has(config.issuer)) throw new Error(`issuer ${config.issuer} is configured twice`);
      this.#issuers.set(config.issuer, { keys: new IssuerKeys(config, cacheOpts), groupsClaim: config.groupsClaim ?? 'groups' });
    }
    this.trust = issuerTrust([...this.#issuers.keys()], opts.serviceAccountIssuer);
    this.#cache = new VerifiedTokenCache(opts.tokenCacheSize ?? DEFAULT_TOKEN_CACHE_SIZE);
  }

  /**
   * Fetches discovery and JWKS of every issuer that has no cached keys yet. Resolves when all
   * are ready; otherwise rejects with the IssuerUnavailableError of the first that is not (the
   * others were still attempted). /readyz can call it repeatedly; `status()` tells per issuer.
   */
  async warm(): Promise<void> {
    const results = await Promise.allSettled([...this.#issuers.values()].map((s) => s.keys.warm()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** True when every configured issuer has cached keys. */
  ready(): boolean {
    return [...this.#issuers.values()].every((s) => s.keys.ready);
  }

  status(): IssuerStatus[] {
    return [...this.#issuers.values()].map((s) => s.keys.status());
  }

  /** Verified tokens currently cached. */
  get cachedTokens(): number {
    return this.#cache.size;
  }

  /** Releases the HTTP connection pools. */
  async close(): Promise<void> {
    await Promise.all([...this.#issuers.values()].map((s) => s.keys.close()));
  }

  /** extractToken + verify; no token at all is an AuthenticationError too. */
  async authenticate(headers: { authorization?: HeaderValue; 'x-api-key'?: HeaderValue }): Promise<Identity> {
    const token = extractToken(headers);
    if (token === undefined) {
      throw new AuthenticationError(
        'missing_token',
        'No identity token was sent; send "Authorization: Bearer <JWT>" with a short-lived token for audience ' +
          `${this.audience} (e.g. a projected service-account token, or an apiKeyHelper that prints one).`,
      );
    }
    return this.verify(token);
  }

  async verify(token: string): Promise<Identity> {
    if (typeof token !== 'string' || token === '') {
      throw new AuthenticationError('missing_token', 'No token was sent; send "Authorization: Bearer <JWT>".');
    }
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new AuthenticationError(
        'token_too_large',
        `The token is longer than ${MAX_TOKEN_LENGTH} characters; send a JWT from your identity provider.`,
      );
    }
    const cacheKey = VerifiedTokenCache.keyOf(token);
    const cached = this.#cache.get(cacheKey, this.#now(), (iss) => this.#issuers.get(iss)?.keys.generation);
    if (cached) {
      // A cached token still keeps its issuer's keys fresh: a retired key then drops it.
      this.#issuers.get(cached.issuer)?.keys.refreshIfStale();
      return cached;
    }
    const decoded = decodeJws(token, this.algorithms);
    const iss = decoded.payload.iss;
    if (typeof iss !== 'string' || iss === '') {
      throw new AuthenticationError(
        'missing_claim',
        'The token has no "iss" (issuer) claim; use a token from an identity provider this sidecar trusts.',
      );
    }
    const state = this.#issuers.get(iss);
    if (!state) {
      throw new AuthenticationError(
        'unknown_issuer',
        `The token's issuer ${quote(iss)} is not one this sidecar trusts (${[...this.#issuers.keys()].join(', ')}); ` +
          'use a token from one of these, or add the issuer with --issuer.',
      );
    }
    const { keys, generation } = await state.keys.keysFor(decoded.kid, decoded.alg);
    const rules: ClaimRules = {
      issuer: iss,
      audience: this.audience,
      nowSec: this.#now() / 1000,
      clockSkewSeconds: this.clockSkewSeconds,
      maxLifetimeSeconds: this.maxLifetimeSeconds,
    };
    const payload = await this.#verifyJwt(token, keys, decoded, rules);
    const subject = checkRemainingClaims(payload, rules);
    let identity: Identity;
    try {
      identity = identityFrom(
        {
          credential: 'jwt',
          issuer: iss,
          subject,
          email: payload.email,
          emailVerified: payload.email_verified,
          groups: payload[state.groupsClaim],
          kubernetes: payload['kubernetes.io'],
        },
        this.trust,
      );
    } catch (e) {
      if (e instanceof IdentityClaimError) throw new AuthenticationError('invalid_claim', e.message);
      throw e;
    }
    Object.freeze(identity.groups);
    Object.freeze(identity);
    // Cached under the key generation the keys were read at: a rotation meanwhile drops it.
    if (state.keys.generation === generation) this.#cache.set(cacheKey, identity, (payload.exp as number) * 1000, generation);
    return identity;
  }

  // -- 5: signature and registered claims, by jose -------------------------------------------

  async #verifyJwt(token: string, keys: CachedKey[], decoded: DecodedToken, rules: ClaimRules): Promise<Record<string, unknown>> {
    const options = joseOptions(rules, decoded.alg);
    for (const key of keys) {
      let cryptoKey;
      try {
        cryptoKey = await importKey(key, decoded.alg);
      } catch {
        continue; // a published key jose cannot use for this alg (e.g. RSA < 2048 bits)
      }
      try {
        const { payload } = await jwtVerify(token, cryptoKey, options);
        return payload as Record<string, unknown>;
      } catch (err) {
        // Claims are checked only after the signature verified: this key signed the token.
        const claimError = joseClaimError(err, rules, decoded.payload);
        if (claimError) throw claimError;
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) continue;
        // JWSInvalid, JWTInvalid, a signature of the wrong length, …: the token was altered.
        break;
      }
    }
    throw new AuthenticationError(
      'bad_signature',
      `The token's signature does not verify with the signing keys of ${rules.issuer}: it was altered or signed by someone else. Send the JWT your identity provider issued, unaltered.`,
    );
  }
}
