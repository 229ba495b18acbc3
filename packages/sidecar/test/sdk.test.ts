// The real Anthropic clients through the sidecar: @anthropic-ai/sdk and the Claude Agent SDK.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { query } from '@anthropic-ai/claude-agent-sdk';
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';

let world: World;

beforeAll(async () => {
  world = await startWorld();
  // The Agent SDK offers its whole tool set (Bash, Edit, Write, …): a scope that allows it.
  await addScope(
    world,
    'agent-sdk',
    'agent-bot',
    '  models: ["claude-sonnet-4-*", "claude-haiku-*"]\n  limits: {maxTokens: 64000, streaming: true, thinking: true}',
  );
  await addScope(
    world,
    'agent-expired',
    'agent-late',
    '  models: ["claude-sonnet-4-*", "claude-haiku-*"]\n  limits: {maxTokens: 64000, streaming: true, thinking: true}',
    { expired: true },
  );
  const token = await world.saToken('agent-bot');
  await waitForPolicy(
    world,
    async () => (await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
  );
});
afterAll(() => world.close());

const client = async (sa: string) => new Anthropic({ baseURL: world.url, apiKey: null, authToken: await world.saToken(sa), maxRetries: 0 });

describe('@anthropic-ai/sdk through the sidecar', () => {
  test('a turn, not streamed', async () => {
    const c = await client('support-bot');
    const msg = await c.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Say hello to the support team.' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Say hello to the support team.' });
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
  });

  test('a turn, streamed', async () => {
    const c = await client('support-bot');
    const stream = c.messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Stream this sentence back, please.' }],
    });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Stream this sentence back, please.');
    expect(final.stop_reason).toBe('end_turn');
  });

  test('a model outside the scope is refused with a readable reason', async () => {
    const c = await client('support-bot');
    const err = await c.messages
      .create({ model: 'claude-opus-4-1', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((err as Error).message).toContain('Denied by ModelScope support-agent, rule spec.models: model claude-opus-4-1 is not in');
  });

  test('a scope whose review expired is refused, streamed too', async () => {
    const c = await client('research-bot');
    const err = await c.messages
      .stream({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((err as Error).message).toMatch(
      /ModelScope research-agent.*expired at .*a reviewer of ModelScope research-agent must approve a new review/,
    );
  });

  test('count_tokens and the filtered model list', async () => {
    const c = await client('support-bot');
    const count = await c.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'count me' }] });
    expect(count.input_tokens).toBeGreaterThan(0);
    const models = [];
    for await (const m of c.models.list()) models.push(m.id);
    // claude-3-5-haiku-latest is not matched by claude-haiku-*: the list shows only what the scope allows.
    expect(models.sort()).toEqual(['claude-haiku-4-5', 'claude-sonnet-4-0', 'claude-sonnet-4-5', 'claude-sonnet-4-6']);
  });
});

describe('@anthropic-ai/claude-agent-sdk through the sidecar', () => {
  async function turn(sa: string): Promise<{ result?: string; isError?: boolean; text: string }> {
    const config = await mkdtemp(join(tmpdir(), 'agent-sdk-'));
    const env = {
      ...process.env,
      ANTHROPIC_BASE_URL: world.url,
      ANTHROPIC_AUTH_TOKEN: await world.saToken(sa),
      ANTHROPIC_API_KEY: '',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CONFIG_DIR: config,
      HOME: config,
    };
    const out: { result?: string; isError?: boolean; text: string } = { text: '' };
    try {
      await collect();
    } catch (e) {
      // The SDK surfaces an error result by throwing: its message is what the user sees.
      out.isError = true;
      out.result = (e as Error).message;
    }
    return out;
    async function collect() {
      for await (const m of query({
        prompt: 'Reply with the word pong.',
        options: { model: 'claude-sonnet-4-6', env, maxTurns: 1, cwd: config, settingSources: [] },
      })) {
        if (m.type === 'assistant')
          out.text += m.message.content.map((b: { type: string; text?: string }) => (b.type === 'text' ? b.text : '')).join('');
        if (m.type === 'result') {
          out.isError = m.is_error;
          out.result = 'result' in m ? m.result : JSON.stringify(m);
        }
      }
    }
  }

  test('query() completes a turn (streamed) with a token the sidecar verifies', async () => {
    const before = world.stub!.received.length;
    const r = await turn('agent-bot');
    expect(r.isError).toBe(false);
    expect(r.text).toContain('Reply with the word pong.');
    const seen = world.stub!.received.slice(before).filter((q) => q.url.startsWith('/v1/messages'));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]!.url).toBe('/v1/messages?beta=true');
    expect(seen[0]!.headers['x-api-key']).toBe('sk-ant-local-upstream-key-0000');
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(JSON.parse(seen[0]!.body.toString()).stream).toBe(true);
  }, 120_000);

  test('query() is refused with the reason when the review expired', async () => {
    const r = await turn('agent-late');
    expect(r.isError).toBe(true);
    expect(r.result).toMatch(
      /403 Denied by ModelScope agent-expired, rule AccessReview agent-expired-review: Review team-a\/agent-expired-review expired at .*must approve a new review/,
    );
  }, 120_000);
});
