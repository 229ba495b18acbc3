// Masking through the sidecar: JSON, SSE, compressed upstreams, block categories, internal services.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SseParser } from '@scopekeeper/core';
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';
import { expectRefusal } from './refusal.ts';

const SECRET = 'Mail jane.doe@example.com, card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, ticket TCK-123456.';
const KEY_BLOCK = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----';

async function ask(world: World, sa: string, content: string, stream: boolean, path = '/v1/messages') {
  const token = await world.saToken(sa);
  return fetch(`${world.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'accept-encoding': 'gzip, br, zstd' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream, messages: [{ role: 'user', content }] }),
  });
}

function sseText(raw: string): { text: string; events: string[] } {
  const events = new SseParser().push(Buffer.from(raw));
  let text = '';
  for (const e of events) {
    if (e.event !== 'content_block_delta') continue;
    const d = JSON.parse(e.data!) as { delta: { type: string; text?: string } };
    if (d.delta.type === 'text_delta') text += d.delta.text;
  }
  return { text, events: events.map((e) => e.event ?? '') };
}

describe.each([undefined, 'gzip', 'br', 'zstd'] as const)('upstream encoding %s', (encoding) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ stub: encoding ? { forceEncoding: encoding } : {} });
  });
  afterAll(() => world.close());

  test('JSON: masked, valid, content-length right', async () => {
    const res = await ask(world, 'support-bot', SECRET, false);
    expect(res.status).toBe(200);
    const raw = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(Number(res.headers.get('content-length'))).toBe(raw.length);
    const msg = JSON.parse(raw.toString()) as { content: { text: string }[] };
    expect(msg.content[0]!.text).toBe('Mail [MASKED:email], card [MASKED:credit-card], IBAN [MASKED:iban], ticket [MASKED:ticket-id].');
  });

  test('SSE: masked event by event, valid SSE', async () => {
    const res = await ask(world, 'support-bot', SECRET, true);
    expect(res.status).toBe(200);
    const { text, events } = sseText(await res.text());
    expect(text).toBe('Mail [MASKED:email], card [MASKED:credit-card], IBAN [MASKED:iban], ticket [MASKED:ticket-id].');
    expect(events[0]).toBe('message_start');
    expect(events[events.length - 1]).toBe('message_stop');
  });
});

describe('block, audit and metrics', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.close());

  test('a private key in a JSON response ends it with a permission_error naming the category, not the data', async () => {
    const res = await ask(world, 'support-bot', `here: ${KEY_BLOCK}`, false);
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(JSON.parse(body).error.type).toBe('permission_error');
    expect(body).toContain('private-key');
    expect(body).not.toContain('MIIEvQ');
  });

  test('a private key in a stream ends it with an error event', async () => {
    const res = await ask(world, 'support-bot', `here: ${KEY_BLOCK}`, true);
    expect(res.status).toBe(200);
    const raw = await res.text();
    expect(raw).not.toContain('MIIEvQ');
    const { events } = sseText(raw);
    expect(events[events.length - 1]).toBe('error');
    expect(events).not.toContain('message_stop');
  });

  test('masked counts reach the audit record and scopekeeper_masked_total', async () => {
    await (await ask(world, 'support-bot', SECRET, true)).text();
    await world.sidecar.stop();
    const records = (await readFile(world.auditFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const blocked = records.filter((r) => r.blocked === 'private-key');
    expect(blocked).toHaveLength(2);
    const masked = records[records.length - 1];
    expect(masked.masked).toEqual({ email: 1, 'credit-card': 1, iban: 1, 'ticket-id': 1 });
    await world.restart();
    await (await ask(world, 'support-bot', SECRET, false)).text();
    const metrics = await (await fetch(`${world.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/scopekeeper_masked_total\{category="email"\} 1/);
    expect(metrics).toMatch(
      /scopekeeper_requests_total\{decision="allow",reason="Allowed",model="claude-sonnet-4-5",scope="support-agent"\} 1/,
    );
    expect(metrics).toMatch(/scopekeeper_tokens_total\{model="claude-sonnet-4-5",type="output"\} \d+/);
    expect(metrics).toMatch(/scopekeeper_audit_events_total \d+/);
  });
});

