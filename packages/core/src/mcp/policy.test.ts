// MCP messages decided by the same decide() (and the same tool rule) as Messages requests.
import fc from 'fast-check';
import { compilePolicy } from '../policy/compile.ts';
import { decide } from '../policy/decide.ts';
import type { McpCall, PolicyRequest } from '../policy/decision.ts';
import { toolVerdict } from '../policy/tools.ts';
import { NOW, scope, review, sa, messages, service } from '../../test/fixtures/policy.ts';
import { inspectMcpMessage, argumentsHash } from './inspect.ts';
import { parseJsonRpc, RPC } from './jsonrpc.ts';
import { planMcpPost, refusalFor, forwardBody } from './plan.ts';

const approvers = [{ kind: 'Group' as const, name: 'security-leads' }];
const CRM = 'http://crm.team-a.svc:8080/mcp';
const scopes = [
  scope('crm-agent', {
    subjects: [
      { kind: 'ServiceAccount', name: 'crm-bot' },
      { kind: 'ServiceAccount', name: 'other-bot' },
    ],
    tools: { allow: ['Read', 'mcp__crm__*'], deny: ['mcp__crm__delete_*'] },
    endpoints: [
      { name: 'crm', url: CRM, protocol: 'mcp', mcp: { resources: ['crm://customers/*'], prompts: ['summary'], methods: ['tasks/*'] } },
      { name: 'bare', url: 'http://bare:80/mcp', protocol: 'mcp' },
      { name: 'wiki', url: 'http://wiki:80', protocol: 'http', methods: ['GET'] },
    ],
    approval: { requiredFor: { tools: ['mcp__crm__update_*', 'Bash'] }, approvers, grantDuration: '1h' },
  }),
];
const reviews = [
  review('crm-agent-q4', 'crm-agent'),
  review('crm-agent-jit-email', 'crm-agent', {
    type: 'JustInTime',
    reviewedAt: '2026-11-28T11:30:00Z',
    expiresAt: '2026-11-28T12:30:00Z',
    request: { subject: { kind: 'ServiceAccount', name: 'crm-bot', namespace: 'team-a' }, tools: ['mcp__crm__update_email'] },
  }),
];
const snapshot = compilePolicy(scopes, reviews, { namespace: 'team-a' });
const bot = sa('crm-bot');
const mcp = (call: McpCall, endpoint = 'crm', url = CRM): PolicyRequest => ({ route: 'mcp', endpoint, url, call });
const tool = (t: string) => mcp({ kind: 'tool', method: 'tools/call', tool: t });
const at = (req: PolicyRequest, id = bot) => decide(snapshot, id, req, NOW);

