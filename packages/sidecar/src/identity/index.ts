// Caller identity: JWT verification (OIDC discovery + JWKS) and the local issuer of the demo.
export {
  AuthenticationError,
  IssuerUnavailableError,
  TokenVerifier,
  extractToken,
  parseIssuerFlag,
  DEFAULT_ALGORITHMS,
  DEFAULT_AUDIENCE,
  MAX_TOKEN_LENGTH,
  type AuthenticationErrorCode,
  type IssuerConfig,
  type IssuerStatus,
  type VerifierOptions,
} from './verifier.ts';
export { LocalIssuer, type LocalIssuerAlgorithm, type LocalIssuerKey, type LocalIssuerOptions, type MintClaims, type MintOptions } from './local-issuer.ts';
export { LocalSamlIdp, newSamlKey, SAML_ALG, type IssueOptions, type SamlAssertionOptions, type SamlKey } from './local-saml-idp.ts';
export { SamlMetadata, parseIdpMetadata, type SamlIdp, type SamlMetadataStatus } from './saml-metadata.ts';
export { SamlVerifier, SamlAuthenticationError, looksLikeSaml, MAX_SAML_CREDENTIAL_LENGTH, type SamlVerifierOptions } from './saml-verifier.ts';
export { authenticateCaller, type CallerVerifiers } from './saml-credential.ts';
