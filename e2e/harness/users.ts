// The people the e2e suite acts as. A control plane the harness starts authenticates each of
// them with a bearer token (--token-auth-file) and the kubeconfig holds one context per user;
// on an existing cluster (KUBECONFIG) a user without a context there is impersonated.
// Every authenticated user is also in system:authenticated.

export interface UserSpec {
  name: string;
  groups: string[];
  /** Authenticated by OIDC (a local issuer the API server trusts) instead of the token file. */
  oidc?: boolean;
}

export const ADMIN = 'admin';

export const USERS: readonly UserSpec[] = [
  { name: ADMIN, groups: ['system:masters'] },
  { name: 'alice@example.com', groups: ['ml-engineers'] },
  { name: 'bob@example.com', groups: ['researchers'] },
  { name: 'carol@example.com', groups: ['security-leads'] },
  { name: 'dave@example.com', groups: ['support-engineers'] },
  { name: 'mallory@example.com', groups: [] },
  // People who sign in through the company IdP: OIDC tokens, verified by the API server.
  { name: 'erin@example.com', groups: ['security-leads'], oidc: true },
  { name: 'frank@example.com', groups: ['ml-engineers'], oidc: true },
];
