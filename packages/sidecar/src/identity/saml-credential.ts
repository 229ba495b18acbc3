// Which verifier a caller's credential goes to. Credentials arrive where SDKs put them:
// `Authorization: Bearer …`, or `x-api-key` (apiKeyHelper's output is sent in both). A JWT is
// three base64url parts joined by dots ("eyJ…"); a SAML credential is standard base64 of an XML
// document, so it starts with "P" (base64 of "<") and has no dot. Everything that is not
// SAML-shaped takes the JWT path unchanged, with its own header rules and messages.
import type { Identity } from '@scopekeeper/core';
import { AuthenticationError, extractToken, type TokenVerifier } from './verifier.ts';
// Type only: the SAML verifier (and its XML and signature libraries) is loaded only when
// --saml-idp-metadata is given (run.ts).
import type { SamlVerifier } from './saml-verifier.ts';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Whether a credential has the form of a base64 SAML document (base64 of "<…"), rather than a JWT. */
export function looksLikeSaml(credential: string): boolean {
  return credential.startsWith('P') && !credential.includes('.') && BASE64.test(credential.slice(0, 64));
}

type HeaderValue = string | string[] | undefined;
export interface CredentialHeaders {
  authorization?: HeaderValue;
  'x-api-key'?: HeaderValue;
}

export interface CallerVerifiers {
  jwt: TokenVerifier;
  /** Present when --saml-idp-metadata is configured. */
  saml?: SamlVerifier;
}

/** The one identity function of the data path: a verified Identity, or an AuthenticationError (401). */
export async function authenticateCaller(headers: CredentialHeaders, verifiers: CallerVerifiers): Promise<Identity> {
  const credential = samlCredential(headers);
  if (credential === undefined) return verifiers.jwt.authenticate(headers);
  if (!verifiers.saml) {
    throw new AuthenticationError(
      'malformed_token',
      'The credential looks like a SAML assertion, but this sidecar trusts no SAML IdP; send a JWT, or configure the IdP with --saml-idp-metadata.',
    );
  }
  return verifiers.saml.verify(credential);
}

/** The credential when it is SAML-shaped, else undefined (the JWT path then decides). */
function samlCredential(headers: CredentialHeaders): string | undefined {
  const present = (v: HeaderValue) => (Array.isArray(v) ? v.some((x) => x !== '') : v !== undefined && v !== '');
  if (present(headers.authorization)) {
    const token = extractToken({ authorization: headers.authorization });
    return token !== undefined && looksLikeSaml(token) ? token : undefined;
  }
  const apiKey = headers['x-api-key'];
  const values = [...new Set((Array.isArray(apiKey) ? apiKey : [apiKey]).filter((v): v is string => !!v).map((v) => v.trim()))];
  return values.length === 1 && looksLikeSaml(values[0]!) ? values[0] : undefined;
}
