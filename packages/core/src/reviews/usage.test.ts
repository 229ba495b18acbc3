import type { ModelScope } from '../types/generated.ts';
import type { AuditEvent } from '../audit/chain.ts';
import { scopeUsage, servicePath } from './usage.ts';
import { keepGlobs, lineDiff, recommend } from './recommend.ts';

const scope: ModelScope = {
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name: 'support-agent', namespace: 'team-a' },
  spec: {
    subjects: [{ kind: 'ServiceAccount', name: 'support-bot' }],
    models: ['claude-sonnet-4-*', 'claude-sonnet-4-5', 'claude-haiku-*', 'claude-opus-*'],
    tools: { allow: ['Read', 'Grep', 'mcp__crm__*', 'WebSearch'], deny: ['Bash'] },
    data: { mask: ['email'] },
    endpoints: [
      { name: 'crm', url: 'http://crm:8080', methods: ['GET', 'POST'], paths: ['/customers/**', '/orders/*'] },
      { name: 'billing', url: 'http://billing:8080', paths: ['/**'] },
    ],
  },
};

let seq = 0;
const rec = (o: Partial<AuditEvent>): AuditEvent => ({
  time: `2026-11-${String(10 + (seq++ % 10)).padStart(2, '0')}T10:00:00.000Z`,
  requestId: `req_${seq}`,
  subject: 'system:serviceaccount:team-a:support-bot',
  namespace: 'team-a',
  scope: 'support-agent',
  route: 'messages',
  method: 'POST',
  path: '/v1/messages',
  decision: 'allow',
  reasons: ['Allowed'],
  status: 200,
  latencyMs: 1,
  ...o,
});

const now = Date.parse('2026-11-30T00:00:00Z');
const log: AuditEvent[] = [
  rec({ model: 'claude-sonnet-4-5', tools: ['Read', 'Grep', 'WebSearch'], toolsUsed: ['Read'], masked: { email: 2 } }),
  rec({ model: 'claude-sonnet-4-5', tools: ['Read', 'mcp__crm__lookup'], toolsUsed: ['mcp__crm__lookup'] }),
  rec({ model: 'claude-haiku-4-5', tools: ['Read'] }),
  rec({
    model: 'claude-opus-4-1',
    decision: 'approval-required',
    reasons: ['ApprovalRequired'],
    status: 403,
    approval: 'team-a/support-agent-jit-1',
    review: 'support-agent-jit-1',
  }),
  rec({ model: 'claude-opus-4-1', reasons: ['Allowed', 'ApprovedJustInTime'], review: 'support-agent-jit-1' }),
  rec({ model: 'gpt-4', decision: 'deny', reasons: ['ModelNotAllowed'], status: 403, subject: 'user:mallory' }),
  rec({ route: 'service', method: 'GET', path: '/services/crm/customers/42?x=1', model: undefined }),
  rec({ route: 'service', method: 'GET', path: '/services/crm/customers/43' }),
  // Another scope, another namespace, and a record outside the window: none of them count.
  rec({ scope: 'other', model: 'claude-opus-4-1' }),
  rec({ namespace: 'team-b', model: 'claude-opus-4-1' }),
  { ...rec({ model: 'claude-opus-4-1', toolsUsed: ['Grep'] }), time: '2026-01-01T00:00:00.000Z' },
];

describe('scopeUsage', () => {
  const u = scopeUsage(log, scope, { now, since: Date.parse('2026-11-01T00:00:00Z') });

  test('counts requests of this scope only, within the window', () => {
    expect({ requests: u.requests, allowed: u.allowed, denied: u.denied, held: u.held }).toEqual({
      requests: 8,
      allowed: 6,
      denied: 1,
      held: 1,
    });
    expect(u.callers.map((c) => [c.subject, c.requests, c.denied])).toEqual([
      ['system:serviceaccount:team-a:support-bot', 7, 0],
      ['user:mallory', 1, 1],
    ]);
  });

  test('models, tools offered against used, endpoints, masking, denials', () => {
    expect(u.models.map((m) => [m.name, m.count])).toEqual([
      ['claude-sonnet-4-5', 2],
      ['claude-haiku-4-5', 1],
      ['claude-opus-4-1', 1],
    ]);
    expect(u.toolsOffered.map((t) => [t.name, t.count])).toEqual([
      ['Read', 3],
      ['Grep', 1],
      ['mcp__crm__lookup', 1],
      ['WebSearch', 1],
    ]);
    expect(u.toolsUsed.map((t) => t.name).sort()).toEqual(['Read', 'mcp__crm__lookup']);
    expect(u.endpoints).toEqual([
      expect.objectContaining({ name: 'crm GET /customers/42', count: 1 }),
      expect.objectContaining({ name: 'crm GET /customers/43', count: 1 }),
    ]);
    expect(u.masked).toEqual([expect.objectContaining({ name: 'email', count: 2 })]);
    expect(u.denials).toEqual([expect.objectContaining({ name: 'ModelNotAllowed', count: 1 })]);
  });

  test('a held request that was approved and then used says so', () => {
    expect(u.holds).toEqual([
      expect.objectContaining({ approval: 'team-a/support-agent-jit-1', model: 'claude-opus-4-1', outcome: 'used' }),
    ]);
  });

  test('every grant nothing used is listed as unused, with why', () => {
    const un = u.unused.map((x) => `${x.field} ${x.grant}`);
    expect(un).toEqual([
      'spec.tools.allow Grep',
      'spec.tools.allow WebSearch',
      'spec.endpoints[crm].paths /orders/*',
      'spec.endpoints[crm].methods POST',
      'spec.endpoints billing',
    ]);
    expect(u.unused[0]!.why).toMatch(/offered to the model in 1 request but never invoked/);
  });

  test('--min-uses turns rarely used grants into unused ones', () => {
    // No --since: the January record counts too, so claude-opus-* has its two uses.
    const strict = scopeUsage(log, scope, { now }, 2);
    expect(strict.unused.map((x) => x.grant)).toEqual(['claude-haiku-*', 'Read', 'Grep', 'mcp__crm__*', 'WebSearch', 'crm', 'billing']);
    expect(strict.unused[0]!.why).toMatch(/2 or more times in the audit log$/);
  });

  test('servicePath splits the endpoint from the path and drops the query', () => {
    expect(servicePath('/services/crm/a/b?x=1')).toEqual({ endpoint: 'crm', path: '/a/b' });
    expect(servicePath('/services/crm')).toEqual({ endpoint: 'crm', path: '/' });
    expect(servicePath('/v1/messages')).toBeUndefined();
  });
});

