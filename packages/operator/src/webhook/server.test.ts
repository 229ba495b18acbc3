import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import type { ModelScope } from '@scopekeeper/core';
import type { AdmissionRequest, AdmissionReview } from './admission.ts';
import { generateCA, issueServingCert, type CertPair } from './certs.ts';
import { createWebhookServer, type WebhookDeps, type WebhookServer } from './server.ts';

interface Reply {
  status: number;
  body: string;
  serial?: string;
}

function call(url: string, ca: string, path: string, body?: unknown, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, ca, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), serial }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const review = (request: Partial<AdmissionRequest>): AdmissionReview => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'a1b2',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'team-a',
    operation: 'CREATE',
    userInfo: { username: 'dave@example.com', groups: ['support-engineers'] },
    ...request,
  },
});

const pod = (annotations: Record<string, string>) => ({
  metadata: { name: 'agent', namespace: 'team-a', annotations },
  spec: { containers: [{ name: 'app', image: 'agent:1' }] },
});

const scope: ModelScope = {
  metadata: { name: 's', namespace: 'team-a' },
  spec: { subjects: [{ kind: 'User', name: 'x' }], models: ['*'], review: { reviewers: [{ kind: 'Group', name: 'security-leads' }] } },
};

let ca: CertPair;
let serving: CertPair;
let server: WebhookServer;
let url: string;
const registry = new Registry();
const deps: WebhookDeps = {
  injection: { image: 'scopekeeper:1', issuers: ['https://issuer'], upstreamKeySecret: 'anthropic-key' },
  serverVersion: () => 'v1.37.2',
  getScope: (_ns, name) => {
    if (name === 'boom') throw new Error('informer cache not synced');
    return name === 's' ? scope : undefined;
  },
  getNamespace: (name) => ({
    metadata: { name, labels: name === 'locked' ? { 'scopekeeper.dev/enforce': 'true' } : ({} as Record<string, string>) },
  }),
  now: () => Date.parse('2026-11-01T10:00:00Z'),
};

beforeAll(async () => {
  ca = await generateCA();
  serving = await issueServingCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  server = createWebhookServer({
    port: 0,
    host: '127.0.0.1',
    tls: { cert: serving.certPem, key: serving.keyPem },
    deps,
    metrics: { registry },
  });
  url = await server.listen();
});
afterAll(() => server.close());

const parse = (r: Reply) => JSON.parse(r.body) as AdmissionReview;

