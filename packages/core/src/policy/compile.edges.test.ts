// compilePolicy and scopeProblems at their edges: every problem that makes a scope unusable, as
// the operator's Ready condition shows it; which objects a namespaced snapshot takes; how
// reviews are filed and ordered; a subject named twice.
import { compilePolicy, scopeProblems } from './compile.ts';
import { decide } from './decide.ts';
import { NOW, messages, review, scope, user } from '../../test/fixtures/policy.ts';

const GLOB = "which scopekeeper globs do not support; use '*' (and '**' in paths)";
const DURATION = 'write a number and a unit (s, m, h, d, w), for example 90d or 1h30m';

test('scopeProblems: every problem, in order, as the Ready condition shows it', () => {
  const s = scope('bad', {
    models: ['claude-[', 'ok-*'],
    tools: { allow: ['x', 'a['], deny: ['['] },
    approval: { requiredFor: { models: ['m['], tools: ['t['] }, grantDuration: '1y' },
    review: { period: '3x', expiringSoonWindow: 'soon', reviewers: [] },
    data: { mask: ['nope' as never] },
    endpoints: [
      { name: 'e', url: 'ftp://x', maskFields: ['$.ok', 'a.b'] },
      { name: 'e', url: 'not a url' },
      { name: 'f', url: 'https://f' },
    ],
  });
  expect(scopeProblems(s)).toEqual([
    `spec.models[0] "claude-[" uses "[", ${GLOB}`,
    `spec.tools.allow[1] "a[" uses "[", ${GLOB}`,
    `spec.tools.deny[0] "[" uses "[", ${GLOB}`,
    `spec.approval.requiredFor.models[0] "m[" uses "[", ${GLOB}`,
    `spec.approval.requiredFor.tools[0] "t[" uses "[", ${GLOB}`,
    `spec.review.period: invalid duration "3x": ${DURATION}`,
    `spec.review.expiringSoonWindow: invalid duration "soon": ${DURATION}`,
    `spec.approval.grantDuration: invalid duration "1y": ${DURATION}`,
    'spec.review.reviewers is empty: name at least one User or Group who may approve reviews of this scope',
    'spec.approval.approvers is empty: name who may approve held requests',
    'spec.data: data.mask[0]: unknown category "nope"; known: private-key, jwt, api-key, credit-card, iban, ssn, phone, ip-address, email',
    `spec.endpoints[e].maskFields[1]: JSONPath "a.b" at offset 0: a path starts with '$'. Supported: $.a.b, $.a[*].b, $.a[0], $..b, $['a b']`,
    'spec.endpoints[e].url must be http or https',
    'spec.endpoints: the name "e" is used twice; endpoint names must be unique',
    'spec.endpoints[e].url "not a url" is not a URL',
  ]);
});

test('scopeProblems: a sound scope has none, with or without the optional sections', () => {
  expect(scopeProblems(scope('ok', {}))).toEqual([]);
  expect(
    scopeProblems(
      scope('full', {
        tools: { allow: ['Read'], deny: ['Bash'] },
        approval: { requiredFor: { tools: ['Write'] }, approvers: [{ kind: 'User', name: 'a' }], grantDuration: '1h' },
        data: { mask: ['email'] },
        endpoints: [
          { name: 'a', url: 'http://a', maskFields: ['$.x'] },
          { name: 'b', url: 'https://b' },
        ],
      }),
    ),
  ).toEqual([]);
  // no review section at all: no reviewers
  expect(scopeProblems({ ...scope('r', {}), spec: { ...scope('r', {}).spec, review: undefined } })).toEqual([
    'spec.review.reviewers is empty: name at least one User or Group who may approve reviews of this scope',
  ]);
});

test('an invalid scope is reported with its problems and grants nothing', () => {
  const bad = scope('bad', { subjects: [{ kind: 'User', name: 'u@example.com' }], models: ['['] });
  const snap = compilePolicy([bad], [review('bad-r', 'bad')], { namespace: 'team-a' });
  expect(snap.invalid).toEqual([{ name: 'bad', namespace: 'team-a', problems: [`spec.models[0] "[" uses "[", ${GLOB}`] }]);
  expect(snap.scopes).toEqual([]);
  expect(decide(snap, user('u@example.com'), messages(), NOW).reasons[0]!.code).toBe('NoMatchingScope');
});

