// The request facts policy decides on, at their edges: what counts as streaming and thinking,
// which max_tokens pass, and what each refusal says (the caller reads it as a 400).
import { inspectMessagesRequest, parseBetas, RequestInspectionError } from './inspect.ts';

const inspect = (o: unknown, beta?: string | string[], opts?: { requireMaxTokens: boolean }) =>
  inspectMessagesRequest(typeof o === 'string' ? o : JSON.stringify(o), beta, opts);
const refusal = (o: unknown, opts?: { requireMaxTokens: boolean }): string => {
  try {
    inspect(o, undefined, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(RequestInspectionError);
    return (e as Error).message;
  }
  throw new Error('not refused');
};
const ok = { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [] };

describe('refusals, as the caller reads them', () => {
  test.each([
    ['not JSON', '{"model":', 'The request body is not valid UTF-8 JSON. Send a JSON object as the Messages API documents it.'],
    ['a string', '"hi"', 'The request body must be a JSON object with model and messages.'],
    ['null', 'null', 'The request body must be a JSON object with model and messages.'],
    ['an array', '[1]', 'The request body must be a JSON object with model and messages.'],
    ['no model', { max_tokens: 1 }, 'model: Field required. Name the model to call, for example claude-sonnet-4-5.'],
    ['an empty model', { model: '', max_tokens: 1 }, 'model: Field required. Name the model to call, for example claude-sonnet-4-5.'],
    [
      'a model that is not a string',
      { model: 7, max_tokens: 1 },
      'model: Field required. Name the model to call, for example claude-sonnet-4-5.',
    ],
    ['no max_tokens', { model: 'm' }, 'max_tokens: Field required. Set max_tokens to the most output tokens you want.'],
    ['max_tokens 0', { model: 'm', max_tokens: 0 }, 'max_tokens: must be a positive integer.'],
    ['max_tokens 1.5', { model: 'm', max_tokens: 1.5 }, 'max_tokens: must be a positive integer.'],
    ['max_tokens as a string', { model: 'm', max_tokens: '16' }, 'max_tokens: must be a positive integer.'],
    ['stream as a string', { model: 'm', max_tokens: 1, stream: 'true' }, 'stream: must be true or false.'],
    [
      'a model glob',
      { model: 'claude-*', max_tokens: 1 },
      'model: "claude-*" is not a model name: glob characters (* ? [ ]) are not accepted. Name exactly one model, for example claude-sonnet-4-5.',
    ],
    [
      'a fallback model glob',
      { model: 'm', max_tokens: 1, fallbacks: [{ model: 'claude-[a]' }] },
      'a model named in the request: "claude-[a]" is not a model name: glob characters (* ? [ ]) are not accepted. Name exactly one model, for example claude-sonnet-4-5.',
    ],
    ['fallbacks of the wrong type', { model: 'm', max_tokens: 1, fallbacks: 3 }, 'fallbacks: must be a list of {model} or "default".'],
    [
      'a fallback max_tokens 0',
      { model: 'm', max_tokens: 1, fallbacks: [{ model: 'm', max_tokens: 0 }] },
      'fallbacks.0.max_tokens: must be a positive integer.',
    ],
    [
      'a second fallback max_tokens as a string',
      { model: 'm', max_tokens: 1, fallbacks: [{ model: 'm' }, { model: 'm', max_tokens: '64000' }] },
      'fallbacks.1.max_tokens: must be a positive integer.',
    ],
    [
      'an advisor tool max_tokens 1.5',
      { model: 'm', max_tokens: 1, tools: [{ type: 'advisor_20260301', name: 'advisor', model: 'm', max_tokens: 1.5 }] },
      'tools.0.max_tokens: must be a positive integer.',
    ],
  ])('%s', (_name, body, message) => {
    expect(refusal(body)).toBe(message);
  });

  test.each([
    ['model', '{"model":"claude-haiku-4-5","max_tokens":1,"model":"claude-opus-4-1","messages":[]}'],
    ['tools', '{"model":"m","max_tokens":1,"tools":[],"messages":[],"tools":[{"name":"Bash","input_schema":{}}]}'],
    ['type', '{"model":"m","max_tokens":1,"messages":[],"tools":[{"type":"custom","name":"Read","type":"bash_20250124"}]}'],
    ['model', '{"model":"m","max_tokens":1,"messages":[],"mod\\u0065l":"claude-opus-4-1"}'],
  ])('a repeated key (%s) is refused, the Buffer as the string', (key, text) => {
    const message = `The body repeats the key "${key}" in one object: send each key once (servers read a repeated key differently, so the request checked would not be the request served).`;
    expect(refusal(text)).toBe(message);
    expect(() => inspectMessagesRequest(Buffer.from(text), undefined)).toThrow(message);
  });

  // The probe's bodies, each forwarded (200) before: a server matching keys case-insensitively
  // (Go's encoding/json, Jackson, .NET) reads the key the sidecar never checked.
  const R = '"model":"claude-haiku-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]';
  test.each([
    ['tools.0', 'name', 'NAME', `{${R},"tools":[{"name":"Read","NAME":"Bash","input_schema":{"type":"object"}}]}`],
    ['tools.0', 'type', 'Type', `{${R},"tools":[{"name":"Read","type":"custom","Type":"web_search_20250305"}]}`],
    ['fallbacks.0', 'model', 'MODEL', `{${R},"fallbacks":[{"model":"claude-haiku-4-5","MODEL":"claude-opus-4-1"}]}`],
    ['container', 'id', 'ID', `{${R},"container":{"id":"cntr_mine","ID":"cntr_other"}}`],
    ['container', 'skills', '\u017fkills', `{${R},"container":{"skills":[],"\\u017fkills":[{"type":"anthropic","skill_id":"xlsx"}]}}`],
    ['thread', 'type', 'Type', `{${R},"thread":{"type":"new","Type":"continue","previous_message_id":"msg_other"}}`],
    [
      'messages.0.content.0.source',
      'file_id',
      'File_id',
      '{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"file","file_id":"file_mine","File_id":"file_other"}}]}]}',
    ],
    ['', 'model', 'Model', `{${R},"Model":"claude-opus-4-1"}`],
  ])('keys equal under case folding in %s ("%s", "%s") are refused as a repeat', (at, first, key, text) => {
    const where = at === '' ? 'the top-level object' : `the object at ${at}`;
    const message = `The body names the keys ${JSON.stringify(first)} and ${JSON.stringify(key)} in ${where}: they differ only by case, and servers that match keys case-insensitively read one for the other. Send each key once, spelled as documented (the request checked would not be the request served).`;
    expect(refusal(text)).toBe(message);
    expect(() => inspectMessagesRequest(Buffer.from(text), undefined, { requireMaxTokens: false })).toThrow(message);
  });

  // A lone key spelt otherwise than the API's field, in an object the API defines: the probe's
  // bodies (each forwarded, 200, before) and the other objects the collector reads.
  const respelt = (at: string, field: string) =>
    `${at}: the API's field is "${field}"; a server that matches keys case-insensitively would read this key as it. Spell it "${field}", or leave it out.`;
  const inMessage = (blocks: string) => `{${R.replace('"content":"hi"', `"content":${blocks}`)}}`;
  const crm = '"type":"url","name":"crm","url":"https://crm.example.com/mcp"';
  test.each([
    ['tools.0.Type', 'type', `{${R},"tools":[{"name":"Read","Type":"web_search_20250305"}]}`],
    ['container.ID', 'id', `{${R},"container":{"ID":"cntr_other"}}`],
    ['container.\u017fkills', 'skills', `{${R},"container":{"\\u017fkills":[{"type":"anthropic","skill_id":"xlsx"}]}}`],
    ['thread.Type', 'type', `{${R},"thread":{"Type":"continue","previous_message_id":"msg_other"}}`],
    ['messages.0.content.0.source.File_id', 'file_id', inMessage('[{"type":"document","source":{"type":"file","File_id":"file_other"}}]')],
    ['tools.0.Name', 'name', `{${R},"tools":[{"type":"web_search_20250305","Name":"Read"}]}`],
    ['thinking.Type', 'type', `{${R},"thinking":{"Type":"enabled","budget_tokens":32000}}`],
    [
      'fallbacks.0.thinking.Type',
      'type',
      `{${R},"fallbacks":[{"model":"claude-haiku-4-5","thinking":{"Type":"enabled","Budget_tokens":32000}}]}`,
    ],
    ['fallbacks.0.MODEL', 'model', `{${R},"fallbacks":[{"MODEL":"claude-opus-4-1"}]}`],
    ['fallbacks.0.max_to\u212Aens', 'max_tokens', `{${R},"fallbacks":[{"model":"claude-haiku-4-5","max_to\\u212aens":64000}]}`],
    ['mcp_servers.0.URL', 'url', `{${R},"mcp_servers":[{"type":"url","name":"crm","URL":"https://evil.example/mcp"}]}`],
    [
      'mcp_servers.0.tool_configuration.Allowed_tools',
      'allowed_tools',
      `{${R},"mcp_servers":[{${crm},"tool_configuration":{"Allowed_tools":["lookup"]}}]}`,
    ],
    [
      'tools.0.default_config.Enabled',
      'enabled',
      `{${R},"tools":[{"type":"mcp_toolset","mcp_server_name":"crm","default_config":{"Enabled":false}}]}`,
    ],
    [
      'tools.0.configs.lookup.ENABLED',
      'enabled',
      `{${R},"tools":[{"type":"mcp_toolset","mcp_server_name":"crm","configs":{"lookup":{"ENABLED":false}}}]}`,
    ],
    ['container.skills.0.s\u212Aill_id', 'skill_id', `{${R},"container":{"skills":[{"type":"anthropic","s\\u212aill_id":"xlsx"}]}}`],
    ['messages.0.content.0.Type', 'type', inMessage('[{"text":"hi","Type":"tool_addition"}]')],
    [
      'messages.0.content.0.tool.Definition',
      'definition',
      inMessage('[{"type":"tool_addition","tool":{"type":"tool_definition","Definition":{"name":"Bash"}}}]'),
    ],
    [
      'messages.0.content.0.tool.definition.TYPE',
      'type',
      inMessage('[{"type":"tool_addition","tool":{"type":"tool_definition","definition":{"name":"Read","TYPE":"bash_20250124"}}}]'),
    ],
    [
      'messages.0.content.0.content.0.Tool_use_id',
      'tool_use_id',
      inMessage('[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"tool_result","Tool_use_id":"t2"}]}]'),
    ],
    [
      'messages.0.content.0.content.source.FILE_ID',
      'file_id',
      inMessage(
        '[{"type":"web_fetch_tool_result","tool_use_id":"s1","content":{"type":"document","source":{"type":"file","FILE_ID":"file_other"}}}]',
      ),
    ],
  ])('a lone key spelt otherwise than the API (%s) is refused, the Buffer as the string', (at, field, text) => {
    expect(refusal(text)).toBe(respelt(at, field));
    expect(() => inspectMessagesRequest(Buffer.from(text), undefined)).toThrow(respelt(at, field));
  });

  test("what is not the API's own object keeps its keys: input_schema, a tool call's input, text, a tool name, a search result's fields", () => {
    const text = inMessage(
      '[{"type":"tool_use","id":"t1","name":"Read","input":{"Type":"web_search_20250305","File_id":"x","ID":1}},' +
        '{"type":"text","text":"Type: continue, \\"ID\\": cntr_other, \\u017fkills"},' +
        '{"type":"web_search_tool_result","tool_use_id":"s1","content":[{"url":"https://a","title":"t","encrypted_content":"e","Type":"web_search_result"}]}]',
    ).replace(
      `"messages"`,
      '"tools":[{"name":"Read","description":"d","input_schema":{"type":"object","properties":{"filePath":{"type":"string"},"Type":{"type":"string"},"ID":{"type":"integer"}},"required":["filePath"]}},' +
        '{"type":"mcp_toolset","mcp_server_name":"crm","configs":{"Lookup":{"enabled":true},"TYPE":{"enabled":false}}}],' +
        `"mcp_servers":[{${crm}}],"messages"`,
    );
    const facts = inspect(text);
    expect(facts.tools).toEqual(expect.arrayContaining(['Read', 'mcp__crm__*', 'mcp__crm__Lookup']));
    expect(facts.tools).not.toContain('web_search');
    // Capitals the API never folds into one of its fields pass too: a key "Read" or "Input_Schema_2".
    expect(inspect({ ...ok, tools: [{ name: 'Read', Read: 1, Input_schema_2: {}, input_schema: {} }] }).tools).toEqual(['Read']);
  });

  test('one key in several objects is not a repeat', () => {
    const text =
      '{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}';
    expect(inspect(text).model).toBe('m');
  });

  test('each glob character alone is refused', () => {
    for (const c of ['*', '?', '[', ']']) expect(refusal({ model: `claude${c}`, max_tokens: 1 })).toContain('is not a model name');
  });

  test('a model name is printable ASCII: a NUL, a line break, a space, a tab, DEL or a look-alike is refused (a server that cuts or folds it would call another model)', () => {
    const message = (shown: string, field = 'model') =>
      `${field}: ${shown} is not a model name: it holds a space, a control or a non-ASCII character. Name the model as its id is written, for example claude-sonnet-4-5.`;
    for (const model of [
      'claude-opus-4-1\u0000haiku',
      'claude-opus-4-1\nhaiku',
      'claude-opus-4-1 haiku',
      ' claude-haiku-4-5',
      'claude-haiku-4-5\t',
      'claude\u007fhaiku',
      'ｃlaude-haiku-4-5',
      'claude-haiku-4-5\u00a0',
      'claude-haiku-4-5\u200b',
    ])
      expect(refusal({ model, max_tokens: 1 })).toBe(message(JSON.stringify(model)));
    expect(refusal({ model: 'm', max_tokens: 1, fallbacks: [{ model: 'claude-opus-4-1\u0000haiku' }] })).toBe(
      message(JSON.stringify('claude-opus-4-1\u0000haiku'), 'a model named in the request'),
    );
    // The printable ASCII ends are accepted, as every real id is (Bedrock and Vertex ids too).
    for (const model of ['!', '~', 'anthropic.claude-3-5-sonnet-20240620-v1:0', 'claude-3-5-sonnet-v2@20241022'])
      expect(inspect({ model, max_tokens: 1, messages: [] }).model).toBe(model);
  });

  test('a long glob name is shown cut at 100 characters', () => {
    const long = `claude-${'x'.repeat(200)}*`;
    expect(refusal({ model: long, max_tokens: 1 })).toBe(
      `model: ${JSON.stringify(`${long.slice(0, 97)}...`)} is not a model name: glob characters (* ? [ ]) are not accepted. Name exactly one model, for example claude-sonnet-4-5.`,
    );
    const exactly100 = `${'y'.repeat(99)}?`;
    expect(refusal({ model: exactly100, max_tokens: 1 })).toContain(JSON.stringify(exactly100));
  });
});

describe('facts', () => {
  test('max_tokens 1 is the least accepted; count_tokens needs none but checks one that is sent', () => {
    expect(inspect({ ...ok, max_tokens: 1 }).maxTokens).toBe(1);
    expect(inspect({ model: 'm' }, undefined, { requireMaxTokens: false }).maxTokens).toBeUndefined();
    expect(refusal({ model: 'm', max_tokens: -5 }, { requireMaxTokens: false })).toBe('max_tokens: must be a positive integer.');
  });

  test("max_tokens is the largest of the request, its fallbacks and its advisor tools (before: the request's alone)", () => {
    const advisor = (max_tokens: unknown) => ({ type: 'advisor_20260301', name: 'advisor', model: 'm', max_tokens });
    expect(inspect({ ...ok, fallbacks: [{ model: 'm', max_tokens: 64000 }] }).maxTokens).toBe(64000);
    expect(
      inspect({
        ...ok,
        fallbacks: [
          { model: 'm', max_tokens: 100 },
          { model: 'm', max_tokens: 900 },
          { model: 'm', max_tokens: 50 },
        ],
      }).maxTokens,
    ).toBe(900);
    expect(inspect({ ...ok, tools: [advisor(5000)] }).maxTokens).toBe(5000);
    // an advisor added mid-conversation counts as one in tools[]
    const added = { type: 'tool_addition', tool: { type: 'tool_definition', definition: advisor(7000) } };
    expect(inspect({ ...ok, messages: [{ role: 'user', content: [added] }] }).maxTokens).toBe(7000);
    // a smaller one, null or none: the request's own (an attempt without one uses the request's)
    expect(inspect({ ...ok, fallbacks: [{ model: 'm', max_tokens: 8 }], tools: [advisor(4)] }).maxTokens).toBe(16);
    expect(inspect({ ...ok, fallbacks: [{ model: 'm', max_tokens: null }], tools: [advisor(null)] }).maxTokens).toBe(16);
    // count_tokens: the largest that is sent
    expect(inspect({ model: 'm', fallbacks: [{ model: 'm', max_tokens: 300 }] }, undefined, { requireMaxTokens: false }).maxTokens).toBe(
      300,
    );
    expect(inspect({ model: 'm', fallbacks: [{ model: 'm' }] }, undefined, { requireMaxTokens: false }).maxTokens).toBeUndefined();
  });

  test("thinking is on when any fallback turns it on (before: the request's alone)", () => {
    const on = { type: 'enabled', budget_tokens: 32000 };
    expect(inspect({ ...ok, fallbacks: [{ model: 'm', thinking: on }] }).thinking).toBe(true);
    expect(inspect({ ...ok, fallbacks: [{ model: 'm' }, { model: 'm', thinking: { type: 'adaptive' } }] }).thinking).toBe(true);
    expect(
      inspect({
        ...ok,
        fallbacks: [
          { model: 'm', thinking: { type: 'disabled' } },
          { model: 'm', thinking: null },
        ],
      }).thinking,
    ).toBe(false);
    expect(inspect({ ...ok, thinking: on, fallbacks: [{ model: 'm', thinking: { type: 'disabled' } }] }).thinking).toBe(true);
  });

  test('a fallback field the sidecar does not know is reported (it may override another part of the request)', () => {
    const full = { model: 'm', max_tokens: 8, thinking: { type: 'disabled' }, output_config: { effort: 'max' }, speed: 'fast' };
    expect(inspect({ ...ok, fallbacks: [full] }).unknown).toEqual([]);
    expect(
      inspect({
        ...ok,
        fallbacks: [
          { model: 'm', tools: [] },
          { model: 'm', mcp_servers: [] },
        ],
      }).unknown,
    ).toEqual([
      { what: 'field', name: 'fallbacks[].tools' },
      { what: 'field', name: 'fallbacks[].mcp_servers' },
    ]);
  });

  test('streaming only when stream is true', () => {
    expect(inspect({ ...ok, stream: true }).stream).toBe(true);
    expect(inspect({ ...ok, stream: false }).stream).toBe(false);
    expect(inspect(ok).stream).toBe(false);
  });

  test('thinking is on for any type but "disabled", off without one', () => {
    expect(inspect({ ...ok, thinking: { type: 'enabled', budget_tokens: 1024 } }).thinking).toBe(true);
    expect(inspect({ ...ok, thinking: { type: 'adaptive' } }).thinking).toBe(true);
    expect(inspect({ ...ok, thinking: { type: 'disabled' } }).thinking).toBe(false);
    expect(inspect({ ...ok, thinking: {} }).thinking).toBe(false);
    expect(inspect(ok).thinking).toBe(false);
  });

  test('models of fallbacks are capabilities named model:<name>; tools keep their names', () => {
    const f = inspect({ ...ok, fallbacks: [{ model: 'claude-haiku-4-5' }], tools: [{ name: 'Read', input_schema: {} }] });
    expect(f.tools).toEqual(['Read', 'model:claude-haiku-4-5']);
    expect(f.capabilities).toEqual([
      { kind: 'tool', name: 'Read' },
      { kind: 'model', name: 'claude-haiku-4-5' },
    ]);
    expect(f.unknown).toEqual([]);
  });

  test('unknown fields and betas are reported, not refused here', () => {
    const f = inspect({ ...ok, surprise: 1 }, 'future-beta-2099-01-01');
    expect(f.unknown).toEqual([
      { what: 'field', name: 'surprise' },
      { what: 'beta', name: 'future-beta-2099-01-01' },
    ]);
    expect(f.betas).toEqual(['future-beta-2099-01-01']);
  });

  test('a body given as bytes must be UTF-8', () => {
    // read as UTF-8 (latin1 would show "Ã©"), then refused as no model id
    expect(() => inspectMessagesRequest(Buffer.from(JSON.stringify({ ...ok, model: 'é' })), undefined)).toThrow(
      'model: "é" is not a model name',
    );
    expect(() => inspectMessagesRequest(Buffer.from([0x7b, 0xc3, 0x7d]), undefined)).toThrow(RequestInspectionError);
    // invalid UTF-8 inside a string value: refused, not read as U+FFFD (Buffer#toString would)
    const bad = Buffer.concat([Buffer.from('{"model":"m'), Buffer.from([0xff]), Buffer.from('","max_tokens":1}')]);
    expect(() => inspectMessagesRequest(bad, undefined)).toThrow('The request body is not valid UTF-8 JSON.');
  });
});

describe('parseBetas', () => {
  test('comma-separated, repeated headers, spaces and empty parts dropped', () => {
    expect(parseBetas(undefined)).toEqual([]);
    expect(parseBetas('')).toEqual([]);
    expect(parseBetas(' a , ,b,')).toEqual(['a', 'b']);
    expect(parseBetas(['a, b', ' c '])).toEqual(['a', 'b', 'c']);
    expect(parseBetas([])).toEqual([]);
  });
});
