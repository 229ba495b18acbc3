// decide() at the edges the table does not reach: which of several scopes decides, limits and
// approval rules that are absent, tools whose names only look like an MCP endpoint's, MCP
// endpoints without an mcp section, several path globs, and the fingerprint of a held request.
import { compilePolicy } from './compile.ts';
import { decide } from './decide.ts';
import type { McpCall, PolicyRequest } from './decision.ts';
import { approvalFingerprint } from './gates.ts';
import { NOW, sa, user, messages, scope, review } from '../../test/fixtures/policy.ts';
import type { ModelScope } from '../types/generated.ts';

const approvers = [{ kind: 'Group' as const, name: 'security-leads' }];
const snap = (scopes: ModelScope[]) =>
  compilePolicy(
    scopes,
    scopes.map((s) => review(`${s.metadata.name}-r`, s.metadata.name)),
    { namespace: 'team-a' },
  );
const mcp = (call: McpCall, endpoint = 'crm', url = 'http://crm:80/mcp'): PolicyRequest => ({ route: 'mcp', endpoint, url, call });

describe('several scopes', () => {
  test('the first scope in order that allows decides, whether it names the caller as a group or by name', () => {
    const viaGroup = scope('a-group', { subjects: [{ kind: 'Group', name: 'writers' }] });
    const viaName = scope('b-user', { subjects: [{ kind: 'User', name: 'w@example.com' }] });
    const w = user('w@example.com', ['writers']);
    expect(decide(snap([viaGroup, viaName]), w, messages(), NOW).scope).toBe('a-group');
    expect(decide(snap([viaName, viaGroup]), w, messages(), NOW).scope).toBe('b-user');
  });

  test('a scope whose review expired does not stop a later scope from allowing', () => {
    const expired = scope('expired', { subjects: [{ kind: 'User', name: 'w@example.com' }] });
    const valid = scope('valid', { subjects: [{ kind: 'User', name: 'w@example.com' }] });
    const s = compilePolicy(
      [expired, valid],
      [review('old', 'expired', { reviewedAt: '2026-08-01T09:00:00Z', expiresAt: '2026-10-30T09:00:00Z' }), review('new', 'valid')],
      { namespace: 'team-a' },
    );
    expect(decide(s, user('w@example.com'), messages(), NOW)).toMatchObject({ effect: 'allow', scope: 'valid', review: 'new' });
    // and alone, the expired one explains itself
    expect(decide(s, user('w@example.com'), messages(), NOW, { pinnedScope: 'expired' }).reasons[0]!.code).toBe('ReviewExpired');
  });
});

