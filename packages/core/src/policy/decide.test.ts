import fc from 'fast-check';
import { compilePolicy } from './compile.ts';
import { decide, allowedModelGlobs } from './decide.ts';
import type { PolicyRequest, ReasonCode } from './decision.ts';
import type { Identity } from './identity.ts';
import { matchAnyName } from '../util/glob.ts';
import { NOW, scopes, reviews, sa, user, messages, service, scope, review, facts } from '../../test/fixtures/policy.ts';

const snapshot = compilePolicy(scopes, reviews, { namespace: 'team-a' });
const alice = user('alice@example.com');
const bob = user('bob@example.com');
const eve = user('eve@example.com', ['support-engineers']);
const writer = user('multi@example.com', ['writers']);

type Row = [string, Identity, PolicyRequest, 'allow' | 'deny' | 'approval-required', ReasonCode, string | undefined, number?];

const rows: Row[] = [
  // allowed
  ['SA support-bot, sonnet', sa('support-bot'), messages(), 'allow', 'Allowed', 'support'],
  ['SA support-bot, haiku', sa('support-bot'), messages({ model: 'claude-haiku-4-5' }), 'allow', 'Allowed', 'support'],
  ['Group member, sonnet', eve, messages(), 'allow', 'Allowed', 'support'],
  ['SA, allowed tools', sa('support-bot'), messages({ tools: ['Read', 'Grep'] }), 'allow', 'Allowed', 'support'],
  ['SA, MCP glob tool', sa('support-bot'), messages({ tools: ['mcp__crm__lookup'] }), 'allow', 'Allowed', 'support'],
  ['SA, max_tokens at the limit', sa('support-bot'), messages({ maxTokens: 8192 }), 'allow', 'Allowed', 'support'],
  ['SA, streaming on', sa('support-bot'), messages({ stream: true }), 'allow', 'Allowed', 'support'],
  [
    'SA, count_tokens ignores max_tokens',
    sa('support-bot'),
    { route: 'count_tokens', facts: facts({ maxTokens: 99999 }) },
    'allow',
    'Allowed',
    'support',
  ],
  ['SA, list models', sa('support-bot'), { route: 'models' }, 'allow', 'Allowed', 'support'],
  ['User by email', alice, messages(), 'allow', 'Allowed', 'ops'],
  ['User thinking allowed in ops', alice, messages({ thinking: true }), 'allow', 'Allowed', 'ops'],
  ['cross-namespace SA subject', sa('shared-bot', 'team-b'), messages(), 'allow', 'Allowed', 'cross-ns'],
  ['service GET under /customers/**', alice, service('crm', '/customers/42/orders'), 'allow', 'Allowed', 'ops'],
  ['service path glob one segment', alice, service('wiki', '/pages/home', 'POST'), 'allow', 'Allowed', 'ops'],
  ['service endpoint without path list', alice, service('open', '/anything/at/all'), 'allow', 'Allowed', 'ops'],
  ['AuditOnly scope with expired review', user('aud@example.com'), messages(), 'allow', 'AuditOnlyExpiredReview', 'audit-only'],
  ['JIT-approved opus for alice', alice, messages({ model: 'claude-opus-4-1' }), 'allow', 'Allowed', 'ops'],
  ['several scopes: first allows haiku', writer, messages({ model: 'claude-haiku-4-5' }), 'allow', 'Allowed', 'multi-a'],
  ['several scopes: second allows sonnet', writer, messages({ model: 'claude-sonnet-4-5' }), 'allow', 'Allowed', 'multi-b'],
  ['edge: one second before expiry', user('edge@example.com'), messages(), 'allow', 'Allowed', 'edge', NOW - 1000],
  ['edge: 1 ms before expiry', user('edge@example.com'), messages(), 'allow', 'Allowed', 'edge', NOW - 1],
  // denied: subject
  ['unknown user', user('mallory@example.com'), messages(), 'deny', 'NoMatchingScope', undefined],
  ['SA of the same name in another namespace', sa('support-bot', 'team-b'), messages(), 'deny', 'NoMatchingScope', undefined],
  ['group claim not matching', user('x@example.com', ['support']), messages(), 'deny', 'NoMatchingScope', undefined],
  ['scope without reviewers grants nothing', user('nora@example.com'), messages(), 'deny', 'NoMatchingScope', undefined],
  // denied: review
  ['expired review', bob, messages(), 'deny', 'ReviewExpired', 'expired'],
  ['expired review, SA', sa('research-bot'), messages(), 'deny', 'ReviewExpired', 'expired'],
  ['edge: at the deadline', user('edge@example.com'), messages(), 'deny', 'ReviewExpired', 'edge', NOW],
  ['edge: one second after', user('edge@example.com'), messages(), 'deny', 'ReviewExpired', 'edge', NOW + 1000],
  ['pending review', user('pat@example.com'), messages(), 'deny', 'ReviewPending', 'pending'],
  ['revoked review', user('rex@example.com'), messages(), 'deny', 'ReviewRevoked', 'revoked'],
  ['self-approved review', user('sam@example.com'), messages(), 'deny', 'ReviewSelfApproval', 'self'],
  ['review longer than the period', user('tim@example.com'), messages(), 'deny', 'ReviewPeriodExceeded', 'too-long'],
  ['scope never reviewed', user('una@example.com'), messages(), 'deny', 'NoReview', 'unreviewed'],
  [
    'valid review but before reviewedAt? still valid (no start)',
    sa('support-bot'),
    messages(),
    'allow',
    'Allowed',
    'support',
    Date.parse('2026-11-01T10:00:00Z'),
  ],
  [
    'support review one second before its expiry',
    sa('support-bot'),
    messages(),
    'allow',
    'Allowed',
    'support',
    Date.parse('2027-01-30T09:59:59Z'),
  ],
  ['support review at its expiry', sa('support-bot'), messages(), 'deny', 'ReviewExpired', 'support', Date.parse('2027-01-30T10:00:00Z')],
  [
    'expired review wins over model mismatch in the reasons',
    bob,
    messages({ model: 'claude-opus-4-1' }),
    'deny',
    'ReviewExpired',
    'expired',
  ],
  // denied: request shape
  ['model outside the globs', sa('support-bot'), messages({ model: 'claude-opus-4-1' }), 'deny', 'ModelNotAllowed', 'support'],
  ['model prefix trick', sa('support-bot'), messages({ model: 'xclaude-sonnet-4-5' }), 'deny', 'ModelNotAllowed', 'support'],
  ['model glob does not match sonnet-3', sa('support-bot'), messages({ model: 'claude-sonnet-3-7' }), 'deny', 'ModelNotAllowed', 'support'],
  ['max_tokens over the limit', sa('support-bot'), messages({ maxTokens: 8193 }), 'deny', 'MaxTokensExceeded', 'support'],
  ['thinking not allowed', sa('support-bot'), messages({ thinking: true }), 'deny', 'ThinkingNotAllowed', 'support'],
  ['denied tool', sa('support-bot'), messages({ tools: ['Read', 'Bash'] }), 'deny', 'ToolDenied', 'support'],
  ['denied tool Write', sa('support-bot'), messages({ tools: ['Write'] }), 'deny', 'ToolDenied', 'support'],
  ['tool outside allow', sa('support-bot'), messages({ tools: ['WebFetch'] }), 'deny', 'ToolNotAllowed', 'support'],
  ['MCP tool of another server', sa('support-bot'), messages({ tools: ['mcp__billing__refund'] }), 'deny', 'ToolNotAllowed', 'support'],
  ['streaming off in scope', user('z@example.com', ['writers']), messages({ stream: true }), 'deny', 'StreamingNotAllowed', 'multi-b'],
  [
    'several scopes: none allows opus, first reasons win',
    writer,
    messages({ model: 'claude-opus-4-1' }),
    'deny',
    'ModelNotAllowed',
    'multi-a',
  ],
  ['service: unknown endpoint', alice, service('billing', '/x'), 'deny', 'EndpointNotAllowed', 'ops'],
  ['service: method not allowed', alice, service('crm', '/customers/1', 'DELETE'), 'deny', 'MethodNotAllowed', 'ops'],
  ['service: path outside globs', alice, service('crm', '/admin/users'), 'deny', 'PathNotAllowed', 'ops'],
  ['service: single-segment glob does not cross /', alice, service('wiki', '/pages/a/b'), 'deny', 'PathNotAllowed', 'ops'],
  ['service: POST not allowed on crm', alice, service('crm', '/customers/1', 'POST'), 'deny', 'MethodNotAllowed', 'ops'],
  ['service: scope without endpoints', sa('support-bot'), service('crm', '/customers/1'), 'deny', 'EndpointNotAllowed', 'support'],
  ['service: expired scope', bob, service('crm', '/customers/1'), 'deny', 'ReviewExpired', 'expired'],
  // approval required
  [
    'opus for ops-bot needs approval',
    sa('ops-bot'),
    messages({ model: 'claude-opus-4-1' }),
    'approval-required',
    'ApprovalRequired',
    'ops',
  ],
  [
    'Bash for ops-bot needs approval (pending JIT)',
    sa('ops-bot'),
    messages({ tools: ['Bash'] }),
    'approval-required',
    'ApprovalRequired',
    'ops',
  ],
  [
    'Bash for alice needs approval (JIT only covers opus)',
    alice,
    messages({ tools: ['Read', 'Bash'] }),
    'approval-required',
    'ApprovalRequired',
    'ops',
  ],
  [
    'opus for alice after the grant expires',
    alice,
    messages({ model: 'claude-opus-4-1' }),
    'approval-required',
    'ApprovalRequired',
    'ops',
    Date.parse('2026-11-28T12:30:00Z'),
  ],
  [
    'opus for alice one second before the grant ends',
    alice,
    messages({ model: 'claude-opus-4-1' }),
    'allow',
    'Allowed',
    'ops',
    Date.parse('2026-11-28T12:29:59Z'),
  ],
  [
    'approval needed but request also breaks a rule: deny',
    sa('ops-bot'),
    messages({ model: 'claude-opus-4-1', tools: ['WebFetch'] }),
    'deny',
    'ToolNotAllowed',
    'ops',
  ],
  [
    'approval needed but review expired: deny',
    alice,
    messages({ model: 'claude-opus-4-1' }),
    'deny',
    'ReviewExpired',
    'ops',
    Date.parse('2026-12-20T08:00:00Z'),
  ],
];

