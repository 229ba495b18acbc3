// The refusals of identity verification. Every message is safe to show the caller: it never
// contains the token (or assertion) or any part of it, and says what to do.

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

/** The caller is not authenticated: answer 401 authentication_error with `message`. */
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
    super(
      'issuer_unavailable',
      `The identity provider ${issuer} could not be reached to check the token's signing key; retry in a few seconds.`,
      options,
    );
    this.issuer = issuer;
    this.detail = detail;
  }
}

/** A claim value echoed in a message: quoted, printable, short. */
export function quote(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 77)}...` : clean);
}