describe('held by one scope, allowed by another', () => {
  const gated = (name: string, extra: Partial<ModelScope['spec']> = {}) =>
    scope(name, {
      subjects: [{ kind: 'User', name: 'w@example.com' }],
      approval: { requiredFor: { models: ['claude-opus-*'] }, approvers },
      models: ['claude-sonnet-4-*', 'claude-opus-*'],
      ...extra,
    });
  const w = user('w@example.com');
  const opus = messages({ model: 'claude-opus-4-1' });

  test('a first scope that refuses does not hide a later one that holds', () => {
    const refuses = scope('a-refuses', { subjects: [{ kind: 'User', name: 'w@example.com' }] });
    const d = decide(snap([refuses, gated('b-holds')]), w, opus, NOW);
    expect([d.effect, d.scope]).toEqual(['approval-required', 'b-holds']);
  });

  test('the first of two holding scopes is named; a later scope that allows wins over both', () => {
    expect(decide(snap([gated('a-holds'), gated('b-holds')]), w, opus, NOW).scope).toBe('a-holds');
    const allows = scope('c-allows', { subjects: [{ kind: 'User', name: 'w@example.com' }], models: ['claude-opus-*'] });
    expect(decide(snap([gated('a-holds'), allows]), w, opus, NOW)).toMatchObject({ effect: 'allow', scope: 'c-allows' });
  });

  test('a first scope that fits but whose review expired does not hide a later one that holds', () => {
    const snapshot = compilePolicy(
      [gated('a-expired'), gated('b-holds')],
      [review('a-old', 'a-expired', { reviewedAt: '2026-08-01T09:00:00Z', expiresAt: '2026-10-30T09:00:00Z' }), review('b-r', 'b-holds')],
      { namespace: 'team-a' },
    );
    expect(decide(snapshot, w, opus, NOW)).toMatchObject({ effect: 'approval-required', scope: 'b-holds' });
  });

  test('a JustInTime approval of held tools allows them, whatever model its request also names', () => {
    const s = scope('t', {
      subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
      approval: { requiredFor: { tools: ['Bash', 'Write'] }, approvers },
    });
    const jit = review('t-jit', 't', {
      type: 'JustInTime',
      reviewedAt: '2026-11-28T11:30:00Z',
      expiresAt: '2026-11-28T12:30:00Z',
      request: { subject: { kind: 'ServiceAccount', name: 'bot', namespace: 'team-a' }, model: 'claude-sonnet-4-5', tools: ['Bash'] },
    });
    const snapshot = compilePolicy([s], [review('t-r', 't'), jit], { namespace: 'team-a' });
    expect(decide(snapshot, sa('bot'), messages({ tools: ['Bash'] }), NOW)).toMatchObject({ effect: 'allow', review: 't-jit' });
    // a held tool the approval does not name is still held
    expect(decide(snapshot, sa('bot'), messages({ tools: ['Bash', 'Write'] }), NOW).effect).toBe('approval-required');
  });
});

describe('absent limits and rules', () => {
  const bare = scope('bare', { subjects: [{ kind: 'ServiceAccount', name: 'bot' }], limits: undefined, tools: undefined });
  const s = snap([bare]);

  test('no limits: any max_tokens and streaming pass, thinking does not', () => {
    expect(decide(s, sa('bot'), messages({ maxTokens: 10_000_000, stream: true }), NOW).effect).toBe('allow');
    expect(decide(s, sa('bot'), messages({ thinking: true }), NOW).reasons[0]!.code).toBe('ThinkingNotAllowed');
  });

  test('a max_tokens limit, and a request without max_tokens (count_tokens) or under it', () => {
    const limited = snap([scope('lim', { subjects: [{ kind: 'ServiceAccount', name: 'bot' }], limits: { maxTokens: 100 } })]);
    expect(decide(limited, sa('bot'), messages({ maxTokens: undefined }), NOW).effect).toBe('allow');
    expect(decide(limited, sa('bot'), messages({ maxTokens: 100 }), NOW).effect).toBe('allow');
    expect(decide(limited, sa('bot'), messages({ maxTokens: 101 }), NOW).reasons[0]!.code).toBe('MaxTokensExceeded');
  });

  test('an approval section without requiredFor holds nothing', () => {
    const s2 = snap([scope('appr', { subjects: [{ kind: 'ServiceAccount', name: 'bot' }], approval: { approvers } })]);
    expect(decide(s2, sa('bot'), messages({ tools: ['Bash'] }), NOW).effect).toBe('allow');
  });

  test('an MCP server URL is shown cut at 256 characters', () => {
    const url = `https://mcp.example.com/${'p'.repeat(400)}`;
    const d = decide(s, sa('bot'), messages({ capabilities: [{ kind: 'mcp-server', name: 'm', server: { name: 'm', url } }] }), NOW);
    expect(d.reasons[0]!.detail).toContain(`(${url.slice(0, 256)})`);
    expect(d.reasons[0]!.detail).not.toContain(url.slice(0, 257));
  });
});