describe('AdmissionReview v1 over HTTPS', () => {
  test('/mutate-pod: the uid is echoed and the patch comes as base64 JSONPatch', async () => {
    const r = await call(url, ca.certPem, '/mutate-pod', review({ object: pod({ 'scopekeeper.dev/inject': 'true' }) }));
    expect(r.status).toBe(200);
    const out = parse(r);
    expect(out).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'a1b2', allowed: true, patchType: 'JSONPatch' },
    });
    const ops = JSON.parse(Buffer.from(out.response!.patch!, 'base64').toString()) as { op: string; path: string }[];
    expect(ops).toContainEqual(expect.objectContaining({ op: 'add', path: '/spec/initContainers' }));
  });

  test('/mutate-pod: a refusal is a 403 with the message; a pod without opt-in gets no patch', async () => {
    const refused = parse(await call(url, ca.certPem, '/mutate-pod', review({ object: pod({ 'scopekeeper.dev/inject': 'yes' }) })));
    expect(refused.response).toEqual({
      uid: 'a1b2',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: expect.stringContaining('must be "true" or "false" (got "yes")') },
    });
    const skipped = parse(await call(url, ca.certPem, '/mutate-pod', review({ object: pod({}) })));
    expect(skipped.response).toEqual({ uid: 'a1b2', allowed: true });
  });

  test('scopekeeper_injections_total counts by result; dry runs are not counted', async () => {
    const before = (await server.injections.get()).values.find((v) => v.labels.result === 'injected')!.value;
    await call(url, ca.certPem, '/mutate-pod', review({ object: pod({ 'scopekeeper.dev/inject': 'true' }), dryRun: true }));
    await call(url, ca.certPem, '/mutate-pod', review({ object: pod({ 'scopekeeper.dev/inject': 'true' }) }));
    const after = (await server.injections.get()).values;
    expect(after.find((v) => v.labels.result === 'injected')!.value).toBe(before + 1);
    expect(after.find((v) => v.labels.result === 'refused')!.value).toBeGreaterThanOrEqual(1);
    expect(await registry.metrics()).toMatch(/scopekeeper_injections_total\{result="skipped"\} \d+/);
    expect(await registry.metrics()).toContain('scopekeeper_webhook_duration_seconds_bucket');
  });

  test('/mutate-accessreview and /validate-accessreview', async () => {
    const ar = {
      metadata: { name: 'r', namespace: 'team-a' },
      spec: { scopeRef: { name: 's' }, type: 'Periodic', decision: 'Approved', expiresAt: '2027-01-01T00:00:00Z', justification: 'x' },
    };
    const base = {
      kind: { group: 'scopekeeper.dev', version: 'v1alpha1', kind: 'AccessReview' },
      resource: { group: 'scopekeeper.dev', version: 'v1alpha1', resource: 'accessreviews' },
    };
    const m = parse(
      await call(
        url,
        ca.certPem,
        '/mutate-accessreview',
        review({ ...base, userInfo: { username: 'carol@example.com', groups: ['security-leads'] }, object: ar }),
      ),
    );
    expect(JSON.parse(Buffer.from(m.response!.patch!, 'base64').toString())).toEqual([
      { op: 'add', path: '/spec/requestedBy', value: 'carol@example.com' },
      { op: 'add', path: '/spec/reviewer', value: 'carol@example.com' },
      { op: 'add', path: '/spec/reviewedAt', value: '2026-11-01T10:00:00Z' },
    ]);
    // Decided as an UPDATE of alice's Pending review (a review created Approved would be carol's own request).
    const pending = {
      ...ar,
      spec: { scopeRef: ar.spec.scopeRef, type: 'Periodic', decision: 'Pending', requestedBy: 'alice@example.com' },
    };
    const decided = { ...ar, spec: { ...ar.spec, requestedBy: 'alice@example.com', reviewer: 'carol@example.com' } };
    const ok = parse(
      await call(
        url,
        ca.certPem,
        '/validate-accessreview',
        review({
          ...base,
          operation: 'UPDATE',
          userInfo: { username: 'carol@example.com', groups: ['security-leads'] },
          object: decided,
          oldObject: pending,
        }),
      ),
    );
    expect(ok.response).toEqual({ uid: 'a1b2', allowed: true });
    const no = parse(
      await call(
        url,
        ca.certPem,
        '/validate-accessreview',
        review({
          ...base,
          operation: 'UPDATE',
          userInfo: { username: 'mallory@example.com' },
          object: { ...decided, spec: { ...decided.spec, reviewer: 'mallory@example.com' } },
          oldObject: pending,
        }),
      ),
    );
    expect(no.response!.status!.message).toMatch(/^User mallory@example.com may not approve AccessReview team-a\/r/);
  });

  test('/validate-pod refuses an uninjected pod in an enforced namespace', async () => {
    const r = parse(await call(url, ca.certPem, '/validate-pod', review({ namespace: 'locked', object: pod({}) })));
    expect(r.response).toMatchObject({
      allowed: false,
      status: { code: 403, message: expect.stringContaining('namespace locked is labelled scopekeeper.dev/enforce=true') },
    });
  });

  test('a handler that fails answers 500, so the failurePolicy decides', async () => {
    const ar = {
      metadata: { name: 'r', namespace: 'team-a' },
      spec: {
        scopeRef: { name: 'boom' },
        type: 'Periodic',
        decision: 'Approved',
        reviewer: 'carol@example.com',
        requestedBy: 'carol@example.com',
      },
    };
    const r = await call(
      url,
      ca.certPem,
      '/validate-accessreview',
      review({
        kind: { group: 'scopekeeper.dev', version: 'v1alpha1', kind: 'AccessReview' },
        userInfo: { username: 'carol@example.com' },
        object: ar,
      }),
    );
    expect(r).toMatchObject({ status: 500, body: 'informer cache not synced\n' });
  });

  test('bad requests, other paths and methods, /healthz', async () => {
    expect(await call(url, ca.certPem, '/mutate-pod', '{not json')).toMatchObject({
      status: 400,
      body: expect.stringContaining('not JSON'),
    });
    expect(await call(url, ca.certPem, '/mutate-pod', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' })).toMatchObject({
      status: 400,
      body: expect.stringContaining('admissionReviewVersions: ["v1"]'),
    });
    expect((await call(url, ca.certPem, '/mutate-pod', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' })).status).toBe(400);
    expect((await call(url, ca.certPem, '/nope', {})).status).toBe(404);
    expect((await call(url, ca.certPem, '/mutate-pod', undefined, 'GET')).status).toBe(405);
    expect(await call(url, ca.certPem, '/healthz', undefined, 'GET')).toMatchObject({ status: 200, body: 'ok\n' });
  });
});

describe('certificate files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sk-webhook-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('no files yet: no handshake; files appear and are picked up; a renewed pair replaces them; a mismatched pair does not', async () => {
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    const s = createWebhookServer({ port: 0, host: '127.0.0.1', tls: { certFile, keyFile, reloadIntervalMs: 60_000 }, deps });
    const u = await s.listen();
    try {
      expect(s.hasCertificate()).toBe(false);
      await expect(call(u, ca.certPem, '/healthz', undefined, 'GET')).rejects.toThrow();

      const first = await issueServingCert(ca, { dnsNames: ['x'], ipAddresses: ['127.0.0.1'] });
      writeFileSync(certFile, first.certPem);
      writeFileSync(keyFile, first.keyPem);
      expect(await s.reloadCertificate()).toBe(true);
      expect(await s.reloadCertificate()).toBe(false); // unchanged
      const a = await call(u, ca.certPem, '/healthz', undefined, 'GET');
      expect(a.status).toBe(200);

      const second = await issueServingCert(ca, { dnsNames: ['x'], ipAddresses: ['127.0.0.1'] });
      writeFileSync(certFile, second.certPem); // the key is not there yet: keep serving the first
      expect(await s.reloadCertificate()).toBe(false);
      expect((await call(u, ca.certPem, '/healthz', undefined, 'GET')).serial).toBe(a.serial);
      writeFileSync(keyFile, second.keyPem);
      expect(await s.reloadCertificate()).toBe(true);
      const b = await call(u, ca.certPem, '/healthz', undefined, 'GET');
      expect(b.status).toBe(200);
      expect(b.serial).not.toBe(a.serial);
    } finally {
      await s.close();
    }
  });

  test('setCertificate swaps the certificate in memory and refuses a mismatched pair', async () => {
    const s = createWebhookServer({ port: 0, host: '127.0.0.1', tls: { cert: serving.certPem, key: serving.keyPem }, deps });
    const u = await s.listen();
    try {
      const before = await call(u, ca.certPem, '/healthz', undefined, 'GET');
      const next = await issueServingCert(ca, { dnsNames: ['x'], ipAddresses: ['127.0.0.1'] });
      expect(() => s.setCertificate({ cert: next.certPem, key: serving.keyPem })).toThrow();
      s.setCertificate({ cert: next.certPem, key: next.keyPem });
      const after = await call(u, ca.certPem, '/healthz', undefined, 'GET');
      expect(after.serial).not.toBe(before.serial);
    } finally {
      await s.close();
    }
  });
});

