// Identity = (issuer, subject) (DESIGN.md §9a): what a credential's claims make of the caller,
// and which subjects that caller matches.
import { compilePolicy } from './compile.ts';
import { decide } from './decide.ts';
import { identityFrom, IdentityClaimError, type IssuerTrust } from './identity.ts';
import { NOW, scope, review, messages } from '../../test/fixtures/policy.ts';

const K8S = 'https://kubernetes.default.svc';
const IDP = 'https://idp.example.com';
const trust: IssuerTrust = { primaryIssuer: K8S, serviceAccountIssuer: K8S };
const SA_SUB = 'system:serviceaccount:team-a:support-bot';
const SA_CLAIM = { namespace: 'team-a', serviceaccount: { name: 'support-bot' } };

describe('identityFrom', () => {
  test('the service-account issuer produces ServiceAccounts, from sub or the kubernetes.io claim', () => {
    expect(identityFrom({ credential: 'jwt', issuer: K8S, subject: SA_SUB }, trust)).toEqual({
      issuer: K8S,
      subject: SA_SUB,
      primary: true,
      groups: [],
      serviceAccount: { namespace: 'team-a', name: 'support-bot' },
    });
    expect(identityFrom({ credential: 'jwt', issuer: K8S, subject: 'opaque', kubernetes: SA_CLAIM }, trust).serviceAccount).toEqual({
      namespace: 'team-a',
      name: 'support-bot',
    });
  });

  test('no other issuer can: its service-account-shaped sub and kubernetes.io claim make a User of that issuer', () => {
    const id = identityFrom({ credential: 'jwt', issuer: IDP, subject: SA_SUB, kubernetes: SA_CLAIM }, trust);
    expect(id).toEqual({ issuer: IDP, subject: SA_SUB, primary: false, groups: [] });
  });

  test('with another service-account issuer, the primary issuer cannot produce ServiceAccounts', () => {
    const t: IssuerTrust = { primaryIssuer: IDP, serviceAccountIssuer: K8S };
    expect(identityFrom({ credential: 'jwt', issuer: IDP, subject: SA_SUB, kubernetes: SA_CLAIM }, t).serviceAccount).toBeUndefined();
    expect(identityFrom({ credential: 'jwt', issuer: K8S, subject: SA_SUB }, t)).toMatchObject({
      primary: false,
      serviceAccount: { name: 'support-bot' },
    });
  });

  test('a SAML assertion is never primary nor a ServiceAccount, even from an IdP spelt as the primary and service-account issuer', () => {
    expect(identityFrom({ credential: 'saml', issuer: K8S, subject: SA_SUB, groups: ['admins'] })).toEqual({
      issuer: K8S,
      subject: SA_SUB,
      primary: false,
      groups: ['admins'],
    });
    expect(identityFrom({ credential: 'saml', issuer: K8S, subject: SA_SUB, kubernetes: SA_CLAIM }, trust)).toMatchObject({
      primary: false,
    });
    expect(identityFrom({ credential: 'saml', issuer: K8S, subject: SA_SUB, kubernetes: SA_CLAIM }, trust).serviceAccount).toBeUndefined();
    // a JWT without the sidecar's trust is neither either
    expect(identityFrom({ credential: 'jwt', issuer: K8S, subject: SA_SUB })).toEqual({
      issuer: K8S,
      subject: SA_SUB,
      primary: false,
      groups: [],
    });
  });

  test('sub and kubernetes.io naming different accounts is an error', () => {
    expect(() =>
      identityFrom({ credential: 'jwt', issuer: K8S, subject: 'system:serviceaccount:team-a:other', kubernetes: SA_CLAIM }, trust),
    ).toThrow(IdentityClaimError);
  });

  test.each([
    [undefined, false],
    [false, false],
    ['true', false],
    ['false', false],
    [1, false],
    [true, true],
  ])('email with email_verified %p counts: %p', (emailVerified, counts) => {
    const id = identityFrom({ credential: 'jwt', issuer: K8S, subject: 'u1', email: 'alice@example.com', emailVerified }, trust);
    expect(id.email).toBe(counts ? 'alice@example.com' : undefined);
  });

  test('groups: an array of strings or one string; anything else is ignored', () => {
    expect(identityFrom({ credential: 'jwt', issuer: K8S, subject: 'u', groups: ['a', 3, '', 'b'] }, trust).groups).toEqual(['a', 'b']);
    expect(identityFrom({ credential: 'jwt', issuer: K8S, subject: 'u', groups: 'g' }, trust).groups).toEqual(['g']);
    expect(identityFrom({ credential: 'jwt', issuer: K8S, subject: 'u', groups: { g: 1 } }, trust).groups).toEqual([]);
  });
});

