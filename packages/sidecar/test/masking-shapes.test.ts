// Shapes of the model API's answers that carried data past the masker: the model list
// (/v1/models) was relayed with its entries whole.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';

const MAIL = 'jane.doe@example.com';

describe('/v1/models through a scope that masks', () => {
  let world: World;
  let upstream: Server;
  let list: unknown;
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.once('end', () => {
        const body = JSON.stringify(list);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    list = {
      data: [{ type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude', created_at: '2025-09-29T00:00:00Z' }],
      has_more: false,
    };
    world = await startWorld({ flags: { upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` } });
    await addScope(world, 'masked-models', 'models-bot', '  models: ["claude-sonnet-4-*"]\n  data: {mask: [email, credit-card]}');
    const token = await world.saToken('models-bot');
    await waitForPolicy(
      world,
      async () => (await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
    );
  });
  afterAll(async () => {
    await world.close();
    upstream.close();
  });

  const models = async () => {
    const res = await fetch(`${world.url}/v1/models`, { headers: { authorization: `Bearer ${await world.saToken('models-bot')}` } });
    return { status: res.status, text: await res.text() };
  };

  test('a display_name, a field of an entry and a note beside the list are masked (before: passed in clear)', async () => {
    list = {
      data: [
        {
          type: 'model',
          id: 'claude-sonnet-4-5',
          display_name: `Claude (ask ${MAIL})`,
          created_at: '2025-09-29T00:00:00Z',
          extra: { card: 4111111111111111 },
        },
        { type: 'model', id: 'claude-opus-4-1', display_name: MAIL, created_at: '2025-08-05T00:00:00Z' },
      ],
      note: `contact ${MAIL}`,
      has_more: false,
    };
    const { status, text } = await models();
    expect(status).toBe(200);
    expect(JSON.parse(text)).toEqual({
      data: [
        {
          type: 'model',
          id: 'claude-sonnet-4-5',
          display_name: 'Claude (ask [MASKED:email])',
          created_at: '2025-09-29T00:00:00Z',
          extra: { card: '[MASKED:credit-card]' },
        },
      ],
      note: 'contact [MASKED:email]',
      has_more: false,
      first_id: 'claude-sonnet-4-5',
      last_id: 'claude-sonnet-4-5',
    });
    expect(text).not.toContain('jane.doe');
  });

  test('a list with nothing to mask is filtered and otherwise kept', async () => {
    list = {
      data: [{ type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' }],
      has_more: false,
    };
    const { status, text } = await models();
    expect(status).toBe(200);
    expect(text).toBe(
      '{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}',
    );
  });
});
