// The 401s of a SAML credential, each with the check that failed and what to do about it (the
// SAML counterpart of errors.ts). No message quotes the assertion.
import { AuthenticationError, type AuthenticationErrorCode } from './verifier.ts';
import type { SignatureError } from './saml-signature.ts';
import type { AssertionError } from './saml-assertion.ts';

/** A 401 for a SAML credential; `reason` names the check that failed (for tests and logs). */
export class SamlAuthenticationError extends AuthenticationError {
  override name = 'SamlAuthenticationError';
  readonly reason: string;
  constructor(code: AuthenticationErrorCode, reason: string, message: string) {
    super(code, message);
    this.reason = reason;
  }
}

export const AS_ISSUED = 'send the assertion exactly as the IdP issued it';
const FRESH = "fetch a fresh assertion from the IdP (the SDK's apiKeyHelper does this after a 401)";

export function fail(code: AuthenticationErrorCode, reason: string, message: string): SamlAuthenticationError {
  return new SamlAuthenticationError(code, reason, `${message}.`);
}

/** The assertion's signature did not verify against the IdP's metadata. */
export function signatureFailure(err: SignatureError, entityId: string): SamlAuthenticationError {
  switch (err.problem) {
    case 'unsigned':
      return fail(
        'bad_signature',
        'unsigned',
        `${err.message}; configure the IdP to sign assertions (a signed Response alone is not enough)`,
      );
    case 'sha1':
      return fail(
        'unsupported_algorithm',
        'sha1',
        `${err.message}, which is refused; configure the IdP to sign with RSA-SHA256 and digest with SHA-256`,
      );
    case 'algorithm':
      return fail(
        'unsupported_algorithm',
        'algorithm',
        `${err.message}; configure the IdP to sign with RSA-SHA256 (or RSA-SHA512), exclusive C14N`,
      );
    case 'wrapped':
      return fail('bad_signature', 'wrapped', `${err.message}; ${AS_ISSUED}`);
    case 'bad_signature':
      return fail(
        'bad_signature',
        'bad_signature',
        `${err.message} with the signing certificates in the metadata of ${entityId}: it was altered or signed by another key; ${AS_ISSUED}, and if the IdP changed its key, update its metadata`,
      );
  }
}

/** A claim of the signed assertion failed (saml-assertion.ts); the advice names this sidecar's settings. */
export function claimFailure(err: AssertionError, sp: { audience: string; maxLifetimeSeconds: number }): SamlAuthenticationError {
  const advice: Record<AssertionError['problem'], [AuthenticationErrorCode, string]> = {
    malformed: ['invalid_claim', 'configure the IdP to issue a standard SAML 2.0 bearer assertion'],
    issuer: ['invalid_claim', AS_ISSUED],
    audience: ['wrong_audience', `configure the IdP to issue assertions for audience (SP entityID) "${sp.audience}" (--saml-audience)`],
    expired: ['expired', FRESH],
    not_yet_valid: ['not_yet_valid', `check the clocks of this host and of the IdP, or ${FRESH}`],
    lifetime: ['lifetime_too_long', `configure the IdP to issue assertions valid for at most ${sp.maxLifetimeSeconds} s`],
    condition: ['invalid_claim', 'configure the IdP not to add this condition for this SP'],
  };
  const [code, what] = advice[err.problem];
  return fail(code, err.problem, `${err.message}; ${what}`);
}
