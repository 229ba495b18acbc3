// The one list of request capabilities: what inspection finds, and how decide() judges it.
import { inspectMessagesRequest, RequestInspectionError } from './inspect.ts';
import { compilePolicy } from '../policy/compile.ts';
import { decide } from '../policy/decide.ts';
import { globsOverlap } from '../util/glob.ts';
import { NOW, scope, review, sa } from '../../test/fixtures/policy.ts';
import type { ModelScope } from '../types/generated.ts';

const inspect = (o: Record<string, unknown>, betas?: string) =>
  inspectMessagesRequest(Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [], ...o })), betas);

/** What the Claude Agent SDK sends today (captured against the local stub, claude-cli 2.x). */
const AGENT_SDK_BETAS =
  'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,thinking-display-updates-2026-08-18';
const AGENT_SDK_BODY = {
  system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
  tools: [
    'Agent',
    'Bash',
    'Edit',
    'ListAgents',
    'Read',
    'ReportFindings',
    'ScheduleWakeup',
    'Skill',
    'ToolSearch',
    'Workflow',
    'DeferredToolPlaceholder',
    'Write',
  ].map((name) => ({ name, description: name, input_schema: { type: 'object' } })),
  metadata: { user_id: 'u' },
  thinking: { budget_tokens: 31999, type: 'enabled', display: 'updates' },
  context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
  stream: true,
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'hi' }] },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 't', signature: 's' },
        { type: 'tool_use', id: 't1', name: 'Read', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 't1',
          content: [
            { type: 'text', text: 'x' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: '' } },
          ],
        },
      ],
    },
  ],
};

