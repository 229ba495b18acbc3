// endpoints[].auth.serviceAccountToken (issue 15): the sidecar sends the token projected for the
// endpoint's audience as Authorization: Bearer on every request it forwards there (plain HTTP and
// MCP), never the caller's credential, re-reads it when the kubelet rotates it, and forwards
// nothing to an endpoint whose token it does not hold. The token reaches no audit record.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, type World } from '../src/testing/world.ts';
import { addScope, waitForPolicy } from './helpers.ts';
import { until } from '@scopekeeper/kube/testing/until';
import { expectRefusal, requestCounter } from './refusal.ts';

let world: World;
let svc: Server;
let dir: string;
let tokenFile: string;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const counter = requestCounter();
const TOKEN_1 = 'eyJhbGciOiJSUzI1NiJ9.crm-token-1.sig';
const TOKEN_2 = 'eyJhbGciOiJSUzI1NiJ9.crm-token-2.sig';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sk-endpoint-auth-'));
  tokenFile = join(dir, 'token-0');
  writeFileSync(tokenFile, `${TOKEN_1}\n`);
  svc = createServer((req, res) => {
    counter.hit();
    seen.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      const body = req.url?.startsWith('/mcp')
        ? JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'crm', version: '1' } },
          })
        : '{"ok":true}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  await new Promise<void>((r) => svc.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(svc.address() as AddressInfo).port}`;
  world = await startWorld({ flags: { endpointToken: [`crm.team-a=${tokenFile}`] } });
  await addScope(
    world,
    'svc-auth',
    'auth-bot',
    `  models: ["claude-haiku-*"]
  endpoints:
    - {name: crm, url: "${url}", methods: [GET], paths: ["/customers/**"], auth: {serviceAccountToken: {audience: crm.team-a}}}
    - {name: billing, url: "${url}", methods: [GET], paths: ["/invoices/**"], auth: {serviceAccountToken: {audience: billing.team-a}}}
    - {name: open, url: "${url}", methods: [GET], paths: ["/public/**"]}
    - {name: crm-mcp, url: "${url}/mcp", protocol: mcp, auth: {serviceAccountToken: {audience: crm.team-a}}}
    - {name: billing-mcp, url: "${url}/mcp", protocol: mcp, auth: {serviceAccountToken: {audience: billing.team-a}}}`,
  );
  const token = await world.saToken('auth-bot');
  await waitForPolicy(
    world,
    async () => (await fetch(`${world.url}/services/open/public/x`, { headers: { authorization: `Bearer ${token}` } })).status === 200,
  );
});
afterAll(async () => {
  await world.close();
  svc.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string) =>
  fetch(`${world.url}/services/${path}`, { headers: { authorization: `Bearer ${await world.saToken('auth-bot')}` } });
const initialize = async (endpoint: string) =>
  fetch(`${world.url}/services/${endpoint}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await world.saToken('auth-bot')}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });

test("the endpoint gets the sidecar's token for its audience, never the caller's", async () => {
  const caller = await world.saToken('auth-bot');
  const res = await fetch(`${world.url}/services/crm/customers/1`, { headers: { authorization: `Bearer ${caller}` } });
  expect(res.status).toBe(200);
  const h = seen[seen.length - 1]!.headers;
  expect(h.authorization).toBe(`Bearer ${TOKEN_1}`);
  expect(JSON.stringify(h)).not.toContain(caller);
});

test('an endpoint without auth gets no Authorization at all', async () => {
  expect((await get('open/public/x')).status).toBe(200);
  expect(seen[seen.length - 1]!.headers.authorization).toBeUndefined();
});

test('a rotated token file is picked up', async () => {
  writeFileSync(tokenFile, TOKEN_2);
  await until(
    'the rotated token to be sent',
    async () => {
      await (await get('crm/customers/2')).arrayBuffer();
      return seen[seen.length - 1]!.headers.authorization === `Bearer ${TOKEN_2}`;
    },
    10_000,
    50,
  );
});

test('no token for the audience: 503 that says what to do, and the service receives nothing', async () => {
  const check = expectRefusal(world.auditFile, counter);
  const res = await get('billing/invoices/1');
  const body = (await res.json()) as { error: { type: string; message: string } };
  expect(res.status).toBe(503);
  expect(body.error.type).toBe('api_error');
  expect(body.error.message).toBe(
    'scopekeeper did not send this request: endpoint billing requires a service-account token for audience "billing.team-a", but this sidecar was started without one ' +
      '(no --endpoint-token for it): the pod was created before the ModelScope asked for it, or pins another scope. Re-create the pod so the webhook projects the token.',
  );
  const record = await check.refused(res);
  expect(record).toMatchObject({ decision: 'error', reasons: ['EndpointCredentialUnavailable'], status: 503 });
});

test('MCP endpoints carry the token too, and refuse without it', async () => {
  const res = await initialize('crm-mcp');
  await res.arrayBuffer();
  const mcp = seen.filter((s) => s.url.startsWith('/mcp'));
  expect(mcp.length).toBeGreaterThan(0);
  expect(mcp[mcp.length - 1]!.headers.authorization).toBe(`Bearer ${TOKEN_2}`);

  const check = expectRefusal(world.auditFile, counter);
  const denied = await initialize('billing-mcp');
  expect(denied.status).toBe(503);
  expect(((await denied.json()) as { error: { message: string } }).error.message).toContain(
    'endpoint billing-mcp requires a service-account token for audience "billing.team-a"',
  );
  await check.refused(denied);
});

test('no token reaches the audit log', async () => {
  const audit = readFileSync(world.auditFile, 'utf8');
  for (const t of [TOKEN_1, TOKEN_2]) expect(audit).not.toContain(t);
});
