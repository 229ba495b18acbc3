// SAML 2.0 assertions as the caller's credential: what is accepted, and the exact check that
// refuses each attack of the catalogue (saml-attacks.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalSamlIdp, newSamlKey, type SamlKey } from '../src/identity/local-saml-idp.ts';
import { SamlMetadata, parseIdpMetadata } from '../src/identity/saml-metadata.ts';
import { SamlAuthenticationError, SamlVerifier, looksLikeSaml } from '../src/identity/saml-verifier.ts';
import { samlAttacks } from './saml-attacks.ts';

let idp: LocalSamlIdp;
let other: LocalSamlIdp;
let rogue: SamlKey;
let dir: string;
let metadata: SamlMetadata;
let verifier: SamlVerifier;

beforeAll(async () => {
  [idp, other, rogue] = await Promise.all([
    LocalSamlIdp.create(),
    LocalSamlIdp.create({ entityId: 'https://other-idp.example.test' }),
    newSamlKey('rogue'),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'saml-'));
  await idp.writeMetadata(join(dir, 'idp.xml'));
  await other.writeMetadata(join(dir, 'other.xml'));
  metadata = new SamlMetadata({ sources: [join(dir, 'idp.xml'), join(dir, 'other.xml')] });
  await metadata.load();
  verifier = new SamlVerifier({ metadata });
});

afterAll(async () => {
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});

async function refusal(credential: string): Promise<SamlAuthenticationError> {
  const err = await verifier.verify(credential).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SamlAuthenticationError)) throw new Error(`expected a SamlAuthenticationError, got ${String(err)}`);
  return err;
}

describe('accepted', () => {
  test('a signed bare assertion: issuer = entityID, NameID = User, groups attribute = Groups', async () => {
    const credential = idp.issue({ nameId: 'alice@example.com', groups: ['support-engineers', 'everyone'] });
    expect(looksLikeSaml(credential)).toBe(true);
    await expect(verifier.verify(credential)).resolves.toEqual({
      issuer: idp.entityId,
      subject: 'alice@example.com',
      primary: false,
      groups: ['support-engineers', 'everyone'],
    });
  });

  test('a Response holding a signed assertion, with and without its own signature', async () => {
    for (const signResponse of [false, true]) {
      const id = await verifier.verify(idp.issue({ nameId: 'bob', groups: ['g'], response: true, signResponse }));
      expect(id).toEqual({ issuer: idp.entityId, subject: 'bob', primary: false, groups: ['g'] });
    }
  });

  test('RSA-SHA512, a custom groups attribute, and the second IdP', async () => {
    const custom = new SamlVerifier({ metadata, groupsAttribute: 'memberOf' });
    const credential = other.issue({
      nameId: 'carol',
      groups: ['ops'],
      groupsAttribute: 'memberOf',
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
    });
    await expect(custom.verify(credential)).resolves.toEqual({ issuer: other.entityId, subject: 'carol', primary: false, groups: ['ops'] });
    // the default attribute name finds no groups in it
    await expect(verifier.verify(credential)).resolves.toMatchObject({ groups: [] });
  });

  test('IdP spellings: a Signature in the default namespace, ds declared on an ancestor', async () => {
    const b64 = (x: string) => Buffer.from(x).toString('base64');
    const signed = idp.sign(idp.assertionXml({ nameId: 'eve', groups: ['g'] }));
    const own = '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">';
    expect(signed).toContain(own);
    const defaultNs = idp.sign(idp.assertionXml({ nameId: 'eve', groups: ['g'] }), { prefix: '' });
    expect(defaultNs).toContain('<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">');
    const ancestor = idp
      .responseXml(signed.replace(own, '<ds:Signature>'))
      .replace('<samlp:Response ', '<samlp:Response xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ');
    for (const xml of [defaultNs, ancestor])
      await expect(verifier.verify(b64(xml))).resolves.toMatchObject({ subject: 'eve', groups: ['g'] });
  });

  test('a custom audience (--saml-audience)', async () => {
    const sp = new SamlVerifier({ metadata, audience: 'https://sp.example/scopekeeper' });
    const credential = idp.issue({ nameId: 'a', audiences: ['https://sp.example/scopekeeper'] });
    await expect(sp.verify(credential)).resolves.toMatchObject({ subject: 'a' });
    await expect(verifier.verify(credential)).rejects.toMatchObject({ reason: 'audience' });
  });

  test('a verified assertion is cached until it expires, never past it', async () => {
    let now = Date.now();
    const v = new SamlVerifier({ metadata, now: () => now });
    const credential = idp.issue({ nameId: 'cached', ttlSeconds: 120 });
    await expect(v.verify(credential)).resolves.toMatchObject({ subject: 'cached' });
    now += 60_000;
    await expect(v.verify(credential)).resolves.toMatchObject({ subject: 'cached' });
    now += 120_000; // past NotOnOrAfter (+ the 30 s skew)
    await expect(v.verify(credential)).rejects.toMatchObject({ reason: 'expired' });
  });

  test('a JWT does not look like SAML', () => {
    expect(looksLikeSaml('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln')).toBe(false);
    expect(looksLikeSaml('sk-ant-api03-xxxx')).toBe(false);
  });
});

