// The SAML attack catalogue, shared by the verifier's tests (which check the exact reason each is
// refused) and the hardening suite (which checks the sidecar answers 401 and forwards nothing).
// `idp` is trusted by the verifier; `other` is a second trusted IdP; `rogue` is trusted by nobody.
import { SAML_ALG, type LocalSamlIdp, type SamlAssertionOptions, type SamlKey } from '../src/identity/local-saml-idp.ts';

export interface SamlAttack {
  name: string;
  credential: string;
  /** SamlAuthenticationError.reason the verifier must give. */
  reason: string;
}

const b64 = (xml: string) => Buffer.from(xml).toString('base64');
const SIGNATURE = /<ds:Signature[\s\S]*?<\/ds:Signature>/;

function signatureOf(xml: string): string {
  const m = SIGNATURE.exec(xml);
  if (!m) throw new Error('no signature');
  return m[0];
}

/** Inserts `insert` right after the n-th (1-based) occurrence of `marker`. */
function insertAfter(xml: string, marker: string, insert: string, n = 1): string {
  let at = -1;
  for (let i = 0; i < n; i++) at = xml.indexOf(marker, at + 1);
  if (at < 0) throw new Error(`marker ${marker} not found`);
  return xml.slice(0, at + marker.length) + insert + xml.slice(at + marker.length);
}