describe('/services with maskFields', () => {
  let world: World;
  let crm: Server;
  const seen: { url: string; headers: Record<string, unknown> }[] = [];
  beforeAll(async () => {
    crm = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.url?.includes('/headers')) {
        const mail = 'ann@example.com';
        res.writeHead(200, {
          'content-type': `application/json; profile="${mail}"`,
          etag: `"${mail}"`,
          'last-modified': mail,
          vary: `Accept, ${mail}`,
          'cache-control': `private, note=${mail}`,
          date: 'Tue, 01 Dec 2026 21:00:00 GMT',
        });
        return void res.end('{"ok":1.0}');
      }
      if (req.url?.includes('/plain-headers')) {
        res.writeHead(200, {
          'content-type': 'Application/JSON; charset=utf-8',
          etag: '"v1-abc"',
          vary: 'Accept',
          'cache-control': 'no-store',
        });
        return void res.end('{"ok":1.0}');
      }
      const body = JSON.stringify({
        customers: [
          { id: 1, name: 'Ann', ssn: '078-05-1120', email: 'ann@example.com' },
          { id: 2, name: 'Bo', ssn: '219-09-9999', note: 'call +1 415 555 0100' },
        ],
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((r) => crm.listen(0, '127.0.0.1', r));
    world = await startWorld();
    const url = `http://127.0.0.1:${(crm.address() as AddressInfo).port}`;
    await addScope(
      world,
      'crm-reader',
      'crm-bot',
      `  models: ["claude-haiku-*"]\n  data: {mask: [email, phone]}\n  endpoints:\n    - {name: crm, url: "${url}/api", methods: [GET], paths: ["/customers/**"], maskFields: ["$.customers[*].ssn"]}`,
    );
    const token = await world.saToken('crm-bot');
    await waitForPolicy(
      world,
      async () => (await fetch(`${world.url}/services/crm/customers`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
    );
  });
  afterAll(async () => {
    await world.close();
    crm.close();
  });

  test('fields masked by JSONPath, detectors on the rest, credentials stripped, base path kept', async () => {
    const token = await world.saToken('crm-bot');
    const res = await fetch(`${world.url}/services/crm/customers/1?expand=true`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { customers: Record<string, unknown>[] };
    expect(body.customers[0]).toEqual({ id: 1, name: 'Ann', ssn: '[MASKED:field]', email: '[MASKED:email]' });
    expect(body.customers[1]).toEqual({ id: 2, name: 'Bo', ssn: '[MASKED:field]', note: 'call [MASKED:phone]' });
    const last = seen[seen.length - 1]!;
    expect(last.url).toBe('/api/customers/1?expand=true');
    expect(last.headers.authorization).toBeUndefined();
    expect(JSON.stringify(last.headers)).not.toContain(token);
  });

  test('etag, last-modified, vary, cache-control and content-type parameters are masked, the media type kept (before: passed in clear)', async () => {
    const token = await world.saToken('crm-bot');
    const res = await fetch(`${world.url}/services/crm/customers/headers`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"ok":1.0}');
    expect({
      'content-type': res.headers.get('content-type'),
      etag: res.headers.get('etag'),
      'last-modified': res.headers.get('last-modified'),
      vary: res.headers.get('vary'),
      'cache-control': res.headers.get('cache-control'),
    }).toEqual({
      'content-type': 'application/json; profile="[MASKED:email]"',
      etag: '"[MASKED:email]"',
      'last-modified': '[MASKED:email]',
      vary: 'Accept, [MASKED:email]',
      'cache-control': 'private, note=[MASKED:email]',
    });
    expect(res.headers.get('date')).toBe('Tue, 01 Dec 2026 21:00:00 GMT');
  });

  test('headers with nothing to mask go as they came', async () => {
    const token = await world.saToken('crm-bot');
    const res = await fetch(`${world.url}/services/crm/customers/plain-headers`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect([res.headers.get('content-type'), res.headers.get('etag'), res.headers.get('vary'), res.headers.get('cache-control')]).toEqual([
      'Application/JSON; charset=utf-8',
      '"v1-abc"',
      'Accept',
      'no-store',
    ]);
  });

  test('a method outside the endpoint rule is refused', async () => {
    const token = await world.saToken('crm-bot');
    const check = expectRefusal(world.auditFile, world.stub!, {
      get total() {
        return seen.length;
      },
    });
    const res = await fetch(`${world.url}/services/crm/customers/1`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    await check.refused(res);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('DELETE is not in [GET]');
  });
});

test('policy edits: a bad file keeps the last good set and names the file and field', async () => {
  const world = await startWorld();
  try {
    await writeFile(
      join(world.policyDir, 'zz-broken.yaml'),
      'apiVersion: scopekeeper.dev/v1alpha1\nkind: AccessReview\nmetadata: {name: x}\nspec: {scopeRef: {name: support-agent}, type: Periodic, decision: Aproved}\n',
    );
    const ready = async () =>
      ((await (await fetch(`${world.adminUrl}/readyz`)).json()) as { policy: { lastError?: string } }).policy.lastError;
    await waitForPolicy(world, async () => (await ready()) !== undefined);
    expect(await ready()).toMatch(
      /zz-broken\.yaml#1: AccessReview x: spec\.decision: Unsupported value; use one of: Pending, Approved, Revoked\./,
    );
    expect((await ask(world, 'support-bot', 'still allowed', false)).status).toBe(200);
  } finally {
    await world.close();
  }
});
