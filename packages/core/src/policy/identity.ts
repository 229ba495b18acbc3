// What an identity is (DESIGN.md §9a): the pair (issuer, subject). Every credential kind —
// OIDC/JWT today, SAML assertions next — hands its verified claims to `identityFrom`, the one
// function that decides what they make of the caller; policy then matches subjects by keys that
// carry the issuer, so a name from one identity provider never matches a subject meant for another.
import type { ModelScopeSpecSubject } from '../types/generated.ts';

export interface Identity {
  /** Who vouches for the caller: an OIDC `iss`, or a SAML IdP's entityID. */
  issuer: string;
  /** The token's `sub` (or the SAML NameID): unique within `issuer` only. */
  subject: string;
  /** `issuer` is the primary issuer (the sidecar's first --issuer): only then do subjects that name no issuer match. */
  primary: boolean;
  /** Present only when the issuer vouched for it (`email_verified: true`). */
  email?: string;
  groups: string[];
  /** Set only for tokens of the service-account issuer (system:serviceaccount:<ns>:<name>). */
  serviceAccount?: { namespace: string; name: string };
}

export interface SubjectRef {
  kind: 'ServiceAccount' | 'Group' | 'User';
  name: string;
  namespace?: string;
  /** The issuer a User/Group must come from; absent = the primary issuer. */
  issuer?: string;
}

/** Which issuers may vouch for what. */
export interface IssuerTrust {
  /** The first --issuer: subjects that name no issuer belong to it. */
  primaryIssuer: string;
  /** --service-account-issuer (default the primary): the only issuer whose tokens can be ServiceAccounts. */
  serviceAccountIssuer: string;
}

/** Claims a credential's signature has vouched for, before they are interpreted. Unknown types are ignored. */
export interface VerifiedClaims {
  /**
   * What vouched for them: an OIDC issuer's JWT, or a SAML IdP's signed assertion. Only a JWT can
   * be the primary issuer's or a ServiceAccount's, whatever a SAML IdP's entityID says.
   */
  credential: 'jwt' | 'saml';
  issuer: string;
  subject: string;
  email?: unknown;
  /** Only the boolean `true` lets `email` count. */
  emailVerified?: unknown;
  /** An array of strings or one string. */
  groups?: unknown;
  /** The `kubernetes.io` claim of a projected service-account token. */
  kubernetes?: unknown;
}

/** The claims contradict themselves (e.g. `sub` and `kubernetes.io` name different service accounts). */
export class IdentityClaimError extends Error {
  override name = 'IdentityClaimError';
}

const SA_PREFIX = 'system:serviceaccount:';

/** Maps a sub claim of the form system:serviceaccount:<ns>:<name> to its parts. */
export function serviceAccountFromSubject(sub: string): { namespace: string; name: string } | undefined {
  if (!sub.startsWith(SA_PREFIX)) return undefined;
  const rest = sub.slice(SA_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  return { namespace: rest.slice(0, colon), name: rest.slice(colon + 1) };
}

/**
 * The one place that turns verified claims into an Identity.
 * - Only the service-account issuer's JWTs produce ServiceAccounts. A service-account-shaped `sub`
 *   or a `kubernetes.io` claim from any other issuer is ignored: that caller is a User named by
 *   its `sub` under its own issuer, which only a subject naming that issuer can match.
 * - Only the primary issuer's JWTs are primary. A SAML assertion is neither primary nor a
 *   ServiceAccount, even from an IdP whose entityID is spelt as an OIDC issuer (the sidecar
 *   refuses such metadata too): its subjects name the IdP.
 * - `email` counts only with `email_verified === true` (not "true", not absent).
 */
export function identityFrom(claims: VerifiedClaims, trust?: IssuerTrust): Identity {
  // (trust: the sidecar's OIDC issuers, TokenVerifier.trust; a SAML verifier has none to give)
  const jwt = claims.credential === 'jwt' && trust !== undefined;
  const id: Identity = {
    issuer: claims.issuer,
    subject: claims.subject,
    primary: jwt && claims.issuer === trust.primaryIssuer,
    groups: groupsFrom(claims.groups),
  };
  if (typeof claims.email === 'string' && claims.email !== '' && claims.emailVerified === true) id.email = claims.email;
  if (jwt && claims.issuer === trust.serviceAccountIssuer) {
    const fromSub = serviceAccountFromSubject(claims.subject);
    const fromClaim = kubernetesServiceAccount(claims.kubernetes);
    if (fromSub && fromClaim && (fromSub.namespace !== fromClaim.namespace || fromSub.name !== fromClaim.name)) {
      throw new IdentityClaimError('The token\'s "sub" and its "kubernetes.io" claim name different service accounts.');
    }
    const sa = fromSub ?? fromClaim;
    if (sa) id.serviceAccount = sa;
  }
  return id;
}

function groupsFrom(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g !== '');
  return [];
}

