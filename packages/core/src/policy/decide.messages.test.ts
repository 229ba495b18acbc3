// What a refused (or held, or allowed) caller reads: every sentence decide() can write, whole.
// The message is the contract of a refusal ("one sentence that says what to do"), so each is
// pinned as a person would read it, with the reasons an audit record carries.
import { compilePolicy } from './compile.ts';
import { allowedModelGlobs, decide } from './decide.ts';
import { denialErrorType, type McpCall, type PolicyRequest } from './decision.ts';
import { toolVerdict } from './tools.ts';
import { NOW, scopes, reviews, sa, user, messages, service, scope, review } from '../../test/fixtures/policy.ts';

const snapshot = compilePolicy(scopes, reviews, { namespace: 'team-a' });

// A scope with an MCP endpoint, a plain endpoint, MCP servers and a held tool.
const mcpScope = scope('mcp', {
  subjects: [{ kind: 'ServiceAccount', name: 'agent' }],
  tools: {
    allow: ['Read', 'mcp__crm__*'],
    deny: ['mcp__crm__delete_*'],
    mcpServers: ['https://docs.example.com/mcp', 'https://mcp.example.com/*'],
  },
  endpoints: [
    {
      name: 'crm',
      url: 'http://crm:80/mcp',
      protocol: 'mcp',
      mcp: { resources: ['crm://customers/*'], prompts: ['summary'], methods: ['crm/custom'] },
    },
    { name: 'rest', url: 'http://rest:80' },
  ],
  approval: { requiredFor: { tools: ['mcp__crm__update_*'] }, approvers: [{ kind: 'User', name: 'ann@example.com' }], grantDuration: '1h' },
});
const mcpSnapshot = compilePolicy([mcpScope], [review('mcp-r', 'mcp')], { namespace: 'team-a' });
const agent = sa('agent');
const mcp = (call: McpCall, endpoint = 'crm', url = 'http://crm:80/mcp'): PolicyRequest => ({ route: 'mcp', endpoint, url, call });
const alice = user('alice@example.com');

