// The caller's identity (DESIGN.md §4 "Identity"): a short-lived JWT, verified against the
// configured OIDC issuers by discovery + JWKS, turned into core's `Identity`.
//
// Order of checks (every failure is an AuthenticationError whose message is safe to show the
// caller: it never contains the token or any part of it):
//   1. shape: size, three base64url parts, JSON header and payload;
//   2. header alg on the allow-list (never `none`, never HMAC), no `crit`;
//   3. the UNVERIFIED `iss` selects one configured issuer (nothing else is trusted before 4);
//   4. signature with that issuer's JWKS: key chosen by `kid`, key type/curve/alg must fit the
//      header alg; an unknown kid triggers one JWKS refresh, at most once per 30 s per issuer;
//   5. claims: iss, aud, exp required; nbf/iat honoured with the clock skew; lifetime capped.
// JWKS are cached per issuer; a stale cache is refreshed in the background and kept when the
// identity provider is down (so a JWKS outage does not stop traffic signed by known keys).
import { readFile } from 'node:fs/promises';
import { Agent, fetch } from 'undici';
import { compactVerify, errors as joseErrors, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { serviceAccountFromSubject } from '@scopekeeper/core';
import type { Identity } from '@scopekeeper/core';

// ---------------------------------------------------------------------------------------------
// Configuration

export interface IssuerConfig {
  /** The exact `iss` of the tokens (compared byte for byte, as OIDC requires). */
  issuer: string;
  /**
   * Base URL to fetch `/.well-known/openid-configuration` from when the issuer URL is not
   * reachable as-is, e.g. the kube-apiserver at https://127.0.0.1:6443 whose issuer is
   * https://kubernetes.default.svc.cluster.local. The document must still name `issuer`.
   */
  discoveryUrl?: string;
  /** PEM bundle to trust for discovery and JWKS (replaces the default roots for this issuer). */
  ca?: string;
  /** Claim holding the groups: an array of strings or one string. Default `groups`. */
  groupsClaim?: string;
  /**
   * A file whose content is sent as `Authorization: Bearer` on discovery and JWKS fetches, for a
   * kube-apiserver that does not serve discovery anonymously (read at every fetch, because
   * projected tokens rotate). Default: no credentials.
   */
  bearerTokenFile?: string;
}

export interface VerifierOptions {
  issuers: IssuerConfig[];
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
}

export const DEFAULT_AUDIENCE = 'scopekeeper';
export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Algorithms that may be configured at all (asymmetric signatures jose verifies). */
const SUPPORTED_ALGORITHMS = new Set([...DEFAULT_ALGORITHMS, 'Ed25519']);
/** Longest token accepted before parsing; real OIDC/service-account tokens are 1–8 KB. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** Largest discovery or JWKS document read. */
const MAX_DOCUMENT_BYTES = 512 * 1024;
/** When no key is cached yet (start-up, provider down), retry at most this often. */
const EMPTY_CACHE_RETRY_MS = 1000;
/** A token without kid is tried against at most this many fitting keys. */
const MAX_KEYS_WITHOUT_KID = 10;

// ---------------------------------------------------------------------------------------------
// Errors

export type AuthenticationErrorCode =
  | 'missing_token'
  | 'malformed_token'
  | 'token_too_large'
  | 'static_key'
  | 'unsupported_algorithm'
  | 'unknown_issuer'
  | 'unknown_key'
  | 'key_mismatch'
  | 'bad_signature'
  | 'missing_claim'
  | 'invalid_claim'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'lifetime_too_long'
  | 'issuer_unavailable';

/**
 * The caller is not authenticated: answer 401 authentication_error with `message`, which is safe
 * to show (it never contains the token or a part of it) and says what to do.
 */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  readonly status = 401;
  readonly code: AuthenticationErrorCode;
  constructor(code: AuthenticationErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The token could not be checked because the issuer's discovery document or JWKS could not be
 * fetched. The caller still gets a 401 ("retry"); `detail` (and `cause`) carry the real reason for
 * the sidecar's log: URL, HTTP status or network error — never token content.
 */
export class IssuerUnavailableError extends AuthenticationError {
  override name = 'IssuerUnavailableError';
  readonly issuer: string;
  readonly detail: string;
  constructor(issuer: string, detail: string, options?: ErrorOptions) {
    super('issuer_unavailable', `The identity provider ${issuer} could not be reached to check the token's signing key; retry in a few seconds.`, options);
    this.issuer = issuer;
    this.detail = detail;
  }
}

// ---------------------------------------------------------------------------------------------
// CLI syntax

/**
 * Parses one `--issuer` value: `ISSUER` or `ISSUER=DISCOVERY_URL`.
 *   --issuer https://accounts.example.com
 *   --issuer https://kubernetes.default.svc.cluster.local=https://127.0.0.1:6443
 * The split is at the first `=` followed by `http://` or `https://`. Both parts must be absolute
 * URLs without query or fragment; the URL that is fetched must be https (http only on loopback).
 * Throws an Error with a usage message otherwise.
 */
export function parseIssuerFlag(value: string): IssuerConfig {
  const text = value.trim();
  if (text === '') throw new Error('--issuer needs a value: ISSUER or ISSUER=DISCOVERY_URL');
  const split = /=(https?:\/\/)/.exec(text);
  const issuer = split ? text.slice(0, split.index) : text;
  const discoveryUrl = split ? text.slice(split.index + 1) : undefined;
  checkUrl(issuer, '--issuer ISSUER', discoveryUrl === undefined);
  if (discoveryUrl !== undefined) checkUrl(discoveryUrl, '--issuer …=DISCOVERY_URL', true);
  return discoveryUrl === undefined ? { issuer } : { issuer, discoveryUrl };
}

function checkUrl(value: string, what: string, fetched: boolean): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${what} must be an absolute URL (got ${JSON.stringify(value)}); syntax: ISSUER or ISSUER=DISCOVERY_URL`);
  }
  if (url.search !== '' || url.hash !== '') throw new Error(`${what} must not have a query or fragment (got ${JSON.stringify(value)})`);
  if (fetched && !transportAllowed(url)) {
    throw new Error(`${what} must use https (http is accepted on loopback only): ${JSON.stringify(value)}`);
  }
  return url;
}

function transportAllowed(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

// ---------------------------------------------------------------------------------------------
// Headers

type HeaderValue = string | string[] | undefined;

/**
 * Takes the caller's token from `Authorization: Bearer <JWT>` or, failing that, from a JWT in
 * `x-api-key` (the SDK's apiKeyHelper sends both; when both are present and differ,
 * Authorization wins). Returns undefined when neither header is present. Throws an
 * AuthenticationError for an Authorization header that is not `Bearer <token>` (the scheme is
 * matched as written, `Bearer`), and for an `x-api-key` that is not a JWT (e.g. an Anthropic
 * API key): the sidecar holds the model credential, callers send a short-lived token.
 */
export function extractToken(headers: { authorization?: HeaderValue; 'x-api-key'?: HeaderValue }): string | undefined {
  const authorization = single(headers.authorization, 'Authorization');
  const apiKey = single(headers['x-api-key'], 'x-api-key');
  if (authorization !== undefined) {
    if (!authorization.startsWith('Bearer ') && authorization !== 'Bearer') {
      throw new AuthenticationError(
        'malformed_token',
        'The Authorization header must be "Bearer <token>" with a short-lived JWT from your identity provider (scheme spelt "Bearer").',
      );
    }
    const token = authorization.slice('Bearer'.length).trim();
    if (token === '') {
      throw new AuthenticationError('missing_token', 'The Authorization header says "Bearer" but carries no token; send "Bearer <JWT>".');
    }
    if (/\s/.test(token)) {
      throw new AuthenticationError('malformed_token', 'The Authorization header must be "Bearer <token>" with exactly one token and no spaces in it.');
    }
    return token;
  }
  if (apiKey === undefined) return undefined;
  const key = apiKey.trim();
  if (!looksLikeJwt(key)) {
    throw new AuthenticationError(
      'static_key',
      'The x-api-key header does not hold a JWT. This sidecar holds the model credential itself: do not send an API key; ' +
        'send a short-lived identity token instead (Authorization: Bearer <JWT>, e.g. from an apiKeyHelper that prints one).',
    );
  }
  return key;
}

function single(value: HeaderValue, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  const distinct = [...new Set(value.filter((v) => v !== ''))];
  if (distinct.length === 0) return undefined;
  if (distinct.length > 1) {
    throw new AuthenticationError('malformed_token', `The ${name} header was sent more than once with different values; send one token.`);
  }
  return distinct[0];
}

const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

function looksLikeJwt(value: string): boolean {
  return value.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(value);
}

// ---------------------------------------------------------------------------------------------
// The verifier

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

interface CachedKey {
  kid?: string;
  /** Public members only (plus kid/alg/use/key_ops), as published. */
  jwk: JWK;
  imported: Map<string, Promise<CryptoKey>>;
}

interface IssuerState {
  config: IssuerConfig;
  groupsClaim: string;
  discoveryBase: string;
  dispatcher: Agent;
  jwksUri?: string;
  keys: CachedKey[];
  refreshedAt?: number;
  lastAttemptAt?: number;
  lastError?: string;
  inflight?: Promise<void>;
}

interface DecodedToken {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  alg: string;
  kid?: string;
}

export class TokenVerifier {
  readonly audience: string;
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
  readonly algorithms: readonly string[];
  #issuers = new Map<string, IssuerState>();
  #now: () => number;
  #refreshIntervalMs: number;
  #maxAgeMs: number;
  #timeoutMs: number;

  constructor(opts: VerifierOptions) {
    this.audience = opts.audience ?? DEFAULT_AUDIENCE;
    this.maxLifetimeSeconds = opts.maxLifetimeSeconds ?? 3600;
    this.clockSkewSeconds = opts.clockSkewSeconds ?? 30;
    this.#now = opts.now ?? Date.now;
    this.#refreshIntervalMs = (opts.jwksRefreshIntervalSeconds ?? 30) * 1000;
    this.#maxAgeMs = (opts.jwksMaxAgeSeconds ?? 600) * 1000;
    this.#timeoutMs = opts.fetchTimeoutMs ?? 5000;
    if (this.audience === '') throw new Error('the audience must not be empty');
    for (const [name, v] of [['maxLifetimeSeconds', this.maxLifetimeSeconds], ['clockSkewSeconds', this.clockSkewSeconds]] as const) {
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
    for (const config of opts.issuers) {
      if (this.#issuers.has(config.issuer)) throw new Error(`issuer ${config.issuer} is configured twice`);
      const base = (config.discoveryUrl ?? config.issuer).replace(/\/+$/, '');
      checkUrl(base, config.discoveryUrl === undefined ? `issuer ${config.issuer}` : `discovery URL of ${config.issuer}`, true);
      const timeout = this.#timeoutMs;
      const dispatcher = new Agent({
        connect: config.ca === undefined ? { timeout } : { timeout, ca: config.ca },
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      this.#issuers.set(config.issuer, { config, groupsClaim: config.groupsClaim ?? 'groups', discoveryBase: base, dispatcher, keys: [] });
    }
  }

  /**
   * Fetches discovery and JWKS of every issuer that has no cached keys yet. Resolves when all
   * are ready; otherwise rejects with the IssuerUnavailableError of the first that is not (the
   * others were still attempted). /readyz can call it repeatedly; `status()` tells per issuer.
   */
  async warm(): Promise<void> {
    const results = await Promise.allSettled([...this.#issuers.values()].map((s) => (s.keys.length > 0 ? undefined : this.#refresh(s))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** True when every configured issuer has cached keys. */
  ready(): boolean {
    return [...this.#issuers.values()].every((s) => s.keys.length > 0);
  }

  status(): IssuerStatus[] {
    return [...this.#issuers.values()].map((s) => {
      const st: IssuerStatus = { issuer: s.config.issuer, ready: s.keys.length > 0, keys: s.keys.length };
      if (s.jwksUri !== undefined) st.jwksUri = s.jwksUri;
      if (s.refreshedAt !== undefined) st.refreshedAt = s.refreshedAt;
      if (s.lastError !== undefined) st.lastError = s.lastError;
      return st;
    });
  }

  /** Releases the HTTP connection pools. */
  async close(): Promise<void> {
    await Promise.all([...this.#issuers.values()].map((s) => s.dispatcher.close().catch(() => undefined)));
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
    const decoded = this.#decode(token);
    const iss = decoded.payload.iss;
    if (typeof iss !== 'string' || iss === '') {
      throw new AuthenticationError('missing_claim', 'The token has no "iss" (issuer) claim; use a token from an identity provider this sidecar trusts.');
    }
    const state = this.#issuers.get(iss);
    if (!state) {
      throw new AuthenticationError(
        'unknown_issuer',
        `The token's issuer ${quote(iss)} is not one this sidecar trusts (${[...this.#issuers.keys()].join(', ')}); ` +
          'use a token from one of these, or add the issuer with --issuer.',
      );
    }
    const keys = await this.#keysFor(state, decoded.kid, decoded.alg);
    const payload = await this.#verifySignature(token, keys, decoded.alg, iss);
    return this.#checkClaims(state, payload);
  }

  // -- 1 and 2: shape and header ------------------------------------------------------------

  #decode(token: string): DecodedToken {
    if (typeof token !== 'string' || token === '') {
      throw new AuthenticationError('missing_token', 'No token was sent; send "Authorization: Bearer <JWT>".');
    }
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new AuthenticationError('token_too_large', `The token is longer than ${MAX_TOKEN_LENGTH} characters; send a JWT from your identity provider.`);
    }
    const parts = token.split('.');
    if (parts.length === 5) {
      throw new AuthenticationError('malformed_token', 'The token is an encrypted JWT (JWE); send a signed JWT (JWS) instead.');
    }
    if (parts.length !== 3) {
      throw new AuthenticationError('malformed_token', 'The token is not a JWT (three base64url parts separated by dots); send the JWT your identity provider issued.');
    }
    const [h, p, s] = parts as [string, string, string];
    const header = decodeJsonPart(h, 'header');
    const alg = header.alg;
    if (typeof alg !== 'string') throw new AuthenticationError('malformed_token', 'The token header has no "alg"; send a JWT signed by your identity provider.');
    if (alg.toLowerCase() === 'none') {
      throw new AuthenticationError('unsupported_algorithm', 'Unsigned tokens (alg "none") are never accepted; send a JWT signed by your identity provider.');
    }
    if (/^HS\d+$/i.test(alg)) {
      throw new AuthenticationError('unsupported_algorithm', `HMAC-signed tokens (${alg}) are never accepted; send a JWT signed with the identity provider's private key.`);
    }
    if (!this.algorithms.includes(alg)) {
      throw new AuthenticationError(
        'unsupported_algorithm',
        `The token is signed with ${quote(alg)}, which this sidecar does not accept (allowed: ${this.algorithms.join(', ')}).`,
      );
    }
    if (header.crit !== undefined || header.b64 !== undefined) {
      throw new AuthenticationError('malformed_token', 'The token header uses "crit"/"b64", which this sidecar does not support; send a plain signed JWT.');
    }
    const kid = header.kid;
    if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
      throw new AuthenticationError('malformed_token', 'The token header\'s "kid" is not a non-empty string.');
    }
    if (s === '' || !isBase64url(s)) {
      throw new AuthenticationError('malformed_token', 'The token\'s signature part is missing or not base64url; send the JWT your identity provider issued, unaltered.');
    }
    // Canonical encoding only: unused trailing bits set differently decode to the same signature,
    // so one signed token would otherwise verify under several spellings.
    if (Buffer.from(s, 'base64url').toString('base64url') !== s) {
      throw new AuthenticationError('bad_signature', 'The token\'s signature is not canonically base64url-encoded: it was altered. Send the JWT your identity provider issued, unaltered.');
    }
    const payload = decodeJsonPart(p, 'payload');
    return kid === undefined ? { header, payload, alg } : { header, payload, alg, kid };
  }

  // -- 4: keys and signature ----------------------------------------------------------------

  async #keysFor(state: IssuerState, kid: string | undefined, alg: string): Promise<CachedKey[]> {
    const issuer = state.config.issuer;
    if (state.keys.length === 0) {
      const t = this.#now();
      if (!state.inflight && state.lastAttemptAt !== undefined && t - state.lastAttemptAt < EMPTY_CACHE_RETRY_MS) {
        throw new IssuerUnavailableError(issuer, state.lastError ?? 'no keys cached yet');
      }
      await this.#refresh(state);
    } else if (!state.inflight && this.#now() - (state.refreshedAt ?? 0) >= this.#maxAgeMs && this.#mayRefresh(state)) {
      // Stale: refresh in the background; the cached keys keep serving meanwhile and on failure.
      this.#refresh(state).catch(() => undefined);
    }
    let candidates = selectKeys(state.keys, kid, alg);
    if (candidates.length === 0 && kid !== undefined && !state.keys.some((k) => k.kid === kid)) {
      // Unknown kid: maybe the issuer rotated. One refresh, rate-limited; fail closed otherwise.
      if (state.inflight || this.#mayRefresh(state)) {
        await this.#refresh(state);
        candidates = selectKeys(state.keys, kid, alg);
      }
      if (candidates.length === 0 && !state.keys.some((k) => k.kid === kid)) {
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
    return candidates.slice(0, MAX_KEYS_WITHOUT_KID);
  }

  #mayRefresh(state: IssuerState): boolean {
    return state.lastAttemptAt === undefined || this.#now() - state.lastAttemptAt >= this.#refreshIntervalMs;
  }

  async #verifySignature(token: string, keys: CachedKey[], alg: string, issuer: string): Promise<Record<string, unknown>> {
    for (const key of keys) {
      let cryptoKey: CryptoKey;
      try {
        cryptoKey = await importKey(key, alg);
      } catch {
        continue; // a published key jose cannot use for this alg (e.g. RSA < 2048 bits)
      }
      try {
        const { payload } = await compactVerify(token, cryptoKey, { algorithms: [alg] });
        return parseJsonObject(new TextDecoder().decode(payload), 'payload');
      } catch (err) {
        if (err instanceof AuthenticationError) throw err;
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) continue;
        // JWSInvalid, a signature of the wrong length, …: the token was altered.
        break;
      }
    }
    throw new AuthenticationError(
      'bad_signature',
      `The token's signature does not verify with the signing keys of ${issuer}: it was altered or signed by someone else. Send the JWT your identity provider issued, unaltered.`,
    );
  }

  // -- 5: claims ---------------------------------------------------------------------------

  #checkClaims(state: IssuerState, payload: Record<string, unknown>): Identity {
    const nowSec = this.#now() / 1000;
    const skew = this.clockSkewSeconds;
    const issuer = state.config.issuer;
    if (payload.iss !== issuer) {
      // Cannot differ from the unverified iss (same bytes), but never trust that silently.
      throw new AuthenticationError('unknown_issuer', 'The token\'s issuer is not one this sidecar trusts.');
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '') {
      throw new AuthenticationError('missing_claim', 'The token has no "sub" (subject) claim; request a token that names its subject.');
    }
    const aud = payload.aud;
    if (aud === undefined) {
      throw new AuthenticationError('missing_claim', `The token has no "aud" (audience) claim; request a token for audience ${this.audience}.`);
    }
    const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
    if (!auds || auds.some((a) => typeof a !== 'string')) {
      throw new AuthenticationError('invalid_claim', 'The token\'s "aud" claim is neither a string nor an array of strings.');
    }
    if (!auds.includes(this.audience)) {
      throw new AuthenticationError(
        'wrong_audience',
        `The token is for audience ${auds.map((a) => quote(a)).join(', ') || '(none)'}, not ${this.audience}; request a token for audience ` +
          `${this.audience} (for a projected service-account token: serviceAccountToken.audience: ${this.audience}).`,
      );
    }
    const exp = numericClaim(payload, 'exp');
    if (exp === undefined) {
      throw new AuthenticationError('missing_claim', 'The token has no "exp" (expiry) claim; only short-lived tokens are accepted.');
    }
    const nbf = numericClaim(payload, 'nbf');
    const iat = numericClaim(payload, 'iat');
    if (nowSec - skew >= exp) {
      throw new AuthenticationError(
        'expired',
        `The token expired at ${isoTime(exp)}; fetch a fresh one (the SDK's apiKeyHelper does this after a 401).`,
      );
    }
    if (nbf !== undefined && nowSec + skew < nbf) {
      throw new AuthenticationError(
        'not_yet_valid',
        `The token is not valid before ${isoTime(nbf)} (now ${isoTime(nowSec)}); check the clocks of this host and of the identity provider, or fetch a fresh token.`,
      );
    }
    if (iat !== undefined && iat > nowSec + skew) {
      throw new AuthenticationError(
        'issued_in_future',
        `The token claims to be issued at ${isoTime(iat)}, in the future (now ${isoTime(nowSec)}); check the clocks of this host and of the identity provider.`,
      );
    }
    const start = iat !== undefined || nbf !== undefined ? Math.min(iat ?? Infinity, nbf ?? Infinity) : nowSec;
    const lifetime = exp - start;
    if (lifetime > this.maxLifetimeSeconds + skew) {
      throw new AuthenticationError(
        'lifetime_too_long',
        `The token is valid for ${Math.round(lifetime)} s, longer than the ${this.maxLifetimeSeconds} s this sidecar accepts; request a short-lived token ` +
          `(for a projected service-account token: expirationSeconds ≤ ${this.maxLifetimeSeconds}).`,
      );
    }

    const identity: Identity = { issuer, subject: sub, groups: groupsFrom(payload[state.groupsClaim]) };
    const email = payload.email;
    if (typeof email === 'string' && email !== '' && payload.email_verified !== false) identity.email = email;
    const fromSub = serviceAccountFromSubject(sub);
    const fromClaim = kubernetesServiceAccount(payload['kubernetes.io']);
    if (fromSub && fromClaim && (fromSub.namespace !== fromClaim.namespace || fromSub.name !== fromClaim.name)) {
      throw new AuthenticationError('invalid_claim', 'The token\'s "sub" and its "kubernetes.io" claim name different service accounts.');
    }
    const sa = fromSub ?? fromClaim;
    if (sa) identity.serviceAccount = sa;
    return identity;
  }

  // -- discovery and JWKS ------------------------------------------------------------------

  /** One discovery (if needed) + JWKS fetch per issuer at a time; callers share it. */
  #refresh(state: IssuerState): Promise<void> {
    if (!state.inflight) {
      state.lastAttemptAt = this.#now();
      state.inflight = this.#fetchKeys(state)
        .then(
          (keys) => {
            state.keys = keys;
            state.refreshedAt = this.#now();
            delete state.lastError;
          },
          (err: unknown) => {
            const e = err instanceof IssuerUnavailableError ? err : new IssuerUnavailableError(state.config.issuer, describe(err), { cause: err });
            state.lastError = e.detail;
            throw e;
          },
        )
        .finally(() => {
          delete state.inflight;
        });
    }
    return state.inflight;
  }

  async #fetchKeys(state: IssuerState): Promise<CachedKey[]> {
    if (state.jwksUri !== undefined) {
      try {
        return await this.#fetchJwks(state, state.jwksUri);
      } catch {
        delete state.jwksUri; // re-discover: the jwks_uri may have moved
      }
    }
    const jwksUri = await this.#discover(state);
    const keys = await this.#fetchJwks(state, jwksUri);
    state.jwksUri = jwksUri;
    return keys;
  }

  async #discover(state: IssuerState): Promise<string> {
    const issuer = state.config.issuer;
    const url = `${state.discoveryBase}/.well-known/openid-configuration`;
    const doc = await this.#fetchJson(state, url, 'discovery');
    if (doc.issuer !== issuer) {
      throw new IssuerUnavailableError(issuer, `discovery ${url}: the document names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`);
    }
    const jwksUri = doc.jwks_uri;
    if (typeof jwksUri !== 'string') throw new IssuerUnavailableError(issuer, `discovery ${url}: no jwks_uri`);
    let parsed: URL;
    try {
      parsed = new URL(jwksUri);
    } catch {
      throw new IssuerUnavailableError(issuer, `discovery ${url}: jwks_uri ${JSON.stringify(jwksUri)} is not a URL`);
    }
    if (!transportAllowed(parsed)) {
      throw new IssuerUnavailableError(issuer, `discovery ${url}: jwks_uri ${jwksUri} is not https (http is accepted on loopback only)`);
    }
    return jwksUri;
  }

  async #fetchJwks(state: IssuerState, url: string): Promise<CachedKey[]> {
    const doc = await this.#fetchJson(state, url, 'JWKS');
    if (!Array.isArray(doc.keys)) throw new IssuerUnavailableError(state.config.issuer, `JWKS ${url}: no "keys" array`);
    const keys: CachedKey[] = [];
    for (const raw of doc.keys as unknown[]) {
      const jwk = publicJwk(raw);
      if (jwk) keys.push(jwk.kid === undefined ? { jwk, imported: new Map() } : { kid: jwk.kid, jwk, imported: new Map() });
    }
    if (keys.length === 0) {
      // Never replace working keys with nothing: an empty set is treated as an outage.
      throw new IssuerUnavailableError(state.config.issuer, `JWKS ${url}: no usable signing key (RSA, EC or OKP with use "sig")`);
    }
    return keys;
  }

  async #fetchJson(state: IssuerState, url: string, what: string): Promise<Record<string, unknown>> {
    const issuer = state.config.issuer;
    // A JWKS is application/jwk-set+json (RFC 7517): the kube-apiserver answers 406 to a JWKS
    // request that accepts only application/json, so projected service-account tokens never verified.
    const headers: Record<string, string> = { accept: what === 'JWKS' ? 'application/jwk-set+json, application/json' : 'application/json' };
    if (state.config.bearerTokenFile !== undefined) {
      let credential: string;
      try {
        credential = (await readFile(state.config.bearerTokenFile, 'utf8')).trim();
      } catch (err) {
        throw new IssuerUnavailableError(issuer, `${what}: cannot read bearerTokenFile ${state.config.bearerTokenFile}: ${describe(err)}`, { cause: err });
      }
      headers.authorization = `Bearer ${credential}`;
    }
    let text: string;
    try {
      const res = await fetch(url, { dispatcher: state.dispatcher, headers, redirect: 'error', signal: AbortSignal.timeout(this.#timeoutMs) });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        throw new IssuerUnavailableError(issuer, `${what} ${url}: HTTP ${res.status}`);
      }
      text = await readCapped(res.body, MAX_DOCUMENT_BYTES);
    } catch (err) {
      if (err instanceof IssuerUnavailableError) throw err;
      throw new IssuerUnavailableError(issuer, `${what} ${url}: ${describe(err)}`, { cause: err });
    }
    try {
      const doc: unknown = JSON.parse(text);
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
      return doc as Record<string, unknown>;
    } catch (err) {
      throw new IssuerUnavailableError(issuer, `${what} ${url}: invalid JSON (${describe(err)})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function isBase64url(s: string): boolean {
  return BASE64URL.test(s) && s.length % 4 !== 1;
}

function decodeJsonPart(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  if (part === '' || !isBase64url(part)) {
    throw new AuthenticationError('malformed_token', `The token's ${what} is not base64url; send the JWT your identity provider issued, unaltered.`);
  }
  return parseJsonObject(Buffer.from(part, 'base64url').toString('utf8'), what);
}

function parseJsonObject(text: string, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuthenticationError('malformed_token', `The token's ${what} is not JSON; send the JWT your identity provider issued, unaltered.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AuthenticationError('malformed_token', `The token's ${what} is not a JSON object; send the JWT your identity provider issued, unaltered.`);
  }
  return value as Record<string, unknown>;
}

function numericClaim(payload: Record<string, unknown>, name: 'exp' | 'nbf' | 'iat'): number | undefined {
  const v = payload[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new AuthenticationError('invalid_claim', `The token's "${name}" claim is not a number of seconds since the epoch.`);
  }
  return v;
}

function groupsFrom(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g !== '');
  return [];
}

/** The `kubernetes.io` claim of a projected service-account token. */
function kubernetesServiceAccount(value: unknown): { namespace: string; name: string } | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const claim = value as { namespace?: unknown; serviceaccount?: unknown };
  const sa = claim.serviceaccount as { name?: unknown } | null | undefined;
  if (typeof claim.namespace !== 'string' || claim.namespace === '' || !sa || typeof sa !== 'object') return undefined;
  if (typeof sa.name !== 'string' || sa.name === '') return undefined;
  return { namespace: claim.namespace, name: sa.name };
}