describe('recommend', () => {
  const u = scopeUsage(log, scope, { now, since: Date.parse('2026-11-01T00:00:00Z') });
  const r = recommend(scope, u);

  test('keeps what was used, drops the rest, narrowest glob wins', () => {
    expect(r.scope!.spec.models).toEqual(['claude-sonnet-4-5', 'claude-haiku-*', 'claude-opus-*']);
    expect(r.scope!.spec.tools).toEqual({ allow: ['Read', 'mcp__crm__*'], deny: ['Bash'] });
    expect(r.scope!.spec.endpoints).toEqual([{ name: 'crm', url: 'http://crm:8080', methods: ['GET'], paths: ['/customers/**'] }]);
    expect(r.scope!.spec.data).toEqual({ mask: ['email'] });
  });

  test('one line per removed grant, each saying why', () => {
    const lines = r.removed.map((x) => `${x.field} ${x.grant}: ${x.why}`);
    expect(lines).toEqual([
      expect.stringMatching(/^spec\.models claude-sonnet-4-\*: every use is covered by the narrower claude-sonnet-4-5/),
      expect.stringMatching(/^spec\.tools\.allow Grep: offered/),
      expect.stringMatching(/^spec\.tools\.allow WebSearch: offered/),
      expect.stringMatching(/^spec\.endpoints\[crm\]\.paths \/orders\/\*: no allowed request/),
      expect.stringMatching(/^spec\.endpoints\[crm\]\.methods POST: no allowed POST/),
      expect.stringMatching(/^spec\.endpoints billing: no allowed request reached endpoint billing/),
    ]);
  });

  test('the YAML is an applyable ModelScope and the diff shows the removals', () => {
    expect(r.yaml).toMatch(
      /^apiVersion: scopekeeper.dev\/v1alpha1\nkind: ModelScope\nmetadata:\n {2}name: support-agent\n {2}namespace: team-a\n/,
    );
    expect(r.diff).toContain('-     - claude-sonnet-4-*');
    expect(r.diff).toContain('-       - WebSearch');
    expect(r.diff).not.toMatch(/^\+ /m);
  });

  test('when every model came through an approval, spec.models is kept and the reviewer told why', () => {
    const gated: ModelScope = {
      ...scope,
      spec: {
        ...scope.spec,
        models: ['claude-sonnet-4-*'],
        approval: { requiredFor: { models: ['claude-opus-*'] }, approvers: [{ kind: 'Group', name: 'leads' }] },
      },
    };
    const viaJit = [rec({ model: 'claude-opus-4-1', reasons: ['Allowed', 'ApprovedJustInTime'], review: 'j' })];
    const only = recommend(gated, scopeUsage(viaJit, gated, { now }));
    expect(only.scope!.spec.models).toEqual(['claude-sonnet-4-*']);
    expect(only.notes).toEqual([expect.stringMatching(/^every model used came through approvals/)]);
    expect(only.removed.some((x) => x.field === 'spec.models')).toBe(false);
  });

  test('a scope nothing used is not tightened but flagged', () => {
    const none = recommend(scope, scopeUsage([], scope, { now }));
    expect(none.scope).toBeUndefined();
    expect(none.unusedScope).toMatch(/consider deleting it \(kubectl delete ms support-agent -n team-a\)/);
  });
});

describe('keepGlobs and lineDiff', () => {
  test('a wide glob survives only where no narrower one covers a use', () => {
    expect(keepGlobs(['a*', 'ab*', 'abc'], ['abc'])).toEqual(['abc']);
    expect(keepGlobs(['a*', 'ab*', 'abc'], ['abd'])).toEqual(['ab*']);
    expect(keepGlobs(['a*', 'ab*', 'abc'], ['ax', 'abc'])).toEqual(['a*', 'abc']);
    expect(keepGlobs(['a*'], ['zz'])).toEqual([]);
  });

  test('lineDiff marks removed and added lines', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nc\nd\n')).toBe(['  a', '- b', '  c', '+ d', ''].join('\n'));
  });
});

test('lineDiff with context keeps only the lines around a change', () => {
  const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n');
  const b = ['1', '2', '3', '4', '6', '7', '8', '9'].join('\n');
  expect(lineDiff(a, b, 1)).toBe(['  4', '- 5', '  6', '  …', ''].join('\n'));
});