describe('tools and MCP endpoints', () => {
  const mcpScope = scope('m', {
    subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
    tools: { allow: ['mcp__crm__lookup', 'abcdecrm__update_email'] },
    endpoints: [
      { name: 'crm', url: 'http://crm:80/mcp', protocol: 'mcp' },
      { name: 'files', url: 'http://files:80', paths: ['/a/**', '/b/**'] },
    ],
    approval: { requiredFor: { tools: ['*__update_email'] }, approvers },
  });
  const s = snap([mcpScope]);

  test('a held tool is deferred to its tools/call only when it belongs to the scope’s own MCP endpoint', () => {
    // named mcp__<endpoint>__… of an MCP endpoint: offered freely, held when called
    expect(decide(s, sa('bot'), messages({ tools: ['mcp__crm__update_email'] }), NOW).effect).toBe('allow');
    // not mcp__-prefixed, though "crm" sits where an endpoint name would: held right away
    expect(decide(s, sa('bot'), messages({ tools: ['abcdecrm__update_email'] }), NOW).effect).toBe('approval-required');
  });

  test('an MCP tool outside spec.tools.allow', () => {
    const d = decide(s, sa('bot'), mcp({ kind: 'tool', method: 'tools/call', tool: 'export' }), NOW);
    expect([d.effect, d.reasons[0]!.code, d.message]).toEqual([
      'deny',
      'ToolNotAllowed',
      'Denied by ModelScope m, rule spec.tools.allow: tool mcp__crm__export is not in [mcp__crm__lookup, abcdecrm__update_email]; the agent may not call it.',
    ]);
  });

  test('an MCP endpoint without an mcp section lists no resources, prompts or methods', () => {
    const text = (call: McpCall) => decide(s, sa('bot'), mcp(call), NOW).message;
    expect(text({ kind: 'resource', method: 'resources/read', uri: 'crm://x' })).toBe(
      'Denied by ModelScope m, rule spec.endpoints[crm].mcp.resources: resources/read of crm://x is not in [].',
    );
    expect(text({ kind: 'prompt', method: 'prompts/get', prompt: 'p' })).toBe(
      'Denied by ModelScope m, rule spec.endpoints[crm].mcp.prompts: prompts/get of prompt p is not in [].',
    );
    expect(text({ kind: 'method', method: 'x/y' })).toBe(
      'Denied by ModelScope m, rule spec.endpoints[crm].mcp.methods: x/y is not a method scopekeeper knows and is not in [].',
    );
  });

  test('a path passes when any of the endpoint’s globs matches it', () => {
    const svc = (path: string) => decide(s, sa('bot'), { route: 'service', endpoint: 'files', method: 'GET', path }, NOW);
    expect(svc('/a/1').effect).toBe('allow');
    expect(svc('/b/2').effect).toBe('allow');
    expect(svc('/c/3').message).toBe('Denied by ModelScope m, rule spec.endpoints[files].paths: path /c/3 matches none of [/a/**, /b/**].');
  });
});

describe('approvalFingerprint', () => {
  /** FNV-1a, written out independently: two 32-bit lanes over the request shape, hex. */
  function reference(parts: string[]): string {
    const text = parts.join('\u0000');
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (const ch of text) {
      for (const unit of ch.length === 1 ? [ch.charCodeAt(0)] : [ch.charCodeAt(0), ch.charCodeAt(1)]) {
        h1 = Number((BigInt(h1 ^ unit) * 0x01000193n) & 0xffffffffn);
        h2 = Number((BigInt((h2 ^ unit) >>> 0) * 0x5bd1e995n) & 0xffffffffn);
      }
    }
    return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
  }

  test('is FNV-1a over scope, subject (its issuer too), model and the sorted tools', () => {
    const subject = { kind: 'ServiceAccount' as const, name: 'bot', namespace: 'team-a' };
    expect(approvalFingerprint('ops', subject, 'claude-opus-4-1', ['Write', 'Bash'])).toBe(
      reference(['ops', 'ServiceAccount', 'team-a', 'bot', '', 'claude-opus-4-1', 'Bash', 'Write']),
    );
    expect(approvalFingerprint('ops', { kind: 'User', name: 'ann' }, undefined, [])).toBe(reference(['ops', 'User', '', 'ann', '', '']));
    expect(approvalFingerprint('ops', { kind: 'User', name: 'ann', issuer: 'https://idp' }, 'm', [])).toBe(
      reference(['ops', 'User', '', 'ann', 'https://idp', 'm']),
    );
  });

  test('always 16 hex digits: lanes with leading zeros are padded', () => {
    // "u107" hashes to two lanes below 0x10000000 (found by search)
    const f = approvalFingerprint('ops', { kind: 'User', name: 'u107' }, undefined, []);
    expect(f).toBe(reference(['ops', 'User', '', 'u107', '', '']));
    expect(f).toMatch(/^00[0-9a-f]{6}0[0-9a-f]{7}$/);
  });

  test('the same for tools in any order; different for another namespace, model or scope', () => {
    const subject = { kind: 'ServiceAccount' as const, name: 'bot', namespace: 'team-a' };
    const base = approvalFingerprint('ops', subject, 'm', ['a', 'b']);
    expect(approvalFingerprint('ops', subject, 'm', ['b', 'a'])).toBe(base);
    expect(approvalFingerprint('ops', { ...subject, namespace: 'team-b' }, 'm', ['a', 'b'])).not.toBe(base);
    expect(approvalFingerprint('ops', subject, 'n', ['a', 'b'])).not.toBe(base);
    expect(approvalFingerprint('dev', subject, 'm', ['a', 'b'])).not.toBe(base);
  });
});