/** The `kubernetes.io` claim of a projected service-account token. */
function kubernetesServiceAccount(value: unknown): { namespace: string; name: string } | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const claim = value as { namespace?: unknown; serviceaccount?: unknown };
  const sa = claim.serviceaccount as { name?: unknown } | null | undefined;
  if (typeof claim.namespace !== 'string' || claim.namespace === '' || !sa || typeof sa !== 'object') return undefined;
  if (typeof sa.name !== 'string' || sa.name === '') return undefined;
  return { namespace: claim.namespace, name: sa.name };
}

// Index keys. A subject without issuer compiles to `user:<name>` / `group:<name>`, which only
// primary identities produce; a subject with an issuer to `user@<issuer>\0<name>`, which every
// identity of that issuer produces. The NUL cannot occur in a configured issuer, so no key of
// one issuer can be spelt with another's.
const qualified = (kind: 'user' | 'group', issuer: string, name: string) => `${kind}@${issuer}\u0000${name}`;

const keysCache = new WeakMap<Identity, string[]>();

/** Index keys an identity is found under; a subject compiles to exactly one of these. */
export function identityKeys(id: Identity): string[] {
  let keys = keysCache.get(id);
  if (keys) return keys;
  keys = [];
  if (id.serviceAccount) keys.push(`sa:${id.serviceAccount.namespace}/${id.serviceAccount.name}`);
  const users = id.email && id.email !== id.subject ? [id.subject, id.email] : [id.subject];
  for (const u of users) {
    if (id.primary) keys.push(`user:${u}`);
    keys.push(qualified('user', id.issuer, u));
  }
  for (const g of id.groups) {
    if (id.primary) keys.push(`group:${g}`);
    keys.push(qualified('group', id.issuer, g));
  }
  keysCache.set(id, keys);
  return keys;
}

export function subjectKey(subject: ModelScopeSpecSubject | SubjectRef, scopeNamespace: string): string {
  switch (subject.kind) {
    case 'ServiceAccount':
      return `sa:${subject.namespace ?? scopeNamespace}/${subject.name}`;
    case 'Group':
      return subject.issuer === undefined ? `group:${subject.name}` : qualified('group', subject.issuer, subject.name);
    case 'User':
      return subject.issuer === undefined ? `user:${subject.name}` : qualified('user', subject.issuer, subject.name);
  }
}

/** The subject a held request is recorded under: the most specific thing we know. */
export function requesterOf(id: Identity): SubjectRef {
  if (id.serviceAccount) return { kind: 'ServiceAccount', name: id.serviceAccount.name, namespace: id.serviceAccount.namespace };
  const ref: SubjectRef = { kind: 'User', name: id.email ?? id.subject };
  if (!id.primary) ref.issuer = id.issuer;
  return ref;
}

/** The caller as the audit's `subject` names it (the audit's `issuer` says whose). */
export function describeIdentity(id: Identity): string {
  if (id.serviceAccount) return `ServiceAccount ${id.serviceAccount.namespace}/${id.serviceAccount.name}`;
  return `User ${id.email ?? id.subject}`;
}

/** The caller in a message: the issuer too, unless it is the primary one. */
export function describeCaller(id: Identity): string {
  return id.primary || id.serviceAccount ? describeIdentity(id) : `${describeIdentity(id)} of issuer ${id.issuer}`;
}

export function identityMatchesRef(id: Identity, ref: SubjectRef, defaultNamespace: string): boolean {
  return identityKeys(id).includes(subjectKey(ref, defaultNamespace));
}