describe('request capabilities (inspection)', () => {
  test("the Agent SDK's request has nothing unknown and only client tools", () => {
    const f = inspect(AGENT_SDK_BODY, AGENT_SDK_BETAS);
    expect(f.unknown).toEqual([]);
    // What the Agent SDK adds for Opus (captured against the stub: its model rewritten, output_config, two more betas).
    const opus = inspect(
      { ...AGENT_SDK_BODY, output_config: { effort: 'high' } },
      `${AGENT_SDK_BETAS},effort-2025-11-24,per-turn-control-2026-07-01`,
    );
    expect(opus.unknown).toEqual([]);
    expect(f.capabilities!.every((c) => c.kind === 'tool')).toBe(true);
    expect(f.tools).toContain('Bash');
  });

  test('every kind of capability is listed, with the names the tools rules match', () => {
    const f = inspect({
      tools: [
        { name: 'Read', input_schema: {} },
        { type: 'web_search_20250305', name: 'web_search' },
        { type: 'web_fetch_20250910', name: 'web_fetch' },
        { type: 'code_execution_20250825', name: 'code_execution' },
        { type: 'bash_20250124', name: 'bash' },
        { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
        { type: 'computer_20250124', name: 'computer', display_width_px: 1, display_height_px: 1 },
        { type: 'memory_20250818', name: 'memory' },
        { type: 'tool_search_tool_regex_20251119', name: 'tool_search_tool_regex' },
        { type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-1' },
        {
          type: 'mcp_toolset',
          mcp_server_name: 'docs',
          default_config: { enabled: false },
          configs: { search: { enabled: true }, drop: { enabled: false } },
        },
      ],
      mcp_servers: [
        { type: 'url', name: 'crm', url: 'https://crm.example.com/mcp' },
        { type: 'url', name: 'docs', url: 'https://docs.example.com/mcp' },
        { type: 'url', name: 'wiki', url: 'https://wiki.example.com/mcp', tool_configuration: { allowed_tools: ['read_page'] } },
      ],
      container: { id: 'cntr_1', skills: [{ type: 'anthropic', skill_id: 'pptx' }] },
      fallbacks: [{ model: 'claude-haiku-4-5' }],
      thread: { type: 'continue', previous_message_id: 'msg_1' },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'file', file_id: 'file_A' } },
            { type: 'container_upload', file_id: 'file_B' },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_addition', tool: { type: 'tool_definition', definition: { type: 'web_fetch_20260318', name: 'web_fetch' } } },
          ],
        },
      ],
    });
    expect(f.tools.sort()).toEqual(
      [
        'Read',
        'web_search',
        'web_fetch',
        'code_execution',
        'bash',
        'text_editor',
        'str_replace_based_edit_tool',
        'computer',
        'memory',
        'tool_search_tool_regex',
        'advisor',
        'model:claude-opus-4-1',
        'mcp__docs__search',
        'mcp_server:crm',
        'mcp__crm__*',
        'mcp_server:docs',
        'mcp_server:wiki',
        'mcp__wiki__read_page',
        'container',
        'skill:pptx',
        'model:claude-haiku-4-5',
        'thread',
        'file:file_A',
        'file:file_B',
      ].sort(),
    );
    expect(f.unknown).toEqual([]);
    expect(f.capabilities!.find((c) => c.name === 'mcp_server:crm')!.server).toEqual({ name: 'crm', url: 'https://crm.example.com/mcp' });
  });

  test('unknown fields, betas, tool types and block types are named', () => {
    const f = inspect(
      {
        future_field: 1,
        tools: [{ type: 'teleport_20991231', name: 'teleport' }],
        messages: [{ role: 'user', content: [{ type: 'hologram' }] }],
      },
      'files-api-2025-04-14, not-a-beta-2099-01-01',
    );
    expect(f.unknown).toEqual([
      { what: 'field', name: 'future_field' },
      { what: 'beta', name: 'not-a-beta-2099-01-01' },
      { what: 'tool type', name: 'teleport_20991231' },
      { what: 'content block type', name: 'hologram' },
    ]);
    expect(f.tools).toEqual(['teleport']);
  });

  test('a file or a tool added mid-conversation counts wherever it sits in the messages', () => {
    const nested = (depth: number, inner: unknown[]): unknown[] =>
      depth === 0 ? inner : [{ type: 'tool_result', tool_use_id: `t${depth}`, content: nested(depth - 1, inner) }];
    const f = inspect({
      system: [
        { type: 'text', text: 's' },
        { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'x' }] } },
      ],
      messages: [
        {
          role: 'user',
          content: [
            // a document whose source is content, holding an image from a file
            {
              type: 'document',
              source: { type: 'content', content: [{ type: 'image', source: { type: 'file', file_id: 'file_IN_DOC' } }] },
            },
          ],
        },
        // six results deep (before: nothing past the fifth level was looked at)
        {
          role: 'user',
          content: nested(6, [
            { type: 'image', source: { type: 'file', file_id: 'file_DEEP' } },
            { type: 'tool_addition', tool: { type: 'tool_definition', definition: { name: 'Deep' } } },
            { type: 'hologram' },
          ]),
        },
        {
          role: 'assistant',
          content: [
            // results whose content is an object
            {
              type: 'web_fetch_tool_result',
              tool_use_id: 'srvtoolu_1',
              content: {
                type: 'web_fetch_result',
                url: 'https://e.com',
                content: { type: 'document', source: { type: 'file', file_id: 'file_FETCHED' } },
              },
            },
            {
              type: 'code_execution_tool_result',
              tool_use_id: 'srvtoolu_2',
              content: {
                type: 'code_execution_result',
                stdout: '',
                stderr: '',
                return_code: 0,
                content: [{ type: 'code_execution_output', file_id: 'file_OUT' }],
              },
            },
          ],
        },
      ],
    });
    expect(f.tools.sort()).toEqual(['Deep', 'file:file_DEEP', 'file:file_FETCHED', 'file:file_IN_DOC', 'file:file_OUT']);
    expect(f.unknown).toEqual([{ what: 'content block type', name: 'hologram' }]);
  });

  test("what is not a content block is not judged as one: search results, citations, a tool call's input", () => {
    const f = inspect({
      messages: [
        { role: 'user', content: 'find it' },
        {
          role: 'assistant',
          content: [
            { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
            {
              type: 'web_search_tool_result',
              tool_use_id: 'srvtoolu_1',
              content: [{ type: 'web_search_result', url: 'https://e.com', title: 't', encrypted_content: 'E', page_age: null }],
            },
            {
              type: 'text',
              text: 'a',
              citations: [{ type: 'web_search_result_location', url: 'https://e.com', title: 't', encrypted_index: 'i', cited_text: 'c' }],
            },
            // a client tool's arguments are the tool's business, never read by the API
            { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_id: 'doc-1', spec: { type: 'tool_addition' } } },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'tool_reference', tool_name: 'Read' }] }],
        },
      ],
    });
    expect(f.tools).toEqual([]);
    expect(f.unknown).toEqual([]);
  });

  test('a tool_addition that is not a tool definition is refused (400) with its path', () => {
    const body = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x' },
            { type: 'tool_addition', tool: { name: 'Bash' } },
          ],
        },
      ],
    };
    expect(() => inspect(body)).toThrow(RequestInspectionError);
    expect(() => inspect(body)).toThrow(/^messages\.0\.content\.1\.tool: send \{type: "tool_definition"/);
    const bad = {
      messages: [{ role: 'user', content: [{ type: 'tool_addition', tool: { type: 'tool_definition', definition: { name: 'B*' } } }] }],
    };
    expect(() => inspect(bad)).toThrow(/^messages\.0\.content\.0\.tool\.definition\.name: "B\*" is not a tool name/);
  });

  test.each([
    ['a glob in a tool name', { tools: [{ name: 'Re*' }] }, /tools.0.name/],
    ['a glob in an MCP server name', { mcp_servers: [{ type: 'url', name: 'c*', url: 'https://x' }] }, /mcp_servers.0.name/],
    ['an MCP server without url', { mcp_servers: [{ type: 'url', name: 'crm' }] }, /mcp_servers.0.url/],
    [
      'a glob in an allowed MCP tool',
      { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://x', tool_configuration: { allowed_tools: ['*'] } }] },
      /allowed_tools/,
    ],
    ['mcp_servers not an array', { mcp_servers: {} }, /mcp_servers: must be an array/],
    ['an MCP server without type', { mcp_servers: [{ name: 'crm', url: 'https://x' }] }, /^mcp_servers\.0\.type: must be "url"/],
    ['a fallback without model', { fallbacks: [{}] }, /fallbacks.0.model/],
    ['a skill without id', { container: { skills: [{ type: 'custom' }] } }, /skills.0.skill_id/],
  ])('refuses %s (400)', (_n, body, re) => {
    expect(() => inspect(body)).toThrow(RequestInspectionError);
    expect(() => inspect(body)).toThrow(re);
  });

  test('globsOverlap', () => {
    expect(globsOverlap('mcp__crm__delete', 'mcp__crm__*')).toBe(true);
    expect(globsOverlap('mcp__*', 'mcp__crm__*')).toBe(true);
    expect(globsOverlap('Bash', 'mcp__crm__*')).toBe(false);
    expect(globsOverlap('*a', '*b')).toBe(false);
    expect(globsOverlap('a*', '*b')).toBe(true);
  });
});

