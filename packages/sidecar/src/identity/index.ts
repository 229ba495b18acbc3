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
