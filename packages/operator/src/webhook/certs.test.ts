import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DAY_MS,
  certExpiry,
  covers,
  ensureCerts,
  generateCA,
  issueServingCert,
  keyMatches,
  needsRotation,
  patchCaBundle,
  secretCertStore,
  serviceDnsNames,
  signedBy,
  splitPem,
  type SecretApi,
  type WebhookConfigApi,
} from './certs.ts';

const NOW = Date.parse('2026-11-01T00:00:00Z');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sk-certs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('generating', () => {
  test('a CA and a serving certificate that Node (and so Go) accepts', async () => {
    const ca = await generateCA({ now: NOW });
    const caCert = new X509Certificate(ca.certPem);
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toContain('CN=scopekeeper-webhook-ca');
    expect(Date.parse(caCert.validTo) - NOW).toBeGreaterThan(3649 * DAY_MS);
    expect(keyMatches(ca)).toBe(true);

    const serving = await issueServingCert(ca, {
      dnsNames: serviceDnsNames('scopekeeper', 'scopekeeper-system'),
      ipAddresses: ['127.0.0.1'],
      now: NOW,
    });
    const c = new X509Certificate(serving.certPem);
    expect(c.ca).toBe(false);
    expect(c.checkHost('scopekeeper.scopekeeper-system.svc')).toBe('scopekeeper.scopekeeper-system.svc');
    expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(c.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
    expect(c.publicKey.asymmetricKeyType).toBe('ec');
    expect(signedBy(serving.certPem, ca.certPem)).toBe(true);
    expect(keyMatches(serving)).toBe(true);
    expect(covers(serving.certPem, ['scopekeeper.scopekeeper-system.svc.cluster.local'], ['127.0.0.1'])).toBe(true);
    expect(covers(serving.certPem, ['other.svc'])).toBe(false);
    expect(Math.round((certExpiry(serving.certPem)! - NOW) / DAY_MS)).toBe(365);
  });

  test('a certificate from another CA, or another key, is told apart', async () => {
    const [a, b] = await Promise.all([generateCA(), generateCA()]);
    const s = await issueServingCert(a, { dnsNames: ['x'] });
    expect(signedBy(s.certPem, b.certPem)).toBe(false);
    expect(keyMatches({ certPem: s.certPem, keyPem: a.keyPem })).toBe(false);
  });
});

describe('needsRotation', () => {
  test('less than 30 days left, not yet valid, or unreadable', async () => {
    const ca = await generateCA({ now: NOW });
    const s = await issueServingCert(ca, { dnsNames: ['x'], now: NOW, validityDays: 90 });
    expect(needsRotation(s.certPem, NOW)).toBe(false);
    expect(needsRotation(s.certPem, NOW + 59 * DAY_MS)).toBe(false);
    expect(needsRotation(s.certPem, NOW + 61 * DAY_MS)).toBe(true);
    expect(needsRotation(s.certPem, NOW - 2 * DAY_MS)).toBe(true);
    expect(needsRotation('not a certificate', NOW)).toBe(true);
    expect(needsRotation(s.certPem, NOW + 80 * DAY_MS, 5 * DAY_MS)).toBe(false);
  });
});

describe('ensureCerts', () => {
  const opts = { serviceName: 'scopekeeper', namespace: 'sk' };

  test('creates, then leaves alone, then renews the serving certificate under the same CA', async () => {
    const first = await ensureCerts({ ...opts, dir, now: NOW });
    expect(first.changed).toBe(true);
    expect(first.reasons).toEqual(['no certificates yet', 'no serving certificate']);
    expect(statSync(join(dir, 'tls.key')).mode & 0o777).toBe(0o600);

    const second = await ensureCerts({ ...opts, dir, now: NOW + DAY_MS });
    expect(second).toMatchObject({ changed: false, reasons: [] });
    expect(second.certs).toEqual(first.certs);

    const later = await ensureCerts({ ...opts, dir, now: NOW + 340 * DAY_MS });
    expect(later.changed).toBe(true);
    expect(later.reasons[0]).toMatch(/^the serving certificate expires 2027-11-01/);
    expect(later.certs.ca).toEqual(first.certs.ca);
    expect(later.certs.caBundle).toBe(first.certs.caBundle);
    expect(later.certs.serving.certPem).not.toBe(first.certs.serving.certPem);
    expect(signedBy(later.certs.serving.certPem, first.certs.ca.certPem)).toBe(true);
  });

  test('a CA near its end is replaced, and the old one stays in the bundle', async () => {
    const first = await ensureCerts({ ...opts, dir, now: NOW });
    const t = NOW + 3400 * DAY_MS;
    const next = await ensureCerts({ ...opts, dir, now: t });
    expect(next.reasons[0]).toMatch(/^the CA expires/);
    const bundle = splitPem(next.certs.caBundle);
    expect(bundle).toHaveLength(2);
    expect(bundle[0]!.trim()).toBe(next.certs.ca.certPem.trim());
    expect(bundle[1]!.trim()).toBe(first.certs.ca.certPem.trim());
    expect(signedBy(next.certs.serving.certPem, next.certs.ca.certPem)).toBe(true);
    // Once the old CA has expired it leaves the bundle.
    const after = await ensureCerts({ ...opts, dir, now: NOW + 3660 * DAY_MS });
    expect(splitPem(after.certs.caBundle)).toHaveLength(1);
  });

  test('a new service name or address, or a broken key, means a new serving certificate', async () => {
    await ensureCerts({ ...opts, dir, now: NOW });
    const renamed = await ensureCerts({ ...opts, ipAddresses: ['127.0.0.1'], dir, now: NOW });
    expect(renamed.reasons).toEqual(['the serving certificate lacks a name']);
    writeFileSync(join(dir, 'tls.key'), (await generateCA()).keyPem);
    const fixed = await ensureCerts({ ...opts, ipAddresses: ['127.0.0.1'], dir, now: NOW });
    expect(fixed.reasons).toEqual(['the serving key does not match its certificate']);
    writeFileSync(join(dir, 'ca.key'), (await generateCA()).keyPem);
    const newCa = await ensureCerts({ ...opts, ipAddresses: ['127.0.0.1'], dir, now: NOW });
    expect(newCa.reasons).toEqual(['the stored CA is unusable', 'the serving certificate is not signed by the current CA']);
  });

  test('in a Secret: created when missing, replaced with the resourceVersion read', async () => {
    const calls: string[] = [];
    let stored: { metadata: { resourceVersion: string }; data: Record<string, string> } | undefined;
    const api: SecretApi = {
      async readNamespacedSecret({ name, namespace }) {
        calls.push(`read ${namespace}/${name}`);
        if (!stored) throw Object.assign(new Error('not found'), { code: 404 });
        return stored;
      },
      async createNamespacedSecret({ namespace, body }) {
        calls.push(`create ${namespace}/${body.metadata.name} rv=${body.metadata.resourceVersion ?? '-'}`);
        stored = { metadata: { resourceVersion: '1' }, data: body.data };
        return stored;
      },
      async replaceNamespacedSecret({ name, body }) {
        calls.push(`replace ${name} rv=${body.metadata.resourceVersion}`);
        stored = { metadata: { resourceVersion: String(Number(body.metadata.resourceVersion) + 1) }, data: body.data };
        return stored;
      },
    };
    const store = secretCertStore(api, 'sk', 'scopekeeper-webhook-cert');
    const a = await ensureCerts({ ...opts, store, now: NOW });
    expect(Object.keys(stored!.data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(Buffer.from(stored!.data['tls.crt']!, 'base64').toString()).toBe(a.certs.serving.certPem);
    expect((await ensureCerts({ ...opts, store, now: NOW })).changed).toBe(false);
    await ensureCerts({ ...opts, store, now: NOW + 340 * DAY_MS });
    expect(calls).toEqual([
      'read sk/scopekeeper-webhook-cert',
      'create sk/scopekeeper-webhook-cert rv=-',
      'read sk/scopekeeper-webhook-cert',
      'read sk/scopekeeper-webhook-cert',
      'replace scopekeeper-webhook-cert rv=1',
    ]);
  });

  test("the chart's empty Secret is filled in place", async () => {
    const replaced: string[] = [];
    const api: SecretApi = {
      readNamespacedSecret: async () => ({ metadata: { resourceVersion: '7' } }),
      createNamespacedSecret: async () => {
        throw new Error('must not create');
      },
      replaceNamespacedSecret: async ({ body }) => void replaced.push(body.metadata.resourceVersion!),
    };
    await ensureCerts({ ...opts, store: secretCertStore(api, 'sk', 'c'), now: NOW });
    expect(replaced).toEqual(['7']);
  });
});

describe('patchCaBundle', () => {
  function fakeApi(webhooks: { name: string; caBundle?: string }[], missing = false) {
    const patches: { kind: string; body: unknown; contentType?: string }[] = [];
    const read = async () => {
      if (missing) throw Object.assign(new Error('nf'), { code: 404 });
      return {
        metadata: { resourceVersion: '42' },
        webhooks: webhooks.map((w) => ({ name: w.name, clientConfig: { ...(w.caBundle ? { caBundle: w.caBundle } : {}) } })),
      };
    };
    // (the options carry client-node's Content-Type middleware; the e2e shows the API server takes the patch)
    const patch = (kind: string) => async (p: { body: unknown }, options?: unknown) => {
      patches.push({ kind, body: p.body, contentType: options ? 'json-patch' : undefined });
      return {};
    };
    const api = {
      readMutatingWebhookConfiguration: read,
      readValidatingWebhookConfiguration: read,
      patchMutatingWebhookConfiguration: patch('mutating'),
      patchValidatingWebhookConfiguration: patch('validating'),
    } as unknown as WebhookConfigApi;
    return { api, patches };
  }

  test('a JSON patch guarded by the resourceVersion, only for the webhooks whose bundle differs', async () => {
    const pem = (await generateCA()).certPem;
    const b64 = Buffer.from(pem).toString('base64');
    const { api, patches } = fakeApi([
      { name: 'a.scopekeeper.dev' },
      { name: 'b.scopekeeper.dev', caBundle: b64 },
      { name: 'c.scopekeeper.dev', caBundle: 'b2xk' },
    ]);
    const r = await patchCaBundle(api, pem);
    expect(r).toEqual({ mutating: ['a.scopekeeper.dev', 'c.scopekeeper.dev'], validating: ['a.scopekeeper.dev', 'c.scopekeeper.dev'] });
    expect(patches[0]).toEqual({
      kind: 'mutating',
      contentType: 'json-patch',
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: '42' },
        { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: b64 },
        { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: b64 },
      ],
    });
  });

  test('nothing to do when every bundle is current; a missing configuration is named', async () => {
    const pem = (await generateCA()).certPem;
    const { api, patches } = fakeApi([{ name: 'a', caBundle: Buffer.from(pem).toString('base64') }]);
    expect(await patchCaBundle(api, pem)).toEqual({ mutating: [], validating: [] });
    expect(patches).toEqual([]);
    await expect(patchCaBundle(fakeApi([], true).api, pem)).rejects.toThrow(
      'MutatingWebhookConfiguration scopekeeper does not exist: install the scopekeeper chart',
    );
  });
});
