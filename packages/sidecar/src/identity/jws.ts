// Steps 1 and 2 of verification: the token's shape and its header, before any key is used.
// Nothing here is trusted yet; it only selects the issuer and the keys to try.
import { AuthenticationError, quote } from './errors.ts';

export interface DecodedToken {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  alg: string;
  kid?: string;
}

export function decodeJws(token: string, algorithms: readonly string[]): DecodedToken {
  const parts = token.split('.');
  if (parts.length === 5) {
    throw new AuthenticationError('malformed_token', 'The token is an encrypted JWT (JWE); send a signed JWT (JWS) instead.');
  }
  if (parts.length !== 3) {
    throw new AuthenticationError(
      'malformed_token',
      'The token is not a JWT (three base64url parts separated by dots); send the JWT your identity provider issued.',
    );
  }
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJsonPart(h, 'header');
  const alg = header.alg;
  if (typeof alg !== 'string')
    throw new AuthenticationError('malformed_token', 'The token header has no "alg"; send a JWT signed by your identity provider.');
  if (alg.toLowerCase() === 'none') {
    throw new AuthenticationError(
      'unsupported_algorithm',
      'Unsigned tokens (alg "none") are never accepted; send a JWT signed by your identity provider.',
    );
  }
  if (/^HS\d+$/i.test(alg)) {
    throw new AuthenticationError(
      'unsupported_algorithm',
      `HMAC-signed tokens (${alg}) are never accepted; send a JWT signed with the identity provider's private key.`,
    );
  }
  if (!algorithms.includes(alg)) {
    throw new AuthenticationError(
      'unsupported_algorithm',
      `The token is signed with ${quote(alg)}, which this sidecar does not accept (allowed: ${algorithms.join(', ')}).`,
    );
  }
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw new AuthenticationError(
      'malformed_token',
      'The token header uses "crit"/"b64", which this sidecar does not support; send a plain signed JWT.',
    );
  }
  const kid = header.kid;
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw new AuthenticationError('malformed_token', 'The token header\'s "kid" is not a non-empty string.');
  }
  if (s === '' || !isBase64url(s)) {
    throw new AuthenticationError(
      'malformed_token',
      "The token's signature part is missing or not base64url; send the JWT your identity provider issued, unaltered.",
    );
  }
  // Canonical encoding only: unused trailing bits set differently decode to the same signature,
  // so one signed token would otherwise verify under several spellings.
  if (Buffer.from(s, 'base64url').toString('base64url') !== s) {
    throw new AuthenticationError(
      'bad_signature',
      "The token's signature is not canonically base64url-encoded: it was altered. Send the JWT your identity provider issued, unaltered.",
    );
  }
  const payload = decodeJsonPart(p, 'payload');
  return kid === undefined ? { header, payload, alg } : { header, payload, alg, kid };
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function isBase64url(s: string): boolean {
  return BASE64URL.test(s) && s.length % 4 !== 1;
}

function decodeJsonPart(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  if (part === '' || !isBase64url(part)) {
    throw new AuthenticationError(
      'malformed_token',
      `The token's ${what} is not base64url; send the JWT your identity provider issued, unaltered.`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new AuthenticationError(
      'malformed_token',
      `The token's ${what} is not JSON; send the JWT your identity provider issued, unaltered.`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AuthenticationError(
      'malformed_token',
      `The token's ${what} is not a JSON object; send the JWT your identity provider issued, unaltered.`,
    );
  }
  return value as Record<string, unknown>;
}
