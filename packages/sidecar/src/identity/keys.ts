// The signing keys of one issuer: OIDC discovery + JWKS, cached. Unlike jose's remote key set,
// this cache keeps serving the keys it has when the identity provider is down (a JWKS outage
// must not stop traffic signed by known keys), refreshes a stale set in the background, and
// refetches on an unknown `kid` at most once per refresh interval. `generation` changes whenever
// the key set does, so verified tokens cached under the old set can be dropped.
import { importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { AuthenticationError, IssuerUnavailableError, quote } from './errors.ts';
import type { IssuerConfig } from './flags.ts';
import { JwksClient, describe } from './jwks.ts';
/** When no key is cached yet (start-up, provider down), retry at most this often. */
const EMPTY_CACHE_RETRY_MS = 1000;
/** A token without kid is tried against at most this many fitting keys. */
const MAX_KEYS_WITHOUT_KID = 10;

export interface IssuerStatus {
  issuer: string;
  /** Keys are cached: tokens of this issuer can be verified. */
  ready: boolean;
  keys: number;
  jwksUri?: string;
  /** Last successful JWKS fetch (ms since epoch). */
  refreshedAt?: number;
  /** The reason of the last failed fetch, for logs and /readyz (never token content). */
  lastError?: string;
}

export interface KeyCacheOptions {
  now: () => number;
  /** Least time between two fetches triggered by an unknown kid. */
  refreshIntervalMs: number;
  /** Age after which the keys are refreshed in the background (kept if that fails). */
  maxAgeMs: number;
  /** Timeout of one discovery or JWKS fetch. */
  timeoutMs: number;
}

export interface CachedKey {
  kid?: string;
  /** Public members only (plus kid/alg), as published. */
  jwk: JWK;
  imported: Map<string, Promise<CryptoKey>>;
}

export class IssuerKeys {
  readonly config: IssuerConfig;
  /** Bumped whenever the cached key set changes. */
  generation = 0;
  #opts: KeyCacheOptions;
  #client: JwksClient;
  #keys: CachedKey[] = [];
  #fingerprint = '';
  #refreshedAt?: number;
  #lastAttemptAt?: number;
  #lastError?: string;
  #inflight?: Promise<void>;

  constructor(config: IssuerConfig, opts: KeyCacheOptions) {
    this.config = config;
    this.#opts = opts;
    this.#client = new JwksClient(config, opts.timeoutMs);
  }

  get ready(): boolean {
    return this.#keys.length > 0;
  }

  status(): IssuerStatus {
    const st: IssuerStatus = { issuer: this.config.issuer, ready: this.ready, keys: this.#keys.length };
    if (this.#client.jwksUri !== undefined) st.jwksUri = this.#client.jwksUri;
    if (this.#refreshedAt !== undefined) st.refreshedAt = this.#refreshedAt;
    if (this.#lastError !== undefined) st.lastError = this.#lastError;
    return st;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  /** Fetches the keys when none are cached yet. */
  async warm(): Promise<void> {
    if (!this.ready) await this.#refresh();
  }

  /** The cached keys that may verify a token with this header, refreshing as the rules above say, and the generation they belong to. */
  async keysFor(kid: string | undefined, alg: string): Promise<{ keys: CachedKey[]; generation: number }> {
    const issuer = this.config.issuer;
    const now = this.#opts.now();
    if (this.#keys.length === 0) {
      if (!this.#inflight && this.#lastAttemptAt !== undefined && now - this.#lastAttemptAt < EMPTY_CACHE_RETRY_MS) {
        throw new IssuerUnavailableError(issuer, this.#lastError ?? 'no keys cached yet');
      }
      await this.#refresh();
    } else this.refreshIfStale();
    let candidates = selectKeys(this.#keys, kid, alg);
    if (candidates.length === 0 && kid !== undefined && !this.#keys.some((k) => k.kid === kid)) {
      // Unknown kid: maybe the issuer rotated. One refresh, rate-limited; fail closed otherwise.
      if (this.#inflight || this.#mayRefresh()) {
        await this.#refresh();
        candidates = selectKeys(this.#keys, kid, alg);
      }
      if (candidates.length === 0 && !this.#keys.some((k) => k.kid === kid)) {
        throw new AuthenticationError(
          'unknown_key',
          `The token's signing key (kid ${quote(kid)}) is not among the published keys of ${issuer}; fetch a fresh token, or retry shortly if the provider just rotated its keys.`,
        );
      }
    }
    if (candidates.length === 0) {
      throw new AuthenticationError(
        'key_mismatch',
        `The token's algorithm ${alg} does not fit ${kid === undefined ? 'any signing key' : `its signing key (kid ${quote(kid)})`} of ${issuer}; send the JWT your identity provider issued, unaltered.`,
      );
    }
    return { keys: candidates.slice(0, MAX_KEYS_WITHOUT_KID), generation: this.generation };
  }

  /** Stale keys are refreshed in the background; the cached keys keep serving meanwhile and on failure. */
  refreshIfStale(): void {
    if (
      this.#keys.length > 0 &&
      !this.#inflight &&
      this.#opts.now() - (this.#refreshedAt ?? 0) >= this.#opts.maxAgeMs &&
      this.#mayRefresh()
    ) {
      this.#refresh().catch(() => undefined);
    }
  }

  #mayRefresh(): boolean {
    return this.#lastAttemptAt === undefined || this.#opts.now() - this.#lastAttemptAt >= this.#opts.refreshIntervalMs;
  }

  /** One discovery (if needed) + JWKS fetch at a time; callers share it. */
  #refresh(): Promise<void> {
    if (!this.#inflight) {
      this.#lastAttemptAt = this.#opts.now();
      this.#inflight = this.#client
        .fetchKeys()
        .then(
          (keys) => {
            const fingerprint = JSON.stringify(keys.map((k) => k.jwk));
            if (fingerprint !== this.#fingerprint) {
              this.#keys = keys;
              this.#fingerprint = fingerprint;
              this.generation++;
            }
            this.#refreshedAt = this.#opts.now();
            this.#lastError = undefined;
          },
          (err: unknown) => {
            const e =
              err instanceof IssuerUnavailableError ? err : new IssuerUnavailableError(this.config.issuer, describe(err), { cause: err });
            this.#lastError = e.detail;
            throw e;
          },
        )
        .finally(() => {
          this.#inflight = undefined;
        });
    }
    return this.#inflight;
  }
}

/** The key as a CryptoKey for `alg`, imported once per key and algorithm. */
export function importKey(key: CachedKey, alg: string): Promise<CryptoKey> {
  let p = key.imported.get(alg);
  if (!p) {
    const { kid: _kid, alg: _alg, ...material } = key.jwk;
    p = importJWK({ ...material, ext: true }, alg) as Promise<CryptoKey>;
    key.imported.set(alg, p);
  }
  return p;
}

/** Whether the published key may verify a token whose header says `alg`. */
function keyFits(jwk: JWK, alg: string): boolean {
  if (
    jwk.alg !== undefined &&
    jwk.alg !== alg &&
    !(jwk.alg === 'EdDSA' && alg === 'Ed25519') &&
    !(jwk.alg === 'Ed25519' && alg === 'EdDSA')
  ) {
    return false;
  }
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return jwk.kty === 'RSA';
  switch (alg) {
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256';
    case 'ES384':
      return jwk.kty === 'EC' && jwk.crv === 'P-384';
    case 'ES512':
      return jwk.kty === 'EC' && jwk.crv === 'P-521';
    case 'EdDSA':
      return jwk.kty === 'OKP' && (jwk.crv === 'Ed25519' || jwk.crv === 'Ed448');
    case 'Ed25519':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
    default:
      return false;
  }
}

function selectKeys(keys: CachedKey[], kid: string | undefined, alg: string): CachedKey[] {
  return keys.filter((k) => (kid === undefined || k.kid === kid) && keyFits(k.jwk, alg));
}
