// Property tests of SAML verification: an edit of a signed assertion either is refused with a
// SamlAuthenticationError (a 401) or yields exactly the identity the IdP signed — never another
// one, never another kind of error — and no message carries a piece of the credential.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { LocalSamlIdp } from './local-saml-idp.ts';
import { SamlMetadata } from './saml-metadata.ts';
import { SamlVerifier } from './saml-verifier.ts';
import { AuthenticationError } from './verifier.ts';

let dir: string;
let idp: LocalSamlIdp;
let verifier: SamlVerifier;
let xml: { bare: string; response: string };
const SIGNED = { issuer: 'https://idp.example.test/saml', subject: 'alice@example.com', primary: false, groups: ['support-engineers'] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saml-fuzz-'));
  idp = await LocalSamlIdp.create();
  await idp.writeMetadata(join(dir, 'idp.xml'));
  const metadata = new SamlMetadata({ sources: [join(dir, 'idp.xml')] });
  await metadata.load();
  verifier = new SamlVerifier({ metadata });
  const decode = (b: string) => Buffer.from(b, 'base64').toString('utf8');
  xml = {
    bare: decode(idp.issue({ nameId: SIGNED.subject, groups: SIGNED.groups })),
    response: decode(idp.issue({ nameId: SIGNED.subject, groups: SIGNED.groups, response: true, signResponse: true })),
  };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const TOKENS = [
  '<!---->',
  '<!DOCTYPE a>',
  '&amp;',
  '&lt;',
  ' ',
  '\n',
  '"',
  '<',
  '>',
  '/',
  'admin',
  '<saml:Assertion>',
  '</saml:Assertion>',
  'ID="x"',
  'xmlns:saml="urn:evil"',
  '<![CDATA[x]]>',
  '<?pi?>',
  'ds:',
  '=',
];

type Edit =
  | { kind: 'replace'; at: number; text: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'move'; from: number; len: number; to: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ minLength: 1, maxLength: 3 })),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ minLength: 1, maxLength: 4 })),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('move' as const), from: fc.nat(), len: fc.integer({ min: 1, max: 400 }), to: fc.nat() }),
);

function apply(text: string, e: Edit): string {
  const at = (n: number) => n % (text.length + 1);
  switch (e.kind) {
    case 'replace':
      return text.slice(0, at(e.at)) + e.text + text.slice(at(e.at) + e.text.length);
    case 'insert':
      return text.slice(0, at(e.at)) + e.text + text.slice(at(e.at));
    case 'delete':
      return text.slice(0, at(e.at)) + text.slice(at(e.at) + e.len);
    case 'move': {
      const from = at(e.from);
      const piece = text.slice(from, from + e.len);
      const rest = text.slice(0, from) + text.slice(from + e.len);
      const to = e.to % (rest.length + 1);
      return rest.slice(0, to) + piece + rest.slice(to);
    }
  }
}

async function outcome(credential: string): Promise<'refused' | 'same'> {
  try {
    const id = await verifier.verify(credential);
    expect(id).toEqual(SIGNED);
    return 'same';
  } catch (err) {
    if (!(err instanceof AuthenticationError)) throw err;
    expect(err.status).toBe(401);
    for (const piece of [credential.slice(0, 24), credential.slice(-24)]) expect(err.message).not.toContain(piece);
    return 'refused';
  }
}

test('one to three edits of a signed assertion or Response: refused, or the identity the IdP signed', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('bare', 'response') as fc.Arbitrary<'bare' | 'response'>,
      fc.array(edit, { minLength: 1, maxLength: 3 }),
      async (which, edits) => {
        const mutated = edits.reduce(apply, xml[which]);
        await outcome(Buffer.from(mutated).toString('base64'));
      },
    ),
    { numRuns: 250 },
  );
});

test('arbitrary strings of SAML form are refused with a 401 that quotes nothing', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 300 }), async (s) => {
      expect(await outcome(Buffer.from(`<${s}`).toString('base64'))).toBe('refused');
    }),
    { numRuns: 500 },
  );
});