describe('refusals: the sentence and the reasons', () => {
  test.each([
    [
      'max_tokens over the limit',
      sa('support-bot'),
      messages({ maxTokens: 8193 }),
      "Denied by ModelScope support, rule spec.limits.maxTokens: max_tokens 8193 is over the limit of 8192; lower max_tokens (the request's, and any in fallbacks[] or an advisor tool).",
    ],
    [
      'streaming off',
      user('z@example.com', ['writers']),
      messages({ stream: true }),
      'Denied by ModelScope multi-b, rule spec.limits.streaming: streaming is off for this scope; send the request with stream: false.',
    ],
    [
      'thinking off',
      sa('support-bot'),
      messages({ thinking: true }),
      "Denied by ModelScope support, rule spec.limits.thinking: extended thinking is off for this scope; remove the thinking parameter (the request's, and any in fallbacks[]).",
    ],
    [
      'a denied tool',
      sa('support-bot'),
      messages({ tools: ['Bash'] }),
      'Denied by ModelScope support, rule spec.tools.deny: tool Bash is denied; remove it from the request.',
    ],
    [
      'a tool outside allow',
      sa('support-bot'),
      messages({ tools: ['WebFetch'] }),
      'Denied by ModelScope support, rule spec.tools.allow: tool WebFetch is not in [Read, Grep, mcp__crm__*]; remove it from the request.',
    ],
    [
      'several reasons: the first in full, the others by code',
      sa('support-bot'),
      messages({ model: 'claude-opus-4-1', thinking: true, tools: ['Bash'] }),
      'Denied by ModelScope support, rule spec.models: model claude-opus-4-1 is not in [claude-sonnet-4-*, claude-haiku-*]; use one of those models (and 2 more: ThinkingNotAllowed, ToolDenied).',
    ],
    [
      'an unknown request field',
      sa('support-bot'),
      messages({ unknown: [{ what: 'field', name: 'foo' }] }),
      `Denied by ModelScope support, rule spec.limits.betas: the request's field "foo" is not one scopekeeper knows; remove it, or ask the scope's reviewers to list it in spec.limits.betas.`,
    ],
    [
      'a fallback model outside spec.models',
      sa('support-bot'),
      messages({ capabilities: [{ kind: 'model', name: 'claude-opus-4-1' }] }),
      "Denied by ModelScope support, rule spec.models: the request's fallbacks or advisor tool name model claude-opus-4-1, which is not in [claude-sonnet-4-*, claude-haiku-*]; use one of those models.",
    ],
    [
      'an MCP server: its URL shown without credentials, query or fragment',
      sa('support-bot'),
      messages({
        capabilities: [{ kind: 'mcp-server', name: 'x', server: { name: 'x', url: 'https://u:p@mcp.example.com/sse?token=abc#f' } }],
      }),
      "Denied by ModelScope support, rule spec.tools.mcpServers: MCP server x (https://mcp.example.com/sse) is not in []; remove it from mcp_servers or ask the scope's reviewers to list it.",
    ],
    [
      'a service endpoint the scope does not have',
      alice,
      service('billing', '/x'),
      'Denied by ModelScope ops, rule spec.endpoints: endpoint billing is not one of [crm, wiki, open].',
    ],
    [
      'a method the endpoint does not allow',
      alice,
      service('crm', '/customers/1', 'DELETE'),
      'Denied by ModelScope ops, rule spec.endpoints[crm].methods: DELETE is not in [GET].',
    ],
    [
      'a path outside the endpoint',
      alice,
      service('crm', '/admin'),
      'Denied by ModelScope ops, rule spec.endpoints[crm].paths: path /admin matches none of [/customers/**].',
    ],
    [
      'nobody names the caller',
      user('mallory@example.com'),
      messages(),
      "Denied: no ModelScope in namespace team-a names User mallory@example.com; ask your platform team to add it to a ModelScope's spec.subjects.",
    ],
    [
      'a scope never reviewed',
      user('una@example.com'),
      messages(),
      'Denied by ModelScope unreviewed, rule AccessReview: ModelScope unreviewed has no AccessReview; ask a reviewer (Group security-leads) to approve one.',
    ],
    [
      // The review's own message ends the sentence once (its full stop is dropped).
      'a scope whose review expired',
      user('bob@example.com'),
      messages(),
      'Denied by ModelScope expired, rule AccessReview expired-q3: Review team-a/expired-q3 expired at 2026-10-30T09:00:00.000Z; a reviewer of ModelScope expired must approve a new review.',
    ],
  ])('%s', (_name, id, req, message) => {
    const d = decide(snapshot, id, req, NOW);
    expect(d.effect).toBe('deny');
    expect(d.message).toBe(message);
    // the reasons carry the same sentence, split: rule, then detail
    expect(message).toContain(`rule ${d.reasons[0]!.rule}: ${d.reasons[0]!.detail}`.replace(/^rule spec\.subjects: /, ''));
    expect(denialErrorType(d)).toBe(
      d.reasons.every((r) => r.code === 'UnknownRequestField') ? 'invalid_request_error' : 'permission_error',
    );
  });

  test('a pinned pod whose scope does not name the caller', () => {
    const d = decide(snapshot, user('multi@example.com', ['writers']), messages(), NOW, { pinnedScope: 'support' });
    expect(d).toMatchObject({
      effect: 'deny',
      reasons: [
        {
          code: 'ScopeNotPinned',
          rule: 'scopekeeper.dev/scope',
          detail: 'the pod is pinned to ModelScope support, which does not name User multi@example.com',
        },
      ],
      message:
        "Denied: the pod is pinned to ModelScope support, which does not name User multi@example.com; add the caller to its spec.subjects or change the pod's scopekeeper.dev/scope annotation.",
    });
    // a caller no scope names at all is told that, pinned or not
    expect(decide(snapshot, user('mallory@example.com'), messages(), NOW, { pinnedScope: 'support' }).reasons[0]!.code).toBe(
      'NoMatchingScope',
    );
  });

  test('without a namespace the sentence names none', () => {
    const all = compilePolicy(scopes, reviews);
    expect(decide(all, user('mallory@example.com'), messages(), NOW).message).toBe(
      "Denied: no ModelScope names User mallory@example.com; ask your platform team to add it to a ModelScope's spec.subjects.",
    );
  });

  test('only unknown fields make a 400; any other reason with them a 403', () => {
    const unknown = decide(snapshot, sa('support-bot'), messages({ unknown: [{ what: 'beta', name: 'b' }] }), NOW);
    expect(denialErrorType(unknown)).toBe('invalid_request_error');
    const both = decide(snapshot, sa('support-bot'), messages({ tools: ['Bash'], unknown: [{ what: 'beta', name: 'b' }] }), NOW);
    expect(both.reasons.map((r) => r.code)).toEqual(['UnknownRequestField', 'ToolDenied']);
    expect(denialErrorType(both)).toBe('permission_error');
    expect(denialErrorType({ effect: 'deny', reasons: [], message: '' })).toBe('permission_error');
  });
});