describe('decide() table', () => {
  // A rest parameter keeps the callback's arity 0: jest reads a 7th parameter as `done`.
  test.each(rows)('%s', (...row: Row) => {
    const [, id, req, effect, code, scopeName, now] = row;
    const d = decide(snapshot, id, req, now ?? NOW);
    expect(d.effect).toBe(effect);
    expect(d.reasons.map((r) => r.code)).toContain(code);
    expect(d.reasons[0]!.code).toBe(code);
    expect(d.scope).toBe(scopeName);
    // One sentence a person can act on, naming the scope when there is one.
    expect(d.message).toMatch(/\.$/);
    if (scopeName && effect !== 'allow') expect(d.message).toContain(`ModelScope ${scopeName}`);
  });
});

describe('decide() details', () => {
  test('a denial names the scope, the rule and what to do', () => {
    const d = decide(snapshot, sa('support-bot'), messages({ model: 'claude-opus-4-1' }), NOW);
    expect(d.message).toBe(
      'Denied by ModelScope support, rule spec.models: model claude-opus-4-1 is not in [claude-sonnet-4-*, claude-haiku-*]; use one of those models.',
    );
  });
  test('an expired review says who must approve a new one', () => {
    const d = decide(snapshot, bob, messages(), NOW);
    expect(d.message).toContain('expired at 2026-10-30T09:00:00.000Z');
    expect(d.message).toContain('a reviewer of ModelScope expired must approve a new review');
  });
  test('approval-required carries a stable fingerprint and the subject', () => {
    const a = decide(snapshot, sa('ops-bot'), messages({ model: 'claude-opus-4-1' }), NOW);
    const b = decide(snapshot, sa('ops-bot'), messages({ model: 'claude-opus-4-1', tools: ['Read'] }), NOW);
    expect(a.approval).toMatchObject({
      scope: 'ops',
      subject: { kind: 'ServiceAccount', name: 'ops-bot', namespace: 'team-a' },
      model: 'claude-opus-4-1',
    });
    expect(a.approval!.fingerprint).toBe(b.approval!.fingerprint);
    const c = decide(snapshot, sa('ops-bot'), messages({ model: 'claude-opus-4-5' }), NOW);
    expect(c.approval!.fingerprint).not.toBe(a.approval!.fingerprint);
  });
  test('the allowed JustInTime review is named', () => {
    const d = decide(snapshot, alice, messages({ model: 'claude-opus-4-1' }), NOW);
    expect(d.review).toBe('ops-jit-alice-opus');
    expect(d.reasons.map((r) => r.code)).toEqual(['Allowed', 'ApprovedJustInTime']);
  });
  test('a pinned scope restricts the choice', () => {
    expect(decide(snapshot, writer, messages(), NOW, { pinnedScope: 'multi-a' }).reasons[0]!.code).toBe('ModelNotAllowed');
    expect(decide(snapshot, writer, messages(), NOW, { pinnedScope: 'support' }).reasons[0]!.code).toBe('ScopeNotPinned');
  });
  test('invalid scopes are reported, not used', () => {
    expect(snapshot.invalid.map((i) => i.name)).toEqual(['no-reviewers']);
    expect(snapshot.invalid[0]!.problems[0]).toMatch(/spec.review.reviewers is empty/);
  });
  test('models listing only reflects scopes with a valid review', () => {
    expect(allowedModelGlobs(snapshot, sa('support-bot'), NOW)).toEqual(['claude-sonnet-4-*', 'claude-haiku-*']);
    expect(allowedModelGlobs(snapshot, bob, NOW)).toEqual([]);
  });
  test('a snapshot for another namespace holds none of team-a', () => {
    const other = compilePolicy(scopes, reviews, { namespace: 'team-b' });
    expect(decide(other, sa('support-bot'), messages(), NOW).reasons[0]!.code).toBe('NoMatchingScope');
  });
});