describe('what any pod can send the webhook port is bounded', () => {
  let small: WebhookServer;
  let smallUrl: string;
  beforeAll(async () => {
    small = createWebhookServer({
      port: 0,
      host: '127.0.0.1',
      tls: { cert: serving.certPem, key: serving.keyPem },
      deps,
      maxBodyBytes: 900_000,
      maxBufferedBytes: 1_000_000,
      maxConnections: 4,
      handshakeTimeoutMs: 300,
    });
    smallUrl = await small.listen();
  });
  afterAll(() => small.close());

  /**
   * Calls `attempt` until `done` holds for what it returns, in place of a fixed sleep for the server
   * to have read or closed something; fails after 15 s naming `what` and the last result.
   */
  async function eventually<T>(what: string, attempt: () => Promise<T>, done: (r: T) => boolean): Promise<T> {
    for (const deadline = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 50))) {
      const r = await attempt();
      if (done(r)) return r;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(r).slice(0, 200)}`);
    }
  }
  const healthz = () =>
    call(smallUrl, ca.certPem, '/healthz', undefined, 'GET').then(
      (r) => r.status,
      () => 0,
    );

  /** A review of about `bytes` bytes (one long annotation). */
  const sized = (bytes: number) => review({ object: pod({ note: 'x'.repeat(bytes) }) });
  const held = (bytes: number, sent: number): Promise<TLSSocket> =>
    new Promise((resolve) => {
      const { hostname, port } = new URL(smallUrl);
      const s = connect({ host: hostname, port: Number(port), ca: ca.certPem }, () => {
        s.write(`POST /mutate-pod HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n`);
        s.write('x'.repeat(sent));
        resolve(s);
      });
      s.on('error', () => undefined);
    });

  test('an AdmissionReview of more than 250,000 JSON values is refused before it is parsed (400)', async () => {
    const r = await call(url, ca.certPem, '/mutate-pod', `{"apiVersion":"admission.k8s.io/v1","x":[${'{},'.repeat(300_000)}{}]}`);
    expect(r).toMatchObject({ status: 400, body: expect.stringContaining('not read: it holds more than 250,000 JSON values') });
  });

  test('bodies read at once share a budget: past it 503 (the body drained, not kept); served once the other is gone', async () => {
    const slow = await held(800_000, 700_000);
    // (a second body fits until the server has read the first one's 700,000 bytes)
    // An attempt can find its connection reset: this small server (4 connections) closes the one
    // idle longest past 2 established, and a connection whose 503 has gone out while its body is
    // still drained counts as idle. Such an attempt (status -1) is tried again.
    const send = () =>
      call(smallUrl, ca.certPem, '/mutate-pod', sized(500_000)).catch((e: Error) => ({ status: -1, body: e.message, serial: '' }));
    const refused = await eventually('a 503 while the other body is held', send, (r) => r.status !== 200 && r.status !== -1);
    expect(refused).toMatchObject({
      status: 503,
      body: expect.stringMatching(/^the webhook is reading \d+ bytes of AdmissionReviews, at most 1000000; retry/),
    });
    slow.destroy();
    expect((await eventually('a 200 once the other body is gone', send, (r) => r.status === 200)).status).toBe(200);
  });

  test('a connection that does not complete its TLS handshake is closed after the handshake timeout (Node: 120 s)', async () => {
    const { hostname, port } = new URL(smallUrl);
    const raw = createConnection(Number(port), hostname);
    raw.on('error', () => undefined);
    const closed = new Promise<number>((r) => {
      const t0 = Date.now();
      raw.once('close', () => r(Date.now() - t0));
    });
    raw.resume();
    const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
    raw.destroy();
    expect(ms).toBeGreaterThan(0);
  });

  test('connections past maxConnections (handshakes included) are closed as they arrive; the port serves once they go', async () => {
    const { hostname, port } = new URL(smallUrl);
    const raw = [1, 2, 3, 4].map(() => createConnection(Number(port), hostname).on('error', () => undefined));
    expect(await eventually('the port to refuse a fifth connection', healthz, (st) => st === 0)).toBe(0);
    for (const s of raw) s.destroy();
    expect(await eventually('the port to serve again', healthz, (st) => st === 200)).toBe(200);
  });

  test('past half of maxConnections established, the connection idle longest is closed for a new one: held-open ones do not keep callers out', async () => {
    const idle: TLSSocket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await new Promise<TLSSocket>((resolve) => {
        const { hostname, port } = new URL(smallUrl);
        const t = connect({ host: hostname, port: Number(port), ca: ca.certPem }, () => resolve(t));
        t.on('error', () => undefined);
      });
      idle.push(s);
    }
    // Before: both stayed open for the 30 s keep-alive, and a third caller took the third slot of four.
    expect((await call(smallUrl, ca.certPem, '/healthz', undefined, 'GET')).status).toBe(200);
    const closed = () => Promise.resolve(idle.map((s) => s.destroyed || s.readyState === 'closed'));
    expect(await eventually('the idle one to be closed', closed, ([first]) => first === true)).toEqual([true, false]);
    for (const s of idle) s.destroy();
  });
});
