// A verified caller, as the sidecar's token check produces it, and how it meets a subject.
import type { ModelScopeSpecSubject } from '../types/generated.ts';

export interface Identity {
  issuer: string;
  /** The token's sub claim. */
  subject: string;
  email?: string;
  groups: string[];
  /** Set for Kubernetes service-account tokens (system:serviceaccount:<ns>:<name>). */
  serviceAccount?: { namespace: string; name: string };
}

export interface SubjectRef {
  kind: 'ServiceAccount' | 'Group' | 'User';
  name: string;
  namespace?: string;
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

/** Index keys an identity is found under; a subject compiles to exactly one of these. */
export function identityKeys(id: Identity): string[] {
  const keys: string[] = [];
  if (id.serviceAccount) keys.push(`sa:${id.serviceAccount.namespace}/${id.serviceAccount.name}`);
  keys.push(`user:${id.subject}`);
  if (id.email && id.email !== id.subject) keys.push(`user:${id.email}`);
  for (const g of id.groups) keys.push(`group:${g}`);
  return keys;
}

export function subjectKey(subject: ModelScopeSpecSubject | SubjectRef, scopeNamespace: string): string {
  switch (subject.kind) {
    case 'ServiceAccount':
      return `sa:${subject.namespace ?? scopeNamespace}/${subject.name}`;
    case 'Group':
      return `group:${subject.name}`;
    case 'User':
      return `user:${subject.name}`;
  }
}

/** The subject a held request is recorded under: the most specific thing we know. */
export function requesterOf(id: Identity): SubjectRef {
  if (id.serviceAccount) return { kind: 'ServiceAccount', name: id.serviceAccount.name, namespace: id.serviceAccount.namespace };
  return { kind: 'User', name: id.email ?? id.subject };
}

export function describeIdentity(id: Identity): string {
  if (id.serviceAccount) return `ServiceAccount ${id.serviceAccount.namespace}/${id.serviceAccount.name}`;
  return `User ${id.email ?? id.subject}`;
}

export function identityMatchesRef(id: Identity, ref: SubjectRef, defaultNamespace: string): boolean {
  return identityKeys(id).includes(subjectKey(ref, defaultNamespace));
}
