// The claim checks of a JWT. jose's jwtVerify checks the registered claims (iss, aud, exp, nbf,
// and that sub is present); `joseClaimError` maps its errors onto our messages, and
// `checkLifetime` adds what jose does not check: the shape of sub and aud, an iat in the
// future, and the longest accepted lifetime.
import { errors as joseErrors, type JWTVerifyOptions } from 'jose';
import { AuthenticationError, quote } from './errors.ts';

export interface ClaimRules {
  issuer: string;
  audience: string;
  /** Seconds since the epoch, fractional. */
  nowSec: number;
  clockSkewSeconds: number;
  maxLifetimeSeconds: number;
}

export function joseOptions(rules: ClaimRules, alg: string): JWTVerifyOptions {
  return {
    algorithms: [alg],
    issuer: rules.issuer,
    audience: rules.audience,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: rules.clockSkewSeconds,
    currentDate: new Date(rules.nowSec * 1000),
  };
}

/** Our AuthenticationError for a jose claim error, or undefined when `err` is not one. */
export function joseClaimError(err: unknown, rules: ClaimRules, payload: Record<string, unknown>): AuthenticationError | undefined {
  if (!(err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired)) return undefined;
  const { claim, reason } = err;
  if (reason === 'missing') return missing(claim, rules);
  if (reason === 'invalid') return invalid(claim);
  switch (claim) {
    case 'iss':
      return new AuthenticationError('unknown_issuer', "The token's issuer is not one this sidecar trusts.");
    case 'aud':
      return (
        audienceError(payload.aud, rules) ?? new AuthenticationError('wrong_audience', `The token is not for audience ${rules.audience}.`)
      );
    case 'exp':
      return new AuthenticationError(
        'expired',
        `The token expired at ${isoTime(payload.exp as number)}; fetch a fresh one (the SDK's apiKeyHelper does this after a 401).`,
      );
    case 'nbf':
      return new AuthenticationError(
        'not_yet_valid',
        `The token is not valid before ${isoTime(payload.nbf as number)} (now ${isoTime(rules.nowSec)}); check the clocks of this host and of the identity provider, or fetch a fresh token.`,
      );
    default:
      return new AuthenticationError(
        'invalid_claim',
        `The token's "${quote(claim).slice(1, -1)}" claim was refused; send the JWT your identity provider issued, unaltered.`,
      );
  }
}

function missing(claim: string, rules: ClaimRules): AuthenticationError {
  switch (claim) {
    case 'iss':
      return new AuthenticationError(
        'missing_claim',
        'The token has no "iss" (issuer) claim; use a token from an identity provider this sidecar trusts.',
      );
    case 'sub':
      return new AuthenticationError('missing_claim', 'The token has no "sub" (subject) claim; request a token that names its subject.');
    case 'aud':
      return new AuthenticationError(
        'missing_claim',
        `The token has no "aud" (audience) claim; request a token for audience ${rules.audience}.`,
      );
    case 'exp':
      return new AuthenticationError('missing_claim', 'The token has no "exp" (expiry) claim; only short-lived tokens are accepted.');
    default:
      return new AuthenticationError('missing_claim', `The token has no "${quote(claim).slice(1, -1)}" claim.`);
  }
}

function invalid(claim: string): AuthenticationError {
  return new AuthenticationError(
    'invalid_claim',
    `The token's "${quote(claim).slice(1, -1)}" claim is not a number of seconds since the epoch.`,
  );
}

/** Why `aud` is refused, or undefined when it names the audience (exactly, case-sensitive). */
function audienceError(aud: unknown, rules: ClaimRules): AuthenticationError | undefined {
  if (aud === undefined) return missing('aud', rules);
  const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (!auds || auds.some((a) => typeof a !== 'string')) {
    return new AuthenticationError('invalid_claim', 'The token\'s "aud" claim is neither a string nor an array of strings.');
  }
  if (auds.includes(rules.audience)) return undefined;
  return new AuthenticationError(
    'wrong_audience',
    `The token is for audience ${(auds as string[]).map((a) => quote(a)).join(', ') || '(none)'}, not ${rules.audience}; request a token for audience ` +
      `${rules.audience} (for a projected service-account token: serviceAccountToken.audience: ${rules.audience}).`,
  );
}

/** What jose leaves to us, after it accepted the registered claims. Returns the subject. */
export function checkRemainingClaims(payload: Record<string, unknown>, rules: ClaimRules): string {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub === '') {
    throw new AuthenticationError('missing_claim', 'The token has no "sub" (subject) claim; request a token that names its subject.');
  }
  const audProblem = audienceError(payload.aud, rules);
  if (audProblem) throw audProblem;
  const exp = numeric(payload, 'exp')!;
  const nbf = numeric(payload, 'nbf');
  const iat = numeric(payload, 'iat');
  const { nowSec, clockSkewSeconds: skew } = rules;
  if (iat !== undefined && iat > nowSec + skew) {
    throw new AuthenticationError(
      'issued_in_future',
      `The token claims to be issued at ${isoTime(iat)}, in the future (now ${isoTime(nowSec)}); check the clocks of this host and of the identity provider.`,
    );
  }
  const start = iat !== undefined || nbf !== undefined ? Math.min(iat ?? Infinity, nbf ?? Infinity) : nowSec;
  const lifetime = exp - start;
  if (lifetime > rules.maxLifetimeSeconds + skew) {
    throw new AuthenticationError(
      'lifetime_too_long',
      `The token is valid for ${Math.round(lifetime)} s, longer than the ${rules.maxLifetimeSeconds} s this sidecar accepts; request a short-lived token ` +
        `(for a projected service-account token: expirationSeconds ≤ ${rules.maxLifetimeSeconds}).`,
    );
  }
  return sub;
}

function numeric(payload: Record<string, unknown>, name: 'exp' | 'nbf' | 'iat'): number | undefined {
  const v = payload[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(name);
  return v;
}

export function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
