// Where the caller's token comes from: `Authorization: Bearer <JWT>`, or a JWT in `x-api-key`
// (the SDK's apiKeyHelper sends both).
import { AuthenticationError } from './errors.ts';

export type HeaderValue = string | string[] | undefined;

/** Longest accepted token before parsing; real OIDC/service-account tokens are 1–8 KB. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Takes the caller's token from `Authorization: Bearer <JWT>` or, failing that, from a JWT in
 * `x-api-key` (when both are present and differ, Authorization wins). Returns undefined when
 * neither header is present. Throws an AuthenticationError for an Authorization header that is
 * not `Bearer <token>` (the scheme is matched as written, `Bearer`), and for an `x-api-key` that
 * is not a JWT (e.g. an Anthropic API key): the sidecar holds the model credential, callers send
 * a short-lived token.
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
      throw new AuthenticationError(
        'malformed_token',
        'The Authorization header must be "Bearer <token>" with exactly one token and no spaces in it.',
      );
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