export function samlAttacks(idp: LocalSamlIdp, other: LocalSamlIdp, rogue: SamlKey): SamlAttack[] {
  const user = { nameId: 'alice@example.com', groups: ['support-engineers'] };
  const signed = idp.sign(idp.assertionXml(user));
  const evil = idp.assertionXml({ nameId: 'admin@example.com', groups: ['security-leads'] });
  const signedId = /ID="([^"]+)"/.exec(signed)![1]!;
  const evilSameId = idp.assertionXml({ nameId: 'admin@example.com', groups: ['security-leads'], id: signedId });
  const sig = signatureOf(signed);
  const withoutSig = signed.replace(sig, '');
  const long = 'alice@example.com.evil.test';
  const commented = idp.sign(idp.assertionXml({ ...user, nameId: long })).replace(long, 'alice@example.com<!---->.evil.test');
  const signedResponseOfEvil = idp.sign(idp.responseXml(evil));
  const responseSig = signatureOf(signedResponseOfEvil);
  const bomb =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">' +
    Array.from({ length: 8 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
    ']>' +
    signed.replace('alice@example.com', '&lol8;');
  const x = (o: Partial<SamlAssertionOptions>) => idp.sign(idp.assertionXml({ ...user, ...o }));
  const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

  return [
    // -- signature wrapping (XSW) and moved signatures
    {
      name: 'XSW: an unsigned assertion before the signed one (in a Response)',
      credential: b64(idp.responseXml(evil + signed)),
      reason: 'assertion_count',
    },
    {
      name: 'XSW: an unsigned assertion after the signed one (in a Response)',
      credential: b64(idp.responseXml(signed + evil)),
      reason: 'assertion_count',
    },
    {
      name: "XSW: the signed assertion wrapped in the Response's Extensions, an unsigned one beside it",
      credential: b64(idp.responseXml(`<samlp:Extensions>${signed}</samlp:Extensions>${evil}`)),
      reason: 'assertion_count',
    },
    {
      name: 'XSW: the signed assertion inside the Advice of an unsigned one',
      credential: b64(insertAfter(evil, '</saml:Conditions>', `<saml:Advice>${signed}</saml:Advice>`)),
      reason: 'assertion_count',
    },
    {
      name: 'XSW: an unsigned assertion carrying the copied Signature, the signed one inside its ds:Object',
      credential: b64(
        insertAfter(evilSameId, '</saml:Issuer>', sig.replace('</ds:Signature>', `<ds:Object>${withoutSig}</ds:Object></ds:Signature>`)),
      ),
      reason: 'assertion_count',
    },
    {
      name: "XSW: an unsigned assertion with the signed one's ID and Signature (the original dropped)",
      credential: b64(insertAfter(evilSameId, '</saml:Issuer>', sig)),
      reason: 'bad_signature',
    },
    {
      name: "XSW: the Response carries the signed assertion's ID",
      credential: b64(idp.responseXml(signed, { id: signedId })),
      reason: 'wrapped',
    },
    {
      name: "moved signature: the assertion's Signature moved up into the Response",
      credential: b64(insertAfter(idp.responseXml(withoutSig), '</saml:Issuer>', sig)),
      reason: 'unsigned',
    },
    {
      name: "moved signature: the Response's Signature moved into its unsigned assertion",
      credential: b64(insertAfter(signedResponseOfEvil.replace(responseSig, ''), '</saml:Issuer>', responseSig, 2)),
      reason: 'wrapped',
    },
    {
      name: "a ds:Object smuggled into the assertion's Signature",
      credential: b64(signed.replace('</ds:Signature>', '<ds:Object><saml:Attribute Name="groups"/></ds:Object></ds:Signature>')),
      reason: 'wrapped',
    },
    { name: 'a comment inside NameID (truncation)', credential: b64(commented), reason: 'comment' },
    // -- signed / unsigned combinations
    { name: 'an unsigned assertion inside a signed Response', credential: b64(signedResponseOfEvil), reason: 'unsigned' },
    {
      name: 'a signed assertion inside a Response signed by another key',
      credential: b64(idp.sign(idp.responseXml(signed), { key: rogue })),
      reason: 'bad_signature',
    },
    { name: 'an unsigned bare assertion', credential: b64(evil), reason: 'unsigned' },
    { name: 'two assertions, both signed by the IdP', credential: b64(idp.responseXml(signed + x({}))), reason: 'assertion_count' },
    {
      name: 'a NameID changed after signing',
      credential: b64(signed.replace('alice@example.com', 'admin@example.com')),
      reason: 'bad_signature',
    },
    {
      name: 'a group added after signing',
      credential: b64(signed.replace('support-engineers', 'security-leads')),
      reason: 'bad_signature',
    },
    // -- keys and algorithms
    {
      name: "signed by a key the IdP's metadata does not hold (rogue certificate in KeyInfo)",
      credential: b64(idp.sign(idp.assertionXml(user), { key: rogue })),
      reason: 'bad_signature',
    },
    {
      name: "signed by another trusted IdP's key, naming this IdP as Issuer",
      credential: b64(other.sign(idp.assertionXml(user))),
      reason: 'bad_signature',
    },
    {
      name: 'RSA-SHA1 signature, SHA-1 digest',
      credential: b64(idp.sign(idp.assertionXml(user), { signatureAlgorithm: SAML_ALG.rsaSha1, digestAlgorithm: SAML_ALG.sha1 })),
      reason: 'sha1',
    },
    {
      name: 'RSA-SHA256 signature over a SHA-1 digest',
      credential: b64(idp.sign(idp.assertionXml(user), { digestAlgorithm: SAML_ALG.sha1 })),
      reason: 'sha1',
    },
    // -- claims
    {
      name: 'expired assertion (Conditions NotOnOrAfter passed)',
      credential: b64(x({ issuedOffsetSeconds: -1200, subjectConfirmationNotOnOrAfter: inMinutes(5) })),
      reason: 'expired',
    },
    {
      name: 'bearer SubjectConfirmationData NotOnOrAfter passed',
      credential: b64(x({ subjectConfirmationNotOnOrAfter: inMinutes(-2) })),
      reason: 'expired',
    },
    {
      name: 'not yet valid (Conditions NotBefore in 10 minutes)',
      credential: b64(x({ notBefore: inMinutes(10) })),
      reason: 'not_yet_valid',
    },
    {
      name: 'issued in the future (IssueInstant in 10 minutes)',
      credential: b64(x({ issuedOffsetSeconds: 600 })),
      reason: 'not_yet_valid',
    },
    { name: 'wrong audience', credential: b64(x({ audiences: ['https://other-sp.example'] })), reason: 'audience' },
    { name: 'no AudienceRestriction', credential: b64(x({ audiences: [] })), reason: 'audience' },
    { name: 'lifetime over the cap (2 h)', credential: b64(x({ ttlSeconds: 7200 })), reason: 'lifetime' },
    { name: 'no Conditions NotOnOrAfter', credential: b64(x({ notOnOrAfter: null })), reason: 'malformed' },
    {
      name: 'wrong issuer: an IdP nobody configured',
      credential: b64(idp.sign(idp.assertionXml({ ...user, issuer: 'https://rogue.example/saml' }), { key: rogue })),
      reason: 'unknown_idp',
    },
    {
      name: 'a Response naming another Issuer than its assertion',
      credential: b64(idp.responseXml(signed, { issuer: other.entityId })),
      reason: 'issuer',
    },
    {
      name: 'a Response that reports failure',
      credential: b64(idp.responseXml(signed, { status: 'urn:oasis:names:tc:SAML:2.0:status:Requester' })),
      reason: 'status',
    },
    {
      name: 'OneTimeUse condition',
      credential: b64(idp.sign(idp.assertionXml(user).replace('</saml:Conditions>', '<saml:OneTimeUse/></saml:Conditions>'))),
      reason: 'condition',
    },
    // -- document shape
    { name: 'entity expansion (billion laughs)', credential: b64(bomb), reason: 'dtd' },
    {
      name: 'external entity (XXE) file:///etc/passwd',
      credential: b64(
        `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>${signed.replace('alice@example.com', '&e;')}`,
      ),
      reason: 'dtd',
    },
    {
      name: 'a processing instruction inside the assertion',
      credential: b64(insertAfter(signed, '</saml:Issuer>', '<?evil x?>')),
      reason: 'processing_instruction',
    },
    {
      name: 'oversized document (250 groups, over 16 KB of base64)',
      credential: b64(x({ groups: Array.from({ length: 250 }, (_, i) => `group-${i}`) })),
      reason: 'too_large',
    },
    {
      name: 'elements nested 200 deep',
      credential: b64(signed.replace('</saml:Assertion>', `${'<a>'.repeat(200)}${'</a>'.repeat(200)}</saml:Assertion>`)),
      reason: 'too_deep',
    },
    {
      name: 'an EncryptedAssertion',
      credential: b64(
        idp.responseXml(
          '<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>',
        ),
      ),
      reason: 'encrypted',
    },
    { name: 'not XML (base64 of "<<<")', credential: b64('<<<<'), reason: 'not_xml' },
    { name: 'base64 with a line break', credential: `${b64(signed).slice(0, 76)}\n${b64(signed).slice(76)}`, reason: 'base64' },
  ];
}