describe('lists in sentences, and held capabilities that are not the sidecar’s tools', () => {
  const two = [
    { kind: 'Group' as const, name: 'a' },
    { kind: 'User' as const, name: 'b@example.com' },
  ];
  const s = scope('lists', {
    subjects: [{ kind: 'ServiceAccount', name: 'bot' }],
    review: { period: '90d', reviewers: two },
    tools: { allow: ['mcp__crm__*'] },
    endpoints: [
      {
        name: 'crm',
        url: 'http://crm:80/mcp',
        protocol: 'mcp',
        mcp: { resources: ['r1', 'r2'], prompts: ['p1', 'p2'], methods: ['m/1', 'm/2'] },
      },
    ],
    approval: { requiredFor: { tools: ['mcp__crm__update_*'] }, approvers: two },
  });
  const reviewed = compilePolicy([s], [review('lists-r', 'lists')], { namespace: 'team-a' });
  const unreviewed = compilePolicy([s], [], { namespace: 'team-a' });

  test('reviewers, approvers, resources, prompts and methods are listed with ", "', () => {
    expect(decide(unreviewed, sa('bot'), messages(), NOW).message).toBe(
      'Denied by ModelScope lists, rule AccessReview: ModelScope lists has no AccessReview; ask a reviewer (Group a, User b@example.com) to approve one.',
    );
    const d = (call: McpCall) => decide(reviewed, sa('bot'), mcp(call), NOW).reasons[0]!.detail;
    expect(d({ kind: 'resource', method: 'resources/read', uri: 'x' })).toBe('resources/read of x is not in [r1, r2]');
    expect(d({ kind: 'prompt', method: 'prompts/get', prompt: 'x' })).toBe('prompts/get of prompt x is not in [p1, p2]');
    expect(d({ kind: 'method', method: 'x' })).toBe('x is not a method scopekeeper knows and is not in [m/1, m/2]');
    expect(decide(reviewed, sa('bot'), mcp({ kind: 'tool', method: 'tools/call', tool: 'update_x' }), NOW).message).toContain(
      'ask an approver (Group a, User b@example.com)',
    );
  });

  test('a held name offered as an MCP tool of the request’s own mcp_servers (not a tool) is held at once', () => {
    expect(decide(reviewed, sa('bot'), messages({ capabilities: [{ kind: 'mcp-tool', name: 'mcp__crm__update_x' }] }), NOW).effect).toBe(
      'approval-required',
    );
    expect(decide(reviewed, sa('bot'), messages({ capabilities: [{ kind: 'tool', name: 'mcp__crm__update_x' }] }), NOW).effect).toBe(
      'allow',
    );
  });
});