/** Builds the public form of a published key; undefined for keys we never verify with. */
function publicJwk(raw: unknown): JWK | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const k = raw as Record<string, unknown>;
  const str = (name: string): string | undefined => (typeof k[name] === 'string' && k[name] !== '' ? (k[name] as string) : undefined);
  if (k.use !== undefined && k.use !== 'sig') return undefined;
  if (k.key_ops !== undefined && !(Array.isArray(k.key_ops) && k.key_ops.includes('verify'))) return undefined;
  const jwk: JWK = {};
  switch (k.kty) {
    case 'RSA': {
      const n = str('n');
      const e = str('e');
      if (!n || !e) return undefined;
      Object.assign(jwk, { kty: 'RSA', n, e });
      break;
    }
    case 'EC': {
      const crv = str('crv');
      const x = str('x');
      const y = str('y');
      if (!crv || !x || !y) return undefined;
      Object.assign(jwk, { kty: 'EC', crv, x, y });
      break;
    }
    case 'OKP': {
      const crv = str('crv');
      const x = str('x');
      if (!crv || !x) return undefined;
      Object.assign(jwk, { kty: 'OKP', crv, x });
      break;
    }
    default:
      return undefined; // oct (symmetric) keys are never used, whatever the JWKS says
  }
  const kid = str('kid');
  const alg = str('alg');
  if (kid !== undefined) jwk.kid = kid;
  if (alg !== undefined) jwk.alg = alg;
  return jwk;
}

/** Whether the published key may verify a token whose header says `alg`. */
function keyFits(jwk: JWK, alg: string): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg && !(jwk.alg === 'EdDSA' && alg === 'Ed25519') && !(jwk.alg === 'Ed25519' && alg === 'EdDSA')) {
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

function importKey(key: CachedKey, alg: string): Promise<CryptoKey> {
  let p = key.imported.get(alg);
  if (!p) {
    const { kid: _kid, alg: _alg, ...material } = key.jwk;
    p = importJWK({ ...material, ext: true }, alg) as Promise<CryptoKey>;
    key.imported.set(alg, p);
  }
  return p;
}

async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (!body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) {
      await body.cancel().catch(() => undefined);
      throw new Error(`document larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timed out';
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** A claim value echoed in a message: quoted, printable, short. */
function quote(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 77)}...` : clean);
}

function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