describe('request capabilities (decide)', () => {
  const bot = sa('cap-bot');
  const decideWith = (spec: Partial<ModelScope['spec']>, body: Record<string, unknown>, betas?: string) => {
    const snap = compilePolicy(
      [scope('caps', { subjects: [{ kind: 'ServiceAccount', name: 'cap-bot' }], models: ['claude-sonnet-4-*'], ...spec })],
      [review('caps-r', 'caps')],
      { namespace: 'team-a' },
    );
    return decide(snap, bot, { route: 'messages', facts: inspect(body, betas) }, NOW);
  };
  const codes = (d: ReturnType<typeof decide>) => d.reasons.map((r) => r.code);

  test('an MCP server of a type, or with a field, the sidecar does not know is named (the connector may reach it by another field than url)', () => {
    const server = { name: 'crm', url: 'https://crm.example.com/mcp' };
    expect(
      inspect({
        mcp_servers: [{ type: 'url', ...server, authorization_token: 't', tool_configuration: { enabled: true, allowed_tools: ['a'] } }],
      }).unknown,
    ).toEqual([]);
    expect(inspect({ mcp_servers: [{ type: 'connector', ...server, connector_id: 'c1' }] }).unknown).toEqual([
      { what: 'MCP server type', name: 'connector' },
      { what: 'field', name: 'mcp_servers[].connector_id' },
    ]);
    expect(
      inspect({ mcp_servers: [{ type: 'url', ...server, tool_configuration: { allowed_tools: ['a'], include_all: true } }] }).unknown,
    ).toEqual([{ what: 'field', name: 'mcp_servers[].tool_configuration.include_all' }]);
    const listed = { tools: { mcpServers: ['crm=https://crm.example.com/mcp'], allow: ['mcp__crm__*'] } };
    const d = decideWith(listed, { mcp_servers: [{ type: 'url', ...server, server_url: 'https://evil.example/mcp' }] });
    expect(d.effect).toBe('deny');
    expect(d.reasons.map((r) => r.code)).toEqual(['UnknownRequestField']);
    expect(decideWith(listed, { mcp_servers: [{ type: 'url', ...server }] }).effect).toBe('allow');
  });

  test('mcp_servers is denied unless spec.tools.mcpServers lists its URL', () => {
    const body = { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://crm.example.com/mcp' }] };
    const denied = decideWith({}, body, 'mcp-client-2025-04-04');
    expect(denied.effect).toBe('deny');
    expect(codes(denied)).toEqual(['McpServerNotAllowed']);
    expect(denied.message).toContain('MCP server crm (https://crm.example.com/mcp)');
    for (const listed of [
      'https://crm.example.com/mcp',
      'https://crm.example.com/*',
      'https://*.example.com/**',
      'https://crm.example.com',
    ])
      expect([listed, decideWith({ tools: { mcpServers: [listed] } }, body, 'mcp-client-2025-04-04').effect]).toEqual([listed, 'allow']);
    expect(decideWith({ tools: { mcpServers: ['https://other.example.com/mcp'] } }, body, 'mcp-client-2025-04-04').effect).toBe('deny');
    // a token in the URL's query never comes back in the message
    const secret = decideWith({}, { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://crm.example.com/mcp?token=s3cr3t' }] });
    expect(secret.message).toContain('(https://crm.example.com/mcp)');
    expect(secret.message).not.toContain('s3cr3t');
  });

  test('the name a request gives its MCP server matches nothing: the request chose it (before: a scope listing crm let any URL named crm through)', () => {
    const evil = { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://evil.example/mcp' }] };
    const d = decideWith({ tools: { mcpServers: ['https://crm.example.com/mcp'], allow: ['mcp__crm__*'] } }, evil);
    expect(codes(d)).toEqual(['McpServerNotAllowed']);
    expect(d.message).toContain('MCP server crm (https://evil.example/mcp) is not in [https://crm.example.com/mcp]');
    // and a scope that lists a name is not valid: it says to list the URL
    const named = compilePolicy(
      [
        scope('caps', {
          subjects: [{ kind: 'ServiceAccount', name: 'cap-bot' }],
          models: ['claude-sonnet-4-*'],
          tools: { mcpServers: ['crm'] },
        }),
      ],
      [review('caps-r', 'caps')],
      { namespace: 'team-a' },
    );
    expect(named.invalid.map((i) => i.problems)).toEqual([
      [expect.stringContaining('spec.tools.mcpServers[0] "crm" is not an https:// URL')],
    ]);
    expect(decideWith({ tools: { mcpServers: ['crm'], allow: ['mcp__crm__*'] } }, evil).effect).toBe('deny');
  });

  test("a server cannot take another's name to get its tools rules: an entry binds a name to its URL", () => {
    const spec = {
      tools: {
        mcpServers: ['crm=https://crm.example.com/mcp', 'wiki=https://wiki.example.com/mcp'],
        allow: ['mcp__wiki__*', 'mcp__crm__lookup'],
      },
    };
    const asWiki = { mcp_servers: [{ type: 'url', name: 'wiki', url: 'https://crm.example.com/mcp' }] };
    expect(codes(decideWith(spec, asWiki))).toEqual(['McpServerNotAllowed']);
    const wiki = { mcp_servers: [{ type: 'url', name: 'wiki', url: 'https://wiki.example.com/mcp' }] };
    expect(decideWith(spec, wiki).effect).toBe('allow');
    const crmAll = { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://crm.example.com/mcp' }] };
    expect(codes(decideWith(spec, crmAll))).toEqual(['ToolNotAllowed']);
  });

  test('two MCP servers of one name are refused (400): the second was never matched (before: allowed beside a listed one)', () => {
    const body = {
      mcp_servers: [
        { type: 'url', name: 'crm', url: 'https://crm.example.com/mcp' },
        { type: 'url', name: 'crm', url: 'https://evil.example/mcp' },
      ],
    };
    expect(() => inspect(body)).toThrow(RequestInspectionError);
    expect(() => inspect(body)).toThrow(/^mcp_servers\.1\.name: "crm" names two MCP servers/);
  });

  test.each([
    ['user information', 'https://user:pw@crm.example.com/mcp', /mcp_servers\.0\.url carries user information/],
    [
      'a backslash a parser reads as another host',
      'https://crm.example.com\\@evil.example/mcp',
      /mcp_servers\.0\.url is not written in its canonical form/,
    ],
    ['an upper-case host', 'https://CRM.example.com/mcp', /canonical form/],
    ['plain http', 'http://crm.example.com/mcp', /must be an https:\/\/ URL/],
  ])('an MCP server URL with %s is refused before it is matched (400)', (_n, url, why) => {
    const body = { mcp_servers: [{ type: 'url', name: 'crm', url }] };
    expect(() => inspect(body)).toThrow(RequestInspectionError);
    expect(() => inspect(body)).toThrow(why);
    try {
      inspect(body);
    } catch (e) {
      expect((e as Error).message).not.toMatch(/pw@/);
    }
  });

  test("an MCP server's tools go through the tools rules: all tools need an allow that covers all, a deny of one catches all", () => {
    const body = { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://crm' }] };
    const crm = ['https://crm'];
    expect(codes(decideWith({ tools: { mcpServers: crm, allow: ['mcp__crm__lookup'] } }, body))).toEqual(['ToolNotAllowed']);
    expect(decideWith({ tools: { mcpServers: crm, allow: ['mcp__crm__*'] } }, body).effect).toBe('allow');
    expect(codes(decideWith({ tools: { mcpServers: crm, deny: ['mcp__crm__delete'] } }, body))).toEqual(['ToolDenied']);
    const held = decideWith(
      {
        tools: { mcpServers: crm },
        approval: { requiredFor: { tools: ['mcp__crm__delete'] }, approvers: [{ kind: 'Group', name: 'x' }] },
      },
      body,
    );
    expect(held.effect).toBe('approval-required');
    const narrow = { mcp_servers: [{ type: 'url', name: 'crm', url: 'https://crm', tool_configuration: { allowed_tools: ['lookup'] } }] };
    expect(decideWith({ tools: { mcpServers: crm, allow: ['mcp__crm__lookup'], deny: ['mcp__crm__delete'] } }, narrow).effect).toBe(
      'allow',
    );
  });

  test('server tools, containers, skills, files and threads are checked like tools', () => {
    const allow = { tools: { allow: ['Read'] } };
    for (const [body, name] of [
      [{ tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'web_search'],
      [{ tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] }, 'code_execution'],
      [{ container: 'cntr_other_agent' }, 'container'],
      [{ container: { skills: [{ type: 'custom', skill_id: 'skill_x' }] } }, 'skill:skill_x'],
      [
        { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_secret' } }] }] },
        'file:file_secret',
      ],
      [{ thread: { type: 'continue', previous_message_id: 'msg_x' } }, 'thread'],
    ] as const) {
      const d = decideWith(allow, body as Record<string, unknown>);
      expect([d.effect, codes(d), d.message.includes(name)]).toEqual(['deny', ['ToolNotAllowed'], true]);
    }
    expect(
      decideWith({ tools: { allow: ['Read', 'web_search'] } }, { tools: [{ type: 'web_search_20250305', name: 'web_search' }] }).effect,
    ).toBe('allow');
    // a server tool renamed to an allowed client name is still checked by its type
    expect(codes(decideWith({ tools: { allow: ['Read'] } }, { tools: [{ type: 'web_fetch_20250910', name: 'Read' }] }))).toEqual([
      'ToolNotAllowed',
    ]);
    expect(codes(decideWith({ tools: { deny: ['web_fetch'] } }, { tools: [{ type: 'web_fetch_20250910', name: 'Read' }] }))).toEqual([
      'ToolDenied',
    ]);
    expect(
      decideWith(
        { tools: { allow: ['Read', 'file:*'] } },
        { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'f1' } }] }] },
      ).effect,
    ).toBe('allow');
  });

  test('fallback and advisor models must be in spec.models', () => {
    expect(codes(decideWith({}, { fallbacks: [{ model: 'claude-opus-4-1' }] }))).toEqual(['ModelNotAllowed']);
    expect(codes(decideWith({}, { tools: [{ type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-1' }] }))).toEqual([
      'ModelNotAllowed',
    ]);
    expect(decideWith({}, { fallbacks: [{ model: 'claude-sonnet-4-0' }] }).effect).toBe('allow');
    // "default": models the API picks, which no scope reviewed
    expect(codes(decideWith({}, { fallbacks: 'default' }))).toEqual(['ModelNotAllowed']);
  });

  test('a fallback or an advisor tool is held to spec.limits like the request (before: forwarded past maxTokens and thinking)', () => {
    const limits = { limits: { maxTokens: 1024, thinking: false } };
    const advisor = { type: 'advisor_20260301', name: 'advisor', model: 'claude-sonnet-4-0' };
    const fallback = { model: 'claude-sonnet-4-0', max_tokens: 64000, thinking: { type: 'enabled', budget_tokens: 32000 } };
    const d = decideWith(limits, { max_tokens: 100, fallbacks: [fallback] });
    expect([d.effect, codes(d)]).toEqual(['deny', ['MaxTokensExceeded', 'ThinkingNotAllowed']]);
    expect(d.message).toContain('max_tokens 64000 is over the limit of 1024');
    expect(codes(decideWith(limits, { max_tokens: 100, tools: [{ ...advisor, max_tokens: 64000 }] }))).toEqual(['MaxTokensExceeded']);
    // within the limits, as the request's own would be
    expect(decideWith(limits, { max_tokens: 100, fallbacks: [{ model: 'claude-sonnet-4-0', max_tokens: 1024 }] }).effect).toBe('allow');
    expect(decideWith(limits, { max_tokens: 100, tools: [{ ...advisor, max_tokens: 1024 }] }).effect).toBe('allow');
    expect(decideWith({ limits: { maxTokens: 64000, thinking: true } }, { fallbacks: [fallback] }).effect).toBe('allow');
  });

  test('unknown fields, betas and tool types are refused unless spec.limits.betas lists them', () => {
    const d = decideWith({}, { future_field: true }, 'not-a-beta-2099-01-01');
    expect(codes(d)).toEqual(['UnknownRequestField', 'UnknownRequestField']);
    expect(d.message).toContain('field "future_field"');
    expect(
      decideWith({ limits: { betas: ['future_field', 'not-a-beta-*'] } }, { future_field: true }, 'not-a-beta-2099-01-01').effect,
    ).toBe('allow');
    // a listed unknown tool type is still subject to the tools rules
    expect(
      codes(
        decideWith(
          { limits: { betas: ['teleport_*'] }, tools: { deny: ['teleport'] } },
          { tools: [{ type: 'teleport_20991231', name: 'x' }] },
        ),
      ),
    ).toEqual(['ToolDenied']);
  });

  test("the Agent SDK's request is allowed by a scope without tool rules", () => {
    expect(decideWith({ limits: { maxTokens: 64000, streaming: true, thinking: true } }, AGENT_SDK_BODY, AGENT_SDK_BETAS).effect).toBe(
      'allow',
    );
  });
});