describe('refused: every attack of the catalogue, by the check meant for it', () => {
  let attacks: ReturnType<typeof samlAttacks>;
  beforeAll(() => {
    attacks = samlAttacks(idp, other, rogue);
  });

  test('each attack is refused with its reason; no message quotes the assertion', async () => {
    const seen: string[] = [];
    for (const attack of attacks) {
      const err = await refusal(attack.credential);
      seen.push(`${attack.name}: ${err.reason}`);
      expect(`${attack.name}: ${err.reason}`).toBe(`${attack.name}: ${attack.reason}`);
      expect(err.status).toBe(401);
      expect(err.message).toMatch(/;.+\.$/); // a reason, then what to do
      const xml = Buffer.from(attack.credential, 'base64').toString('latin1');
      for (const piece of [
        attack.credential.slice(0, 24),
        attack.credential.slice(-24),
        /<ds:SignatureValue>([^<]{0,40})/.exec(xml)?.[1],
      ]) {
        if (piece) expect(err.message).not.toContain(piece);
      }
      expect(err.message).not.toMatch(/admin@example\.com|security-leads|<saml/);
    }
    expect(seen).toHaveLength(attacks.length);
  });

  test('each refusal message is distinct per check', async () => {
    const byReason = new Map<string, Set<string>>();
    for (const attack of attacks) {
      const err = await refusal(attack.credential);
      byReason.set(err.reason, (byReason.get(err.reason) ?? new Set()).add(err.message.split(';')[1]!));
    }
    const advice = [...byReason.entries()].map(([reason, msgs]) => `${reason}:${[...msgs][0]}`);
    expect(new Set(advice).size).toBe(byReason.size);
  });
});

describe('metadata', () => {
  test('re-read when the file changes: a rotated key is trusted, the old one no longer', async () => {
    const file = join(dir, 'rotating.xml');
    const rot = await LocalSamlIdp.create({ entityId: 'https://rotating.example.test' });
    await rot.writeMetadata(file);
    let now = 1_000_000;
    const md = new SamlMetadata({ sources: [file], now: () => now });
    await md.load();
    const v = new SamlVerifier({ metadata: md });
    const before = rot.issue({ nameId: 'x' });
    await expect(v.verify(before)).resolves.toMatchObject({ subject: 'x' });
    await rot.rotate();
    await writeFile(file, rot.metadata());
    now += 1500;
    await expect(v.verify(before)).rejects.toMatchObject({ reason: 'bad_signature' });
    await expect(v.verify(rot.issue({ nameId: 'y' }))).resolves.toMatchObject({ subject: 'y' });
    // a broken edit keeps the last good metadata and says why
    await writeFile(file, '<md:EntityDescriptor');
    now += 1500;
    await expect(v.verify(rot.issue({ nameId: 'z' }))).resolves.toMatchObject({ subject: 'z' });
    expect(md.status()[0]!.lastError).toMatch(/not well-formed/);
  });

  test('from a URL (loopback http)', async () => {
    const url = await idp.serve();
    const md = new SamlMetadata({ sources: [url] });
    await md.load();
    expect(md.entityIds()).toEqual([idp.entityId]);
    await expect(new SamlVerifier({ metadata: md }).verify(idp.issue({ nameId: 'u' }))).resolves.toMatchObject({ subject: 'u' });
  });

  test('a URL is re-fetched every refreshSeconds in the background; until then its last content answers', async () => {
    const remote = await LocalSamlIdp.create({ entityId: 'https://remote.example.test' });
    const url = await remote.serve();
    let now = 5_000_000;
    const md = new SamlMetadata({ sources: [url], refreshSeconds: 60, now: () => now });
    await md.load();
    const v = new SamlVerifier({ metadata: md });
    const old = remote.issue({ nameId: 'r' });
    await remote.rotate();
    now += 30_000; // not yet due: the old key still verifies
    await expect(v.verify(old)).resolves.toMatchObject({ subject: 'r' });
    now += 31_000; // due: this call starts the re-fetch and still answers from the last content
    const loadedAt = md.status()[0]!.loadedAt;
    await md.idp(remote.entityId);
    for (let i = 0; i < 200 && md.status()[0]!.loadedAt === loadedAt; i++) await new Promise((r) => setTimeout(r, 10));
    expect(md.status()[0]!.loadedAt).not.toBe(loadedAt);
    await expect(v.verify(old)).rejects.toMatchObject({ reason: 'bad_signature' });
    await expect(v.verify(remote.issue({ nameId: 's' }))).resolves.toMatchObject({ subject: 's' });
    await remote.close();
  });

  test('refuses metadata with a DTD, without a signing certificate, with a weak key, expired, or a plain-http remote URL', async () => {
    expect(() => parseIdpMetadata(`<!DOCTYPE x []>${idp.metadata()}`, 'm')).toThrow(/DTD/);
    expect(() => parseIdpMetadata(idp.metadata([]), 'm')).toThrow(/no signing certificate/);
    const weak = await newSamlKey('weak', 1024);
    expect(() => parseIdpMetadata(idp.metadata([weak]), 'm')).toThrow(/RSA key of at least 2048 bits/);
    expect(() =>
      parseIdpMetadata(idp.metadata().replace('<md:EntityDescriptor ', '<md:EntityDescriptor validUntil="2001-01-01T00:00:00Z" '), 'm'),
    ).toThrow(/expired/);
    expect(() => new SamlMetadata({ sources: ['http://idp.example.com/metadata'] })).toThrow(/https/);
    const md = new SamlMetadata({ sources: [join(dir, 'missing.xml')] });
    await expect(md.load()).rejects.toThrow(/cannot be read/);
  });

  test('the same entityID from two sources is refused', async () => {
    const md = new SamlMetadata({ sources: [join(dir, 'idp.xml'), join(dir, 'idp.xml')] });
    await expect(md.load()).rejects.toThrow(/already configured/);
  });
});