describe('subjects match (issuer, name)', () => {
  const snap = compilePolicy(
    [
      scope('sa', { subjects: [{ kind: 'ServiceAccount', name: 'support-bot' }] }),
      scope('users', {
        subjects: [
          { kind: 'User', name: 'alice@example.com' },
          { kind: 'Group', name: 'admins' },
        ],
      }),
      scope('idp-users', {
        subjects: [
          { kind: 'User', name: 'bob', issuer: IDP },
          { kind: 'Group', name: 'ops', issuer: IDP },
        ],
      }),
      scope('explicit-primary', { subjects: [{ kind: 'User', name: 'carol', issuer: K8S }] }),
    ],
    ['sa', 'users', 'idp-users', 'explicit-primary'].map((s) => review(`${s}-1`, s)),
    { namespace: 'team-a' },
  );
  const scopeOf = (claims: Parameters<typeof identityFrom>[0]) => {
    const d = decide(snap, identityFrom(claims, trust), messages(), NOW);
    return d.effect === 'allow' ? d.scope : d.reasons[0]!.code;
  };

  test('a ServiceAccount subject matches the service-account issuer only', () => {
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: SA_SUB })).toBe('sa');
    expect(scopeOf({ credential: 'jwt', issuer: IDP, subject: SA_SUB })).toBe('NoMatchingScope');
    expect(scopeOf({ credential: 'jwt', issuer: IDP, subject: 'x', kubernetes: SA_CLAIM })).toBe('NoMatchingScope');
  });

  test('User and Group subjects without issuer match the primary issuer only', () => {
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: 'u', email: 'alice@example.com', emailVerified: true })).toBe('users');
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: 'alice@example.com' })).toBe('users');
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: 'u', groups: ['admins'] })).toBe('users');
    expect(scopeOf({ credential: 'jwt', issuer: IDP, subject: 'alice@example.com' })).toBe('NoMatchingScope');
    expect(scopeOf({ credential: 'jwt', issuer: IDP, subject: 'u', email: 'alice@example.com', emailVerified: true })).toBe(
      'NoMatchingScope',
    );
    expect(scopeOf({ credential: 'jwt', issuer: IDP, subject: 'u', groups: ['admins'] })).toBe('NoMatchingScope');
  });

  test('a SAML caller from an IdP spelt as the primary issuer matches no ServiceAccount and no subject without issuer', () => {
    expect(scopeOf({ credential: 'saml', issuer: K8S, subject: SA_SUB })).toBe('NoMatchingScope');
    expect(scopeOf({ credential: 'saml', issuer: K8S, subject: 'alice@example.com' })).toBe('NoMatchingScope');
    expect(scopeOf({ credential: 'saml', issuer: K8S, subject: 'u', groups: ['admins'] })).toBe('NoMatchingScope');
  });

  test('an unverified email matches nothing', () => {
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: 'u', email: 'alice@example.com' })).toBe('NoMatchingScope');
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: 'u', email: 'alice@example.com', emailVerified: 'true' })).toBe(
      'NoMatchingScope',
    );
  });

  test('a subject naming an issuer matches that issuer only', () => {
    expect(scopeOf({ credential: 'jwt', issuer: IDP, subject: 'bob' })).toBe('idp-users');
    expect(scopeOf({ credential: 'jwt', issuer: IDP, subject: 'u', groups: ['ops'] })).toBe('idp-users');
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: 'bob' })).toBe('NoMatchingScope');
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: 'u', groups: ['ops'] })).toBe('NoMatchingScope');
    expect(scopeOf({ credential: 'jwt', issuer: K8S, subject: 'carol' })).toBe('explicit-primary');
    expect(scopeOf({ credential: 'jwt', issuer: IDP, subject: 'carol' })).toBe('NoMatchingScope');
  });

  test('an issuer that is a prefix of another, or a name with a NUL, cannot forge a qualified key', () => {
    expect(scopeOf({ credential: 'jwt', issuer: `${IDP}\u0000bob`, subject: '' })).toBe('NoMatchingScope');
    expect(scopeOf({ credential: 'jwt', issuer: 'https://idp.example', subject: 'com\u0000bob' })).toBe('NoMatchingScope');
  });
});