describe('held and allowed: the sentence, the reasons and the review named', () => {
  test('held: what needs approval and who approves', () => {
    const d = decide(snapshot, sa('ops-bot'), messages({ model: 'claude-opus-4-1', tools: ['Bash'] }), NOW);
    expect(d).toMatchObject({
      effect: 'approval-required',
      review: 'ops-nov',
      reasons: [
        {
          code: 'ApprovalRequired',
          rule: 'spec.approval.requiredFor',
          detail: "model claude-opus-4-1, tool Bash needs a person's approval",
        },
      ],
      message:
        'Held by ModelScope ops, rule spec.approval.requiredFor: model claude-opus-4-1, tool Bash needs approval; ask an approver (Group security-leads) to approve the pending JustInTime AccessReview, then retry.',
      approval: { scope: 'ops', namespace: 'team-a', model: 'claude-opus-4-1', tools: ['Bash'] },
    });
    expect(d.approval!.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  test('allowed with a JustInTime approval: named, with its approver', () => {
    const d = decide(snapshot, alice, messages({ model: 'claude-opus-4-1' }), NOW);
    expect(d).toMatchObject({
      effect: 'allow',
      review: 'ops-jit-alice-opus',
      auditOnly: false,
      message: 'Allowed by ModelScope ops with the JustInTime approval ops-jit-alice-opus.',
      reasons: [
        { code: 'Allowed', rule: 'spec', detail: 'the request fits the scope' },
        { code: 'ApprovedJustInTime', rule: 'AccessReview ops-jit-alice-opus', detail: 'approved by carol@example.com' },
      ],
    });
  });

  test('allowed without a valid review under onExpiry AuditOnly: recorded as unreviewed', () => {
    const d = decide(snapshot, user('aud@example.com'), messages(), NOW);
    expect(d).toMatchObject({
      effect: 'allow',
      auditOnly: true,
      review: 'audit-only-old',
      message: 'Allowed by ModelScope audit-only without a valid review (onExpiry: AuditOnly); this request is recorded as unreviewed.',
      reasons: [
        {
          code: 'AuditOnlyExpiredReview',
          rule: 'spec.review.onExpiry',
          detail: 'no valid review (ReviewExpired); allowed because onExpiry is AuditOnly',
        },
      ],
    });
    // and its models are listed for GET /v1/models
    expect(allowedModelGlobs(snapshot, user('aud@example.com'), NOW)).toEqual(['claude-sonnet-4-*']);
  });

  test('allowed: the scope and the review that allow it, and the data rules', () => {
    const d = decide(snapshot, sa('support-bot'), messages(), NOW);
    expect(d).toMatchObject({
      effect: 'allow',
      auditOnly: false,
      scope: 'support',
      namespace: 'team-a',
      review: 'support-q4',
      message: 'Allowed by ModelScope support under AccessReview support-q4.',
      reasons: [{ code: 'Allowed', rule: 'spec', detail: 'the request fits the scope' }],
    });
    expect(d.data).toBeDefined();
    expect(d.compiled?.name).toBe('support');
  });
});

describe('MCP messages and the endpoints of an MCP scope', () => {
  test.each<[string, PolicyRequest, string, string]>([
    [
      'an endpoint the scope does not have',
      mcp({ kind: 'protocol', method: 'initialize' }, 'billing'),
      'EndpointNotAllowed',
      'Denied by ModelScope mcp, rule spec.endpoints: endpoint billing is not one of [crm, rest].',
    ],
    [
      'a plain (not MCP) endpoint',
      mcp({ kind: 'protocol', method: 'initialize' }, 'rest', 'http://rest:80'),
      'EndpointNotMcp',
      'Denied by ModelScope mcp, rule spec.endpoints: endpoint rest of this scope is not the MCP server at http://rest:80.',
    ],
    [
      'the endpoint name with another URL',
      mcp({ kind: 'protocol', method: 'initialize' }, 'crm', 'http://evil:80/mcp'),
      'EndpointNotMcp',
      'Denied by ModelScope mcp, rule spec.endpoints: endpoint crm of this scope is not the MCP server at http://evil:80/mcp.',
    ],
    [
      'a denied tool',
      mcp({ kind: 'tool', method: 'tools/call', tool: 'delete_customer' }),
      'ToolDenied',
      'Denied by ModelScope mcp, rule spec.tools.deny: tool mcp__crm__delete_customer is denied; the agent may not call it.',
    ],
    [
      'a resource outside the list',
      mcp({ kind: 'resource', method: 'resources/read', uri: 'crm://admin/x' }),
      'McpResourceNotAllowed',
      'Denied by ModelScope mcp, rule spec.endpoints[crm].mcp.resources: resources/read of crm://admin/x is not in [crm://customers/*].',
    ],
    [
      'a prompt outside the list',
      mcp({ kind: 'prompt', method: 'prompts/get', prompt: 'dump' }),
      'McpPromptNotAllowed',
      'Denied by ModelScope mcp, rule spec.endpoints[crm].mcp.prompts: prompts/get of prompt dump is not in [summary].',
    ],
    [
      'an unknown method not listed',
      mcp({ kind: 'method', method: 'crm/other' }),
      'McpMethodNotAllowed',
      'Denied by ModelScope mcp, rule spec.endpoints[crm].mcp.methods: crm/other is not a method scopekeeper knows and is not in [crm/custom].',
    ],
    [
      'an HTTP method the MCP transport does not use',
      { route: 'service', endpoint: 'crm', method: 'PUT', path: '/' },
      'MethodNotAllowed',
      'Denied by ModelScope mcp, rule spec.endpoints[crm].methods: PUT is not in [POST, GET, DELETE].',
    ],
    [
      'a plain endpoint without methods: GET only',
      { route: 'service', endpoint: 'rest', method: 'POST', path: '/x' },
      'MethodNotAllowed',
      'Denied by ModelScope mcp, rule spec.endpoints[rest].methods: POST is not in [GET].',
    ],
    [
      'a server tool outside allow',
      messages({ capabilities: [{ kind: 'server-tool', name: 'web_search' }] }),
      'ToolNotAllowed',
      'Denied by ModelScope mcp, rule spec.tools.allow: server tool web_search is not in [Read, mcp__crm__*]; remove it from the request.',
    ],
    [
      "an MCP server named like a listed one, at another URL (the name is the request's own)",
      messages({ capabilities: [{ kind: 'mcp-server', name: 'docs', server: { name: 'docs', url: 'https://x/y' } }] }),
      'McpServerNotAllowed',
      "Denied by ModelScope mcp, rule spec.tools.mcpServers: MCP server docs (https://x/y) is not in [https://docs.example.com/mcp, https://mcp.example.com/*]; remove it from mcp_servers or ask the scope's reviewers to list it.",
    ],
    [
      'an MCP server without its URL',
      messages({ capabilities: [{ kind: 'mcp-server', name: 'docs' }] }),
      'McpServerNotAllowed',
      "Denied by ModelScope mcp, rule spec.tools.mcpServers: MCP server docs (not a URL) is not in [https://docs.example.com/mcp, https://mcp.example.com/*]; remove it from mcp_servers or ask the scope's reviewers to list it.",
    ],
    [
      'an MCP server whose URL is not one',
      messages({ capabilities: [{ kind: 'mcp-server', name: 'q', server: { name: 'q', url: 'not a url' } }] }),
      'McpServerNotAllowed',
      "Denied by ModelScope mcp, rule spec.tools.mcpServers: MCP server q (not a URL) is not in [https://docs.example.com/mcp, https://mcp.example.com/*]; remove it from mcp_servers or ask the scope's reviewers to list it.",
    ],
    [
      'a tool named like the MCP endpoint of another server, not in allow',
      messages({ tools: ['mcp__crm2__update_email'] }),
      'ToolNotAllowed',
      'Denied by ModelScope mcp, rule spec.tools.allow: tool mcp__crm2__update_email is not in [Read, mcp__crm__*]; remove it from the request.',
    ],
  ])('%s', (_name, req, code, message) => {
    const d = decide(mcpSnapshot, agent, req, NOW);
    expect([d.effect, d.reasons.map((r) => r.code), d.message]).toEqual(['deny', [code], message]);
  });

  test.each<[string, PolicyRequest]>([
    ['protocol messages', mcp({ kind: 'protocol', method: 'initialize' })],
    ['an allowed tool', mcp({ kind: 'tool', method: 'tools/call', tool: 'lookup' })],
    ['a listed resource', mcp({ kind: 'resource', method: 'resources/read', uri: 'crm://customers/1' })],
    ['a listed prompt', mcp({ kind: 'prompt', method: 'prompts/get', prompt: 'summary' })],
    ['a listed unknown method', mcp({ kind: 'method', method: 'crm/custom' })],
    ['DELETE of the MCP session', { route: 'service', endpoint: 'crm', method: 'DELETE', path: '/' }],
    [
      'an MCP server listed by its URL',
      messages({ capabilities: [{ kind: 'mcp-server', name: 'docs', server: { name: 'docs', url: 'https://docs.example.com/mcp' } }] }),
    ],
    [
      'an MCP server under a listed URL glob',
      messages({ capabilities: [{ kind: 'mcp-server', name: 'z', server: { name: 'z', url: 'https://mcp.example.com/a' } }] }),
    ],
    // held where it is called (tools/call through the sidecar), not where the model is offered it
    ['a held tool of the scope’s own MCP endpoint, offered', messages({ tools: ['mcp__crm__update_email'] })],
  ])('allowed: %s', (_name, req) => {
    const d = decide(mcpSnapshot, agent, req, NOW);
    expect([d.effect, d.reasons.map((r) => r.code), d.message]).toEqual([
      'allow',
      ['Allowed'],
      'Allowed by ModelScope mcp under AccessReview mcp-r.',
    ]);
  });

  test('the endpoint of an allowed MCP or service request is returned for forwarding', () => {
    expect(decide(mcpSnapshot, agent, mcp({ kind: 'protocol', method: 'initialize' }), NOW).endpoint?.url).toBe('http://crm:80/mcp');
    expect(decide(mcpSnapshot, agent, { route: 'service', endpoint: 'rest', method: 'GET', path: '/x' }, NOW).endpoint?.url).toBe(
      'http://rest:80',
    );
  });

  test('a held MCP tool call names the tool and its approver', () => {
    const d = decide(mcpSnapshot, agent, mcp({ kind: 'tool', method: 'tools/call', tool: 'update_email' }), NOW);
    expect(d.message).toBe(
      'Held by ModelScope mcp, rule spec.approval.requiredFor: tool mcp__crm__update_email needs approval; ask an approver (User ann@example.com) to approve the pending JustInTime AccessReview, then retry.',
    );
    expect(d.approval).toMatchObject({ tools: ['mcp__crm__update_email'], model: undefined });
  });

  test('a wildcard tool name (every tool of an MCP server) is allowed only when every member is', () => {
    expect(toolVerdict(mcpScope.spec, 'mcp__crm__*')).toBe('gated'); // one member needs approval
    expect(toolVerdict(mcpScope.spec, 'mcp__other__*')).toBe('not-allowed');
    expect(toolVerdict({ ...mcpScope.spec, approval: undefined }, 'mcp__crm__*')).toBe('denied'); // one member is denied
    expect(toolVerdict({ ...mcpScope.spec, approval: undefined, tools: { allow: ['mcp__crm__*'] } }, 'mcp__crm__*')).toBe('ok');
  });
});
