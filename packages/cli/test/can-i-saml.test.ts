// `scopekeeper can-i --saml-assertion`: the decision for the identity a SAML assertion proves,
// verified as the sidecar verifies it (the IdP's metadata, signature, audience, validity).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalSamlIdp } from '@scopekeeper/sidecar';
import { sidecarCommand } from '../src/commands/sidecar.ts';
import { cli } from './run-cli.ts';

const bin = fileURLToPath(new URL('../../../bin/scopekeeper.js', import.meta.url));

let dir: string;
let idp: LocalSamlIdp;
let metadata: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'can-i-saml-'));
  idp = await LocalSamlIdp.create(); // entityID https://idp.example.test/saml, as examples/analyst-agent-saml.yaml binds
  metadata = join(dir, 'idp.xml');
  await idp.writeMetadata(metadata);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function assertionFile(name: string, credential: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, credential);
  return file;
}

test('explains the decision for the verified SAML identity', async () => {
  const file = await assertionFile('dana', idp.issue({ nameId: 'dana@example.com', groups: ['data-analysts'] }));
  const yes = await cli(
    'can-i',
    '--saml-assertion',
    file,
    '--saml-idp-metadata',
    metadata,
    '--model',
    'claude-sonnet-4-5',
    '--at',
    new Date().toISOString(),
  );
  expect(yes.stderr).toBe('');
  expect(yes.code).toBe(0);
  expect(yes.stdout).toMatch(
    /^identity: User dana@example\.com, groups \[data-analysts\], issuer https:\/\/idp\.example\.test\/saml \(SAML, signature verified\)\nyes\n {2}Allowed by ModelScope analyst-agent/,
  );
  const no = await cli('can-i', '--saml-assertion', file, '--saml-idp-metadata', metadata, '--model', 'claude-opus-4-1', '-o', 'json');
  expect(no.code).toBe(1);
  expect(JSON.parse(no.stdout)).toMatchObject({
    identity: { issuer: idp.entityId, subject: 'dana@example.com', groups: ['data-analysts'] },
    effect: 'deny',
    scope: 'analyst-agent',
  });
});

test('a refused assertion is a "no" with the sidecar\'s 401 message; bad usage exits 2', async () => {
  const file = await assertionFile(
    'wrong-aud',
    idp.issue({ nameId: 'dana@example.com', groups: ['data-analysts'], audiences: ['https://other-sp.example'] }),
  );
  const no = await cli('can-i', '--saml-assertion', file, '--saml-idp-metadata', metadata, '--model', 'claude-sonnet-4-5');
  expect(no.code).toBe(1);
  expect(no.stdout).toMatch(
    /refused \(the sidecar answers 401\): The assertion is for audience "https:\/\/other-sp\.example", not "scopekeeper"/,
  );
  expect((await cli('can-i', '--saml-assertion', file, '--model', 'claude-sonnet-4-5')).stderr).toMatch(/--saml-idp-metadata/);
  expect((await cli('can-i', '--model', 'claude-sonnet-4-5')).code).toBe(2);
});

test('sidecar SAML flags: repeatable, defaults, and SCOPEKEEPER_SAML_* environment variables', async () => {
  const parse = async (args: string[]) => {
    const cmd = sidecarCommand()
      .exitOverride()
      .action(() => {});
    await cmd.parseAsync(args, { from: 'user' });
    return cmd.opts<{ samlIdpMetadata: string[]; samlAudience: string; samlGroupsAttribute: string }>();
  };
  expect(await parse([])).toMatchObject({ samlIdpMetadata: [], samlAudience: 'scopekeeper', samlGroupsAttribute: 'groups' });
  expect((await parse(['--saml-idp-metadata', 'a.xml', '--saml-idp-metadata', 'https://idp.example.com/md'])).samlIdpMetadata).toEqual([
    'a.xml',
    'https://idp.example.com/md',
  ]);
  process.env.SCOPEKEEPER_SAML_IDP_METADATA = 'a.xml,b.xml';
  process.env.SCOPEKEEPER_SAML_AUDIENCE = 'https://sp.example/scopekeeper';
  try {
    expect(await parse([])).toMatchObject({ samlIdpMetadata: ['a.xml', 'b.xml'], samlAudience: 'https://sp.example/scopekeeper' });
  } finally {
    delete process.env.SCOPEKEEPER_SAML_IDP_METADATA;
    delete process.env.SCOPEKEEPER_SAML_AUDIENCE;
  }
});

test('a sidecar whose SAML metadata file cannot be loaded refuses to start, naming it', async () => {
  const missing = join(dir, 'missing-idp.xml');
  const r = await cli(
    'sidecar',
    '--policy',
    'examples',
    '--upstream-key-file',
    bin,
    '--issuer',
    'https://issuer.example.com',
    '--saml-idp-metadata',
    missing,
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
  );
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`SAML metadata ${missing} cannot be read`);
});
