// SAML assertions through the running sidecar: a signed assertion for a Group subject is allowed,
// and every attack of the catalogue (saml-attacks.ts: signature wrapping, moved signatures, a
// comment in NameID, signed/unsigned mixes, two assertions, timing, audience, issuer, SHA-1,
// entity expansion, oversize, foreign keys) is a 401 authentication_error in Anthropic's shape,
// in Authorization and in x-api-key, that quotes nothing of the credential and sends nothing
// upstream; its audit record names no identity.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalSamlIdp, newSamlKey, type SamlKey } from '../../src/identity/local-saml-idp.ts';
import { startWorld, type World } from '../../src/testing/world.ts';
import { samlAttacks, type SamlAttack } from '../saml-attacks.ts';
import { anthropicError, recordAttack } from './support.ts';
import { auditRecord, expectRefusal } from '../refusal.ts';
import { runSidecar } from '../../src/run.ts';
import { silentLogger } from '../../src/log.ts';

const SUITE = 'SAML assertions';
const SAML_ENTITY = 'https://idp.example.test/saml';

let world: World;
let other: LocalSamlIdp;
let rogue: SamlKey;
let attacks: SamlAttack[];

beforeAll(async () => {
  world = await startWorld();
  [other, rogue] = await Promise.all([LocalSamlIdp.create({ entityId: 'https://other-idp.example.test' }), newSamlKey('rogue')]);
  // A line break cannot travel in an HTTP header at all (node's parser refuses it before us).
  attacks = samlAttacks(world.samlIdp, other, rogue).filter((a) => !/\s/.test(a.credential));
});
afterAll(() => world.close());

const body = JSON.stringify({
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Summarise the sales figures.' }],
});
const send = (headers: Record<string, string>) =>
  fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body,
  });

const auditOf = (res: Response) => auditRecord(world.auditFile, res.headers.get('x-scopekeeper-request-id') ?? '(none)');

test('a signed assertion for the Group data-analysts is allowed; the audit names the IdP and the NameID', async () => {
  const credential = world.samlAssertion('dana@example.com', ['data-analysts']);
  const variants: Record<string, string>[] = [
    { authorization: `Bearer ${credential}` },
    { 'x-api-key': credential },
    { authorization: `Bearer ${credential}`, 'x-api-key': credential },
  ];
  for (const headers of variants) {
    const res = await send(headers);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-scopekeeper-decision')).toBe('allow');
    await res.arrayBuffer();
    const record = await auditOf(res);
    expect(record).toMatchObject({ subject: 'User dana@example.com', issuer: SAML_ENTITY, scope: 'analyst-agent', decision: 'allow' });
  }
  const audit = await readFile(world.auditFile, 'utf8');
  expect(audit).not.toContain(credential.slice(0, 40));
});

test('a SAML caller outside every scope is denied with 403, not 401', async () => {
  const expectation = expectRefusal(world.auditFile, world.stub!);
  const res = await send({ 'x-api-key': world.samlAssertion('mallory@example.com', ['interns']) });
  expect(res.status).toBe(403);
  expect(anthropicError(await res.text()).error.type).toBe('permission_error');
  expect(await expectation.refused(res)).toMatchObject({ subject: 'User mallory@example.com', decision: 'deny' });
});

test('issuer binding: a SAML group does not open scopes of the primary issuer, nor an OIDC group the SAML-bound scope', async () => {
  // support-agent names Group support-engineers without an issuer: the primary (OIDC) issuer only.
  const samlCaller = expectRefusal(world.auditFile, world.stub!);
  const res = await send({ 'x-api-key': world.samlAssertion('sam@example.com', ['support-engineers']) });
  expect(res.status).toBe(403);
  expect(await samlCaller.refused(res)).toMatchObject({ issuer: SAML_ENTITY, decision: 'deny' });
  recordAttack({
    suite: SUITE,
    attack: 'a SAML assertion for support-engineers, a group named by a scope without issuer (primary issuer only)',
    expected: '403 permission_error',
    status: res.status,
    errorType: anthropicError(await res.text()).error.type,
  });
  // analyst-agent names Group data-analysts with issuer = the SAML IdP's entityID.
  const oidcCaller = expectRefusal(world.auditFile, world.stub!);
  const token = await world.issuer.mint({ sub: 'olga@example.com', groups: ['data-analysts'] });
  const res2 = await send({ authorization: `Bearer ${token}` });
  expect(res2.status).toBe(403);
  await oidcCaller.refused(res2);
  recordAttack({
    suite: SUITE,
    attack: 'an OIDC token for data-analysts, a group bound to the SAML IdP (subjects[].issuer)',
    expected: '403 permission_error',
    status: res2.status,
    errorType: anthropicError(await res2.text()).error.type,
  });
});