describe('decide() on route mcp', () => {
  test.each<[string, PolicyRequest, string, string]>([
    ['an allowed tool', tool('lookup_customer'), 'allow', 'Allowed'],
    ['a denied tool', tool('delete_customer'), 'deny', 'ToolDenied'],
    ['a tool under approval.requiredFor', tool('update_phone'), 'approval-required', 'ApprovalRequired'],
    ['a held tool with a JustInTime approval', tool('update_email'), 'allow', 'Allowed'],
    ['initialize', mcp({ kind: 'protocol', method: 'initialize' }), 'allow', 'Allowed'],
    ['a listed resource', mcp({ kind: 'resource', method: 'resources/read', uri: 'crm://customers/42' }), 'allow', 'Allowed'],
    [
      'a resource outside the globs',
      mcp({ kind: 'resource', method: 'resources/read', uri: 'crm://admin/keys' }),
      'deny',
      'McpResourceNotAllowed',
    ],
    ['a listed prompt', mcp({ kind: 'prompt', method: 'prompts/get', prompt: 'summary' }), 'allow', 'Allowed'],
    ['another prompt', mcp({ kind: 'prompt', method: 'prompts/get', prompt: 'exfiltrate' }), 'deny', 'McpPromptNotAllowed'],
    ['an unknown method the endpoint lists', mcp({ kind: 'method', method: 'tasks/get' }), 'allow', 'Allowed'],
    ['an unknown method', mcp({ kind: 'method', method: 'sampling/whatever' }), 'deny', 'McpMethodNotAllowed'],
    [
      'resources default deny (no mcp block)',
      mcp({ kind: 'resource', method: 'resources/read', uri: 'x://y' }, 'bare', 'http://bare:80/mcp'),
      'deny',
      'McpResourceNotAllowed',
    ],
    [
      'prompts default deny (no mcp block)',
      mcp({ kind: 'prompt', method: 'prompts/get', prompt: 'p' }, 'bare', 'http://bare:80/mcp'),
      'deny',
      'McpPromptNotAllowed',
    ],
    [
      'an http endpoint is not an MCP server',
      mcp({ kind: 'protocol', method: 'initialize' }, 'wiki', 'http://wiki:80'),
      'deny',
      'EndpointNotMcp',
    ],
    [
      'the endpoint name with another URL',
      mcp({ kind: 'protocol', method: 'initialize' }, 'crm', 'http://evil:80/mcp'),
      'deny',
      'EndpointNotMcp',
    ],
    [
      'an endpoint the scope does not have',
      mcp({ kind: 'protocol', method: 'initialize' }, 'hr', 'http://hr'),
      'deny',
      'EndpointNotAllowed',
    ],
  ])('%s', (_name, req, effect, code) => {
    const d = at(req);
    expect(d.effect).toBe(effect);
    expect(d.reasons[0]!.code).toBe(code);
  });

  test('a denial names the scope, the rule and the tool by its Agent SDK name', () => {
    expect(at(tool('delete_customer')).message).toBe(
      'Denied by ModelScope crm-agent, rule spec.tools.deny: tool mcp__crm__delete_customer is denied; the agent may not call it.',
    );
    expect(at(mcp({ kind: 'method', method: 'sampling/x' })).message).toContain('rule spec.endpoints[crm].mcp.methods');
  });

  test('a held tool asks for a JustInTime review of exactly that tool, for that caller', () => {
    const d = at(tool('update_phone'));
    expect(d.approval).toMatchObject({
      scope: 'crm-agent',
      tools: ['mcp__crm__update_phone'],
      model: undefined,
      subject: { kind: 'ServiceAccount', name: 'crm-bot' },
    });
    expect(d.message).toMatch(/^Held by ModelScope crm-agent, rule spec.approval.requiredFor: tool mcp__crm__update_phone needs approval/);
    // the approval of update_email is crm-bot's alone
    expect(at(tool('update_email'), sa('other-bot')).effect).toBe('approval-required');
  });

  test('an expired periodic review stops MCP messages too', () => {
    expect(decide(snapshot, bot, tool('lookup_customer'), Date.parse('2027-02-01T00:00:00Z')).reasons[0]!.code).toBe('ReviewExpired');
  });

  test('the transport methods of an MCP endpoint pass the service check; others do not', () => {
    for (const m of ['POST', 'GET', 'DELETE']) expect(at(service('crm', '/', m)).effect).toBe('allow');
    expect(at(service('crm', '/', 'PUT')).reasons[0]!.code).toBe('MethodNotAllowed');
  });
});

describe('one tool rule for Messages and MCP', () => {
  test('a held MCP tool is offered in a Messages request (its call is what is held); Bash still holds the request', () => {
    expect(at(messages({ tools: ['mcp__crm__update_phone', 'Read'] })).effect).toBe('allow');
    expect(at(messages({ tools: ['Bash'] })).effect).toBe('approval-required');
    expect(at(messages({ tools: ['mcp__crm__delete_customer'] })).reasons[0]!.code).toBe('ToolDenied');
  });

  test('property: a tool is offered iff it may be called (held calls count as callable)', () => {
    const names = fc.oneof(
      fc.constantFrom('lookup_customer', 'delete_all', 'update_x', 'delete_', 'update_', 'x__y', ''),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(names, (t) => {
        const offered = at(messages({ tools: [`mcp__crm__${t}`] })).effect;
        const called = at(tool(t)).effect;
        expect(offered === 'allow').toBe(called !== 'deny');
      }),
      { numRuns: 300 },
    );
  });

  test('toolVerdict is the rule both use', () => {
    const spec = snapshot.scopes[0]!.scope.spec;
    expect(['mcp__crm__a', 'mcp__crm__delete_a', 'mcp__crm__update_a', 'Write'].map((t) => toolVerdict(spec, t))).toEqual([
      'ok',
      'denied',
      'gated',
      'not-allowed',
    ]);
  });
});

