// The data rules of a caller over HTTP (DESIGN.md §9a, issue 14 class 3): the union of every
// scope naming the caller, or the pinned scope's alone; never chosen by the request's shape.
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';

const SECRET = 'Mail jane.doe@example.com now';
let world: World;

beforeAll(async () => {
  world = await startWorld();
  // Two scopes name rules-bot: one masks email and allows Read; one allows Read and Grep and masks nothing.
  await addScope(world, 'rules-a-masks', 'rules-bot', '  models: ["claude-sonnet-4-*"]\n  tools: {allow: [Read]}\n  data: {mask: [email]}');
  await addScope(world, 'rules-b-open', 'rules-bot', '  models: ["claude-sonnet-4-*"]\n  tools: {allow: [Read, Grep]}');
  const token = await world.saToken('rules-bot');
  await waitForPolicy(world, async () => (await ask(token, ['Grep'], false)).status === 200);
});
afterAll(() => world.close());

function ask(token: string, tools: string[], stream: boolean): Promise<Response> {
  return fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      stream,
      tools: tools.map((name) => ({ name, description: 'd', input_schema: { type: 'object' } })),
      messages: [{ role: 'user', content: SECRET }],
    }),
  });
}

describe.each([false, true])('stream %p', (stream) => {
  test.each([
    ['no tools (fits the masking scope)', []],
    ['Grep (fits only the scope that masks nothing)', ['Grep']],
  ])('%s: the email is masked', async (_label, tools) => {
    const res = await ask(await world.saToken('rules-bot'), tools, stream);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('jane.doe@example.com');
    expect(text).toContain('[MASKED:email]');
  });
});

test('with the pod pinned to the scope that masks nothing, only its rules apply', async () => {
  world.flags.scope = 'rules-b-open';
  await world.restart();
  try {
    const res = await ask(await world.saToken('rules-bot'), ['Grep'], false);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('jane.doe@example.com');
  } finally {
    world.flags.scope = undefined;
    await world.restart();
  }
});