describe('property: never allows a model outside every matching scope', () => {
  const nameChars = fc.constantFrom('a', 'b', 'c', '-', '4', '5', '*');
  const glob = fc.array(nameChars, { minLength: 1, maxLength: 8 }).map((cs) => cs.join(''));
  const model = fc.array(fc.constantFrom('a', 'b', 'c', '-', '4', '5'), { minLength: 1, maxLength: 10 }).map((cs) => cs.join(''));

  test('for random scopes, globs and models (both outcomes reached)', () => {
    const seen = { allow: 0, deny: 0 };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            models: fc.array(glob, { minLength: 1, maxLength: 3 }),
            group: fc.constantFrom('g1', 'g2', 'g3'),
            onExpiry: fc.constantFrom('Deny', 'AuditOnly'),
            reviewed: fc.boolean(),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.subarray(['g1', 'g2', 'g3']),
        model,
        fc.option(fc.nat(), { freq: 2 }),
        (defs, groups, random, pick) => {
          // half the runs ask for a model one of the scopes lists (else allow is rare)
          const m = pick === null ? random : defs[pick % defs.length]!.models[0]!.replaceAll('*', random.slice(0, 2));
          if (m === '') return;
          const ss = defs.map((d, i) =>
            scope(`s${i}`, {
              subjects: [{ kind: 'Group', name: d.group }],
              models: d.models,
              review: { period: '90d', reviewers: [{ kind: 'Group', name: 'r' }], onExpiry: d.onExpiry as 'Deny' | 'AuditOnly' },
            }),
          );
          const rs = defs.flatMap((d, i) => (d.reviewed ? [review(`r${i}`, `s${i}`)] : []));
          const snap = compilePolicy(ss, rs, { namespace: 'team-a' });
          const id = user('p@example.com', groups);
          const d = decide(snap, id, messages({ model: m }), NOW);
          seen[d.effect === 'allow' ? 'allow' : 'deny']++;
          // a group member whose reviewed scope lists the model is never refused for it
          const fits = defs.some(
            (def) => groups.includes(def.group) && (def.reviewed || def.onExpiry === 'AuditOnly') && matchAnyName(def.models, m),
          );
          if (fits) expect(d.effect).toBe('allow');
          if (d.effect === 'allow') {
            const matching = defs.filter((def) => groups.includes(def.group));
            expect(matching.some((def) => matchAnyName(def.models, m))).toBe(true);
            const chosen = defs[Number(d.scope!.slice(1))]!;
            expect(matchAnyName(chosen.models, m)).toBe(true);
            expect(groups).toContain(chosen.group);
          }
        },
      ),
      { numRuns: 500 },
    );
    expect(seen.allow).toBeGreaterThan(50);
    expect(seen.deny).toBeGreaterThan(50);
  });
});