describe('inspectMcpMessage', () => {
  const req = (method: string, params?: unknown) => ({ kind: 'request' as const, id: 1, method, params, value: {} });
  test.each<[string, unknown, unknown]>([
    ['tools/call', { name: 'lookup', arguments: { id: 1 } }, { kind: 'tool', tool: 'lookup' }],
    ['tools/call', { arguments: {} }, { problem: 'params.name must be a non-empty string' }],
    ['tools/call', { name: 'a', arguments: [1] }, { problem: 'params.arguments must be an object' }],
    ['tools/call', { name: 'a\u0000b' }, { problem: 'params.name contains a control character' }],
    ['resources/read', { uri: 'crm://c/1' }, { kind: 'resource', uri: 'crm://c/1' }],
    ['resources/subscribe', { uri: 'crm://c/1' }, { kind: 'resource', uri: 'crm://c/1' }],
    ['resources/read', {}, { problem: 'params.uri must be a non-empty string' }],
    ['prompts/get', { name: 'summary' }, { kind: 'prompt', prompt: 'summary' }],
    ['completion/complete', { ref: { type: 'ref/prompt', name: 'summary' } }, { kind: 'prompt', prompt: 'summary' }],
    ['completion/complete', { ref: { type: 'ref/resource', uri: 'crm://c/{id}' } }, { kind: 'resource', uri: 'crm://c/{id}' }],
    ['completion/complete', { ref: { type: 'other' } }, { problem: 'params.ref must be a ref/prompt or a ref/resource' }],
    ['tools/list', undefined, { kind: 'protocol' }],
    ['notifications/initialized', undefined, { kind: 'protocol' }],
    ['tasks/get', {}, { kind: 'method', method: 'tasks/get' }],
    ['tools/call2', {}, { kind: 'method' }],
  ])('%s %j', (method, params, expected) => {
    const r = inspectMcpMessage(req(method, params));
    if ('problem' in (expected as object)) expect(r).toEqual(expected);
    else expect('call' in r && r.call).toMatchObject(expected as object);
  });

  test('argumentsHash: sha256 of the arguments, the same whatever the key order', () => {
    const a = argumentsHash(req('tools/call', { name: 't', arguments: { a: 1, b: [1, { c: 'x', d: null }] } }));
    const b = argumentsHash(req('tools/call', { name: 't', arguments: { b: [1, { d: null, c: 'x' }], a: 1 } }));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
    expect(argumentsHash(req('tools/call', { name: 't', arguments: { a: 2 } }))).not.toBe(a);
    expect(argumentsHash(req('tools/list'))).toBeUndefined();
  });
});

describe('planMcpPost: a batch checked entry by entry', () => {
  const raw = `[
    {"jsonrpc":"2.0","id":1,"method":"initialize","params":{}},
    {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"lookup_customer","arguments":{"n":12345678901234567890}}},
    {"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_customer","arguments":{}}},
    {"jsonrpc":"2.0","method":"vendor/notify"},
    {"jsonrpc":"2.0","id":"s1","result":{}},
    {"jsonrpc":"2.0","id":4,"method":"tools/call","params":{}},
    {"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"update_phone","arguments":{}}},
    "junk"
  ]`;
  const body = Buffer.from(raw);
  const parsed = parseJsonRpc(body);
  const entries = planMcpPost(parsed, 'crm', (call) => decide(snapshot, bot, mcp(call), NOW));

  test('verdicts', () => {
    expect(entries.map((e) => [e.method, e.verdict])).toEqual([
      ['initialize', 'forward'],
      ['tools/call', 'forward'],
      ['tools/call', 'deny'],
      ['vendor/notify', 'deny'],
      ['(response)', 'forward'],
      ['tools/call', 'invalid'],
      ['tools/call', 'hold'],
      ['(invalid)', 'invalid'],
    ]);
    expect(entries[1]).toMatchObject({ tool: 'mcp__crm__lookup_customer', argsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  test('refusals: JSON-RPC errors naming scope and rule; none for a notification', () => {
    expect(refusalFor(entries[2]!)).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: {
        code: RPC.denied,
        message: expect.stringContaining('rule spec.tools.deny'),
        data: { scope: 'crm-agent', rule: 'spec.tools.deny', reasons: ['ToolDenied'] },
      },
    });
    expect(refusalFor(entries[3]!)).toBeUndefined();
    expect(refusalFor(entries[5]!)).toMatchObject({
      id: 4,
      error: { code: RPC.invalidParams, message: expect.stringContaining('params.name') },
    });
    expect(refusalFor(entries[6]!, { message: 'held as team-a/x', approval: 'team-a/x' })).toMatchObject({
      id: 5,
      error: { code: RPC.held, message: 'held as team-a/x', data: { approval: 'team-a/x' } },
    });
    expect(refusalFor(entries[7]!)).toMatchObject({ id: null, error: { code: RPC.invalidRequest } });
  });

  test('only the forwarded entries go to the server, numbers exactly as sent', () => {
    const out = forwardBody(body, parsed, entries)!.toString();
    expect(out).toContain('12345678901234567890');
    expect(JSON.parse(out).map((m: { id: unknown }) => m.id)).toEqual([1, 2, 's1']);
  });

  test('all forwarded: the original bytes; none: nothing', () => {
    const ok = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}');
    const p = parseJsonRpc(ok);
    expect(
      forwardBody(
        ok,
        p,
        planMcpPost(p, 'crm', (call) => decide(snapshot, bot, mcp(call), NOW)),
      ),
    ).toBe(ok);
    const no = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_x"}}');
    const q = parseJsonRpc(no);
    expect(
      forwardBody(
        no,
        q,
        planMcpPost(q, 'crm', (call) => decide(snapshot, bot, mcp(call), NOW)),
      ),
    ).toBeUndefined();
  });
});