test('every attack is a 401 authentication_error that quotes nothing and forwards nothing', async () => {
  expect(attacks.length).toBeGreaterThan(35);
  for (const attack of attacks) {
    for (const header of ['authorization', 'x-api-key'] as const) {
      const expectation = expectRefusal(world.auditFile, world.stub!);
      const res = await send(
        header === 'authorization' ? { authorization: `Bearer ${attack.credential}` } : { 'x-api-key': attack.credential },
      );
      const text = await res.text();
      const label = `${attack.name} (${header})`;
      expect(`${label}: ${res.status}`).toBe(`${label}: 401`);
      const err = anthropicError(text);
      expect(err.error.type).toBe('authentication_error');
      expect(text).not.toContain(attack.credential.slice(0, 32));
      expect(text).not.toContain(attack.credential.slice(-32));
      expect(text).not.toMatch(/<saml|admin@example\.com|security-leads/);
      const record = await expectation.refused(res);
      expect(record).toMatchObject({ decision: 'deny', status: 401 });
      expect(record?.subject ?? '').toBe('');
      if (header === 'x-api-key') {
        recordAttack({
          suite: SUITE,
          attack: attack.name,
          expected: '401 authentication_error, nothing forwarded',
          status: res.status,
          errorType: err.error.type,
          note: err.error.message.split(';')[0],
        });
      }
    }
  }
});

test('a SAML credential is refused when no IdP is configured, saying how to configure one', async () => {
  const bare = await startWorld({ flags: { samlIdpMetadata: [] } });
  try {
    const expectation = expectRefusal(bare.auditFile, bare.stub!);
    const res = await fetch(`${bare.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': bare.samlAssertion('dana@example.com', ['data-analysts']), 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(401);
    await expectation.refused(res);
    expect(anthropicError(await res.text()).error.message).toMatch(/--saml-idp-metadata/);
  } finally {
    await bare.close();
  }
});

test('an IdP whose entityID is spelt as an OIDC issuer of the sidecar (here the primary and service-account one) is refused at start', async () => {
  // Before: its assertions were read as that issuer's: NameID system:serviceaccount:team-a:support-bot
  // was the ServiceAccount (200, audited as it), a group matched subjects that name no issuer.
  const rogueIdp = await LocalSamlIdp.create({ entityId: world.issuer.issuer });
  const md = join(world.dir, 'rogue-idp.xml');
  await rogueIdp.writeMetadata(md);
  const start = runSidecar(
    { ...world.flags, samlIdpMetadata: [...(world.flags.samlIdpMetadata ?? []), md], listen: '127.0.0.1:0', admin: '127.0.0.1:0' },
    silentLogger(),
  );
  await expect(start).rejects.toThrow(
    `SAML metadata ${md}: IdP ${world.issuer.issuer} has the name of an OIDC issuer of this sidecar (--issuer, --service-account-issuer)`,
  );
  recordAttack({
    suite: SUITE,
    attack: 'an IdP whose metadata entityID is the OIDC primary and service-account issuer, asserting a ServiceAccount NameID',
    expected: 'the sidecar refuses to start with that metadata, naming the IdP (before: 200 as ServiceAccount team-a/support-bot)',
    status: 0,
    note: 'UsageError at start',
  });
});

test("metadata that describes one IdP twice is refused (which copy to trust is not the sidecar's to pick)", async () => {
  const one = (await readFile(world.flags.samlIdpMetadata![0]!, 'utf8')).replace(/^<\?xml[^>]*>\s*/, '');
  const md = join(world.dir, 'twice.xml');
  await writeFile(md, `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${one}${one}</md:EntitiesDescriptor>`);
  const start = runSidecar({ ...world.flags, samlIdpMetadata: [md], listen: '127.0.0.1:0', admin: '127.0.0.1:0' }, silentLogger());
  await expect(start).rejects.toThrow(`SAML metadata ${md} describes IdP ${SAML_ENTITY} twice; keep one`);
});

test('an assertion padded with 600 elements (signature forged) is refused before its signature is checked', async () => {
  // Before: xml-crypto digested every referenced element before checking the signature, ~30 µs
  // per element per IdP certificate; 1,900 elements fit in 16 KB (45–85 ms of the event loop each).
  const xml = Buffer.from(world.samlAssertion('dana@example.com', ['data-analysts']), 'base64').toString('utf8');
  const padded = xml
    .replace('</saml:AttributeValue>', `${'<a/>'.repeat(600)}</saml:AttributeValue>`)
    .replace(/<ds:SignatureValue>[^<]*</, '<ds:SignatureValue>AAAA<');
  expect(padded).not.toBe(xml);
  const expectation = expectRefusal(world.auditFile, world.stub!);
  const res = await send({ authorization: `Bearer ${Buffer.from(padded).toString('base64')}` });
  expect(res.status).toBe(401);
  await expectation.refused(res);
  expect(anthropicError(await res.text()).error.message).toBe(
    'The SAML document has more than 512 elements; have the IdP send fewer attributes or group values (a group filter), or send a JWT.',
  );
});
