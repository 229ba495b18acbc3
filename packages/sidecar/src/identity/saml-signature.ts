// The XML signature of a SAML element (an Assertion, or the Response around it), checked with
// xml-crypto against certificates from the IdP's metadata — never against a KeyInfo the document
// carries. Defence against signature wrapping is structural, before any cryptography: the
// Signature must be a direct child of the element it signs, have exactly one Reference, and that
// Reference must name the element's own ID, which no other element of the document may carry.
// After the check, the caller gets the element re-parsed from the exact bytes that were digested
// (xml-crypto's getSignedReferences), so nothing it reads can come from outside the signature.
import { SignedXml } from 'xml-crypto';
import type { Document, Element } from '@xmldom/xmldom';
import { NS, childElements, isElement, parseSafeXml } from './saml-xml.ts';

const ALG = {
  envelopedSignature: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
} as const;
const CANONICALIZATIONS = new Set<string>([ALG.c14n, ALG.excC14n]);
const TRANSFORMS = new Set<string>([ALG.envelopedSignature, ALG.c14n, ALG.excC14n]);
/** RSA with SHA-256 or stronger: what xml-crypto verifies, minus SHA-1 (and minus HMAC, never enabled). */
const SIGNATURE_METHODS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const DIGEST_METHODS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
const ID_SHAPE = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;

export type SignatureProblem = 'unsigned' | 'wrapped' | 'sha1' | 'algorithm' | 'bad_signature';

export class SignatureError extends Error {
  override name = 'SignatureError';
  readonly problem: SignatureProblem;
  constructor(problem: SignatureProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

/** What a signed reference may contain when re-parsed (it is a part of an already capped document). */
const SIGNED_LIMITS = { maxBytes: 256 * 1024 };

/**
 * Checks the enveloped signature of `element` (of `doc`, parsed from `xml`) with `certificates`
 * (PEM) and returns the element as it was signed. Throws SignatureError.
 */
export function verifyEnvelopedSignature(
  xml: string,
  doc: Document,
  element: Element,
  certificates: readonly string[],
  what: string,
): Element {
  const signatures = childElements(element, NS.dsig, 'Signature');
  if (signatures.length === 0) throw new SignatureError('unsigned', `The ${what} is not signed`);
  if (signatures.length > 1) throw new SignatureError('wrapped', `The ${what} carries more than one signature`);
  const signature = signatures[0]!;
  const id = element.getAttribute('ID') ?? '';
  if (!ID_SHAPE.test(id)) throw new SignatureError('wrapped', `The ${what} has no usable ID attribute for its signature to reference`);
  let carriers = 0;
  for (const el of allElements(doc)) {
    for (const name of ['ID', 'Id', 'id']) if (el.getAttribute(name) === id) carriers++;
  }
  if (carriers !== 1) throw new SignatureError('wrapped', `The ${what}'s ID is carried by another element too`);
  checkSignedInfo(signature, id, what);

  let signedXml: string | undefined;
  for (const pem of certificates) {
    const sig = new SignedXml({ publicCert: pem, getCertFromKeyInfo: () => null });
    // Defence in depth: even if a SHA-1 method slipped past checkSignedInfo, xml-crypto cannot use it.
    delete sig.SignatureAlgorithms[ALG.rsaSha1];
    delete sig.HashAlgorithms[ALG.sha1];
    try {
      sig.loadSignature(signature.toString());
      if (sig.checkSignature(xml) !== true) continue;
    } catch {
      continue; // wrong key, altered content, or a document xml-crypto refuses: all "does not verify"
    }
    const refs = sig.getSignedReferences();
    if (refs.length === 1) signedXml = refs[0];
    break;
  }
  if (signedXml === undefined) throw new SignatureError('bad_signature', `The ${what}'s signature does not verify`);

  const signed = parseSafeXml(signedXml, SIGNED_LIMITS).documentElement;
  if (
    !signed ||
    signed.namespaceURI !== element.namespaceURI ||
    signed.localName !== element.localName ||
    signed.getAttribute('ID') !== id
  ) {
    throw new SignatureError('wrapped', `The ${what}'s signature covers another element`);
  }
  return signed;
}

/** SignedInfo must be exactly one Reference to `#id`, with algorithms from the allow-lists. */
function checkSignedInfo(signature: Element, id: string, what: string): void {
  const parts = childElements(signature);
  const names = parts.map((p) => (p.namespaceURI === NS.dsig ? p.localName : '?'));
  const shapeOk =
    names[0] === 'SignedInfo' && names[1] === 'SignatureValue' && names.length <= 3 && (names.length === 2 || names[2] === 'KeyInfo');
  if (!shapeOk)
    throw new SignatureError(
      'wrapped',
      `The ${what}'s Signature has unexpected content (only SignedInfo, SignatureValue and KeyInfo are accepted)`,
    );
  const info = childElements(parts[0]!);
  const c14n = info[0];
  const method = info[1];
  const refs = info.slice(2);
  if (!isElement(c14n, NS.dsig, 'CanonicalizationMethod') || !isElement(method, NS.dsig, 'SignatureMethod')) {
    throw new SignatureError('wrapped', `The ${what}'s SignedInfo is malformed`);
  }
  const signatureMethod = method.getAttribute('Algorithm') ?? '';
  if (signatureMethod === ALG.rsaSha1) throw new SignatureError('sha1', `The ${what} is signed with RSA-SHA1`);
  if (!SIGNATURE_METHODS.has(signatureMethod))
    throw new SignatureError('algorithm', `The ${what} is signed with an algorithm this sidecar does not accept`);
  if (!CANONICALIZATIONS.has(c14n.getAttribute('Algorithm') ?? '')) {
    throw new SignatureError('algorithm', `The ${what}'s signature uses a canonicalization this sidecar does not accept`);
  }
  if (refs.length !== 1 || !isElement(refs[0], NS.dsig, 'Reference'))
    throw new SignatureError('wrapped', `The ${what}'s signature must have exactly one Reference`);
  const ref = refs[0];
  if (ref.getAttribute('URI') !== `#${id}`) throw new SignatureError('wrapped', `The ${what}'s signature references another element`);
  const refParts = childElements(ref);
  const transforms = refParts[0] && isElement(refParts[0], NS.dsig, 'Transforms') ? childElements(refParts.shift()!) : [];
  const [digestMethod, digestValue, ...rest] = refParts;
  if (!isElement(digestMethod, NS.dsig, 'DigestMethod') || !isElement(digestValue, NS.dsig, 'DigestValue') || rest.length > 0) {
    throw new SignatureError('wrapped', `The ${what}'s signature Reference is malformed`);
  }
  if (
    transforms.length > 2 ||
    transforms.some((t) => !isElement(t, NS.dsig, 'Transform') || !TRANSFORMS.has(t.getAttribute('Algorithm') ?? ''))
  ) {
    throw new SignatureError(
      'algorithm',
      `The ${what}'s signature uses a transform this sidecar does not accept (enveloped-signature and C14N only)`,
    );
  }
  const digest = digestMethod.getAttribute('Algorithm') ?? '';
  if (digest === ALG.sha1) throw new SignatureError('sha1', `The ${what}'s signature digests with SHA-1`);
  if (!DIGEST_METHODS.has(digest))
    throw new SignatureError('algorithm', `The ${what}'s signature digests with an algorithm this sidecar does not accept`);
}

function* allElements(doc: Document): Generator<Element> {
  const stack: Element[] = doc.documentElement ? [doc.documentElement] : [];
  while (stack.length > 0) {
    const el = stack.pop()!;
    yield el;
    stack.push(...childElements(el));
  }
}
