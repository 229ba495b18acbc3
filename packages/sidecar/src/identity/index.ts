// Caller identity. The seam for another credential kind (a SAML assertion, …): verify it in a
// module of its own here, hand the vouched-for claims to core's `identityFrom` with the
// verifier's `trust`, and throw AuthenticationError (errors.ts) for every refusal.
export { AuthenticationError, IssuerUnavailableError, type AuthenticationErrorCode } from './errors.ts';
export { extractToken, MAX_TOKEN_LENGTH } from './headers.ts';
export { parseIssuerFlag, issuerTrust, type IssuerConfig } from './flags.ts';
export type { IssuerStatus } from './keys.ts';
export { TokenVerifier, DEFAULT_ALGORITHMS, DEFAULT_AUDIENCE, type VerifierOptions } from './verifier.ts';
export { VerifiedTokenCache, DEFAULT_TOKEN_CACHE_SIZE } from './token-cache.ts';
export {
  LocalIssuer,
  type LocalIssuerAlgorithm,
  type LocalIssuerKey,
  type LocalIssuerOptions,
  type MintClaims,
  type MintOptions,
} from './local-issuer.ts';
export { LocalSamlIdp, newSamlKey, SAML_ALG, type IssueOptions, type SamlAssertionOptions, type SamlKey } from './local-saml-idp.ts';
export { SamlMetadata, parseIdpMetadata, type SamlIdp, type SamlMetadataStatus } from './saml-metadata.ts';
export {
  SamlVerifier,
  SamlAuthenticationError,
  looksLikeSaml,
  MAX_SAML_CREDENTIAL_LENGTH,
  type SamlVerifierOptions,
} from './saml-verifier.ts';
export { authenticateCaller, type CallerVerifiers } from './saml-credential.ts';
