import { MessageStreamObserver, MAX_TOOLS_USED, toolUseName, toolsUsedIn } from './anthropic.ts';
import type { SseEvent } from './parser.ts';

const sse = (event: string, data: string): SseEvent =>
  ({ event, data, id: undefined, retry: undefined, comments: [], raw: '', incomplete: false }) as unknown as SseEvent;
const ev = (data: unknown) => sse((data as { type: string }).type, JSON.stringify(data));
const start = (index: number, content_block: unknown) => ev({ type: 'content_block_start', index, content_block });

describe('tools the model invoked', () => {
  test('client, server and MCP connector tool uses, in order of first use, each once', () => {
    const o = new MessageStreamObserver();
    o.observe(start(0, { type: 'text', text: '' }));
    o.observe(start(1, { type: 'tool_use', id: 't1', name: 'Read', input: {} }));
    o.observe(start(2, { type: 'server_tool_use', id: 't2', name: 'web_search', input: {} }));
    o.observe(start(3, { type: 'mcp_tool_use', id: 't3', name: 'lookup', server_name: 'crm', input: {} }));
    o.observe(start(4, { type: 'tool_use', id: 't4', name: 'Read', input: {} }));
    // A tool *result* block is not a use, nor is a malformed block.
    o.observe(start(5, { type: 'web_search_tool_result', tool_use_id: 't2', content: [] }));
    o.observe(start(6, { type: 'tool_use', id: 't5' }));
    o.observe(sse('content_block_start', '{not json'));
    expect(o.facts.toolsUsed).toEqual(['Read', 'web_search', 'mcp__crm__lookup']);
  });

  test('a response cannot grow the list past its bound', () => {
    const o = new MessageStreamObserver();
    for (let i = 0; i < MAX_TOOLS_USED + 50; i++) o.observe(start(i, { type: 'tool_use', id: `t${i}`, name: `tool_${i}`, input: {} }));
    expect(o.facts.toolsUsed).toHaveLength(MAX_TOOLS_USED);
  });

  test('a whole JSON message', () => {
    expect(
      toolsUsedIn({
        content: [
          { type: 'text', text: 'x' },
          { type: 'tool_use', name: 'Grep' },
          { type: 'mcp_tool_use', name: 'q', server_name: 'db' },
        ],
      }),
    ).toEqual(['Grep', 'mcp__db__q']);
    expect(toolsUsedIn({ content: 'not an array' })).toEqual([]);
    expect(toolsUsedIn(null)).toEqual([]);
    expect(toolUseName({ type: 'tool_use', name: 42 })).toBeUndefined();
  });
});