test('a namespaced snapshot takes only its namespace; objects without one belong to it; without a namespace, "default"', () => {
  const mine = scope('mine', { subjects: [{ kind: 'User', name: 'u@example.com' }] });
  const theirs = {
    ...scope('theirs', { subjects: [{ kind: 'User', name: 'u@example.com' }] }),
    metadata: { name: 'theirs', namespace: 'team-b' },
  };
  const bare = { ...scope('bare', {}), metadata: { name: 'bare' } };
  const snap = compilePolicy(
    [mine, theirs, bare],
    [review('mine-r', 'mine'), { ...review('theirs-r', 'theirs'), metadata: { name: 'theirs-r', namespace: 'team-b' } }],
    {
      namespace: 'team-a',
    },
  );
  expect(snap.scopes.map((s) => `${s.namespace}/${s.name}`)).toEqual(['team-a/mine', 'team-a/bare']);
  expect(snap.scopes[0]!.periodic.map((t) => t.review.metadata.name)).toEqual(['mine-r']);
  const all = compilePolicy([bare], [{ ...review('bare-r', 'bare'), metadata: { name: 'bare-r' } }]);
  expect(all.scopes.map((s) => `${s.namespace}/${s.name}`)).toEqual(['default/bare']);
  expect(all.scopes[0]!.periodic.map((t) => t.review.metadata.name)).toEqual(['bare-r']);
});

test('reviews: JustInTime and Periodic filed apart, newest expiry first; reviews of unknown scopes ignored', () => {
  const s = scope('s', { subjects: [{ kind: 'User', name: 'u@example.com' }] });
  const snap = compilePolicy(
    [s],
    [
      review('p-old', 's', { reviewedAt: '2026-09-01T00:00:00Z', expiresAt: '2026-11-30T00:00:00Z' }),
      review('p-new', 's'),
      // a grant ends at its expiresAt, or at reviewedAt + grantDuration if that is sooner
      review('j-1', 's', {
        type: 'JustInTime',
        reviewedAt: '2026-11-28T11:00:00Z',
        expiresAt: '2026-11-28T12:00:00Z',
        request: { subject: { kind: 'User', name: 'u@example.com' } },
      }),
      review('j-2', 's', {
        type: 'JustInTime',
        reviewedAt: '2026-11-28T11:30:00Z',
        expiresAt: '2026-11-28T12:30:00Z',
        request: { subject: { kind: 'User', name: 'u@example.com' } },
      }),
      review('elsewhere', 'nope'),
    ],
    { namespace: 'team-a' },
  );
  const c = snap.scopes[0]!;
  expect(c.periodic.map((t) => t.review.metadata.name)).toEqual(['p-new', 'p-old']);
  expect(c.justInTime.map((t) => t.review.metadata.name)).toEqual(['j-2', 'j-1']);
  expect(c.counting?.review.metadata.name).toBe('p-new');
});

test('a subject named twice lists the scope once; scopes keep their order and endpoints by name', () => {
  const s = scope('twice', {
    subjects: [
      { kind: 'User', name: 'u@example.com' },
      { kind: 'User', name: 'u@example.com' },
    ],
    endpoints: [{ name: 'crm', url: 'http://crm' }],
  });
  const other = scope('other', { subjects: [{ kind: 'User', name: 'u@example.com' }] });
  const snap = compilePolicy([s, other], [], { namespace: 'team-a' });
  expect(snap.bySubject.get('user:u@example.com')!.map((x) => x.name)).toEqual(['twice', 'other']);
  expect(snap.scopes.map((x) => x.order)).toEqual([0, 1]);
  expect([...snap.scopes[0]!.endpoints.keys()]).toEqual(['crm']);
  expect(snap.scopes[1]!.endpoints.size).toBe(0);
});
