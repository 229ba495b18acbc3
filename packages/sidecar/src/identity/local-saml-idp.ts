// A small but real SAML 2.0 identity provider for `scopekeeper demo` and the tests, in the spirit
// of local-issuer.ts: its own RSA key pair and self-signed certificate, metadata (served over
// loopback HTTP and/or written to a file), and signed assertions (bare or inside a Response) made
// with xml-crypto exactly as IdPs make them. The sidecar verifies them through the same metadata
// and signature path as any production IdP; there is no bypass. Tests use `assertionXml` and
// `sign` to build the malformed and malicious variants of the attack suite.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignedXml } from 'xml-crypto';

export const SAML_ALG = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

export interface SamlKey {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** The self-signed X.509 certificate, PEM. */
  certificatePem: string;
}

export interface SamlAssertionOptions {
  nameId: string;
  groups?: string[];
  /** Attribute name of the groups. Default `groups`. */
  groupsAttribute?: string;
  /** Extra attributes (name → values). */
  attributes?: Record<string, string[]>;
  /** Default: the IdP's entityID. */
  issuer?: string;
  /** Audiences of the one AudienceRestriction; [] leaves the restriction out. Default [`scopekeeper`]. */
  audiences?: string[];
  /** Seconds from now: IssueInstant and NotBefore = now + offset. Default 0. */
  issuedOffsetSeconds?: number;
  /** Lifetime in seconds of Conditions and the bearer SubjectConfirmationData. Default 600. */
  ttlSeconds?: number;
  /** Overrides of single instants (ISO strings); `null` leaves the attribute out. */
  notBefore?: string | null;
  notOnOrAfter?: string | null;
  subjectConfirmationNotOnOrAfter?: string | null;
  id?: string;
}

export interface SignOptions {
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  /** Sign with this key instead of the IdP's current one. */
  key?: SamlKey;
  /** Prefix of the Signature's elements; '' writes them in the default namespace. Default `ds`. */
  prefix?: string;
}

export interface IssueOptions extends SamlAssertionOptions, SignOptions {
  /** Wrap the assertion in a samlp:Response. Default false. */
  response?: boolean;
  /** Sign the Response too (with `response`). Default false. */
  signResponse?: boolean;
}

export class LocalSamlIdp {
  readonly entityId: string;
  key: SamlKey;
  #server: Server | undefined;
  #url: string | undefined;

  private constructor(entityId: string, key: SamlKey) {
    this.entityId = entityId;
    this.key = key;
  }

  static async create(opts: { entityId?: string } = {}): Promise<LocalSamlIdp> {
    return new LocalSamlIdp(opts.entityId ?? 'https://idp.example.test/saml', await newSamlKey(opts.entityId ?? 'local-saml-idp'));
  }

  /** The IdP metadata (EntityDescriptor with one IDPSSODescriptor and the signing certificate(s)). */
  metadata(keys: SamlKey[] = [this.key]): string {
    const keyDescriptors = keys
      .map(
        (k) =>
          `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBase64(k.certificatePem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
      )
      .join('');
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${esc(this.entityId)}">` +
      `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keyDescriptors}` +
      `<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>` +
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${esc(this.entityId)}/sso"/>` +
      `</md:IDPSSODescriptor></md:EntityDescriptor>\n`
    );
  }

  async writeMetadata(file: string): Promise<void> {
    await writeFile(file, this.metadata());
  }

  /** Serves the metadata at http://127.0.0.1:PORT/metadata; returns that URL. */
  async serve(): Promise<string> {
    if (this.#url) return this.#url;
    const server = createServer((req, res) => {
      if (req.url !== '/metadata') return res.writeHead(404).end();
      const body = this.metadata();
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
    return this.#url;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Replaces the signing key (the metadata changes with it). */
  async rotate(): Promise<void> {
    this.key = await newSamlKey(this.entityId);
  }

  /** A signed assertion (or a Response with one), base64: the credential a caller sends. */
  issue(opts: IssueOptions): string {
    const signed = this.sign(this.assertionXml(opts), opts);
    if (!opts.response) return Buffer.from(signed).toString('base64');
    const response = this.responseXml(signed, { issuer: opts.issuer });
    return Buffer.from(opts.signResponse ? this.sign(response, opts) : response).toString('base64');
  }

  /** An unsigned assertion. */
  assertionXml(opts: SamlAssertionOptions): string {
    const now = Date.now() + (opts.issuedOffsetSeconds ?? 0) * 1000;
    const ttl = (opts.ttlSeconds ?? 600) * 1000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const pick = (v: string | null | undefined, dflt: string) => (v === null ? undefined : (v ?? dflt));
    const attr = (name: string, v: string | undefined) => (v === undefined ? '' : ` ${name}="${v}"`);
    const notBefore = pick(opts.notBefore, iso(now));
    const notOnOrAfter = pick(opts.notOnOrAfter, iso(now + ttl));
    const scdNotOnOrAfter = pick(opts.subjectConfirmationNotOnOrAfter, iso(now + ttl));
    const audiences = opts.audiences ?? ['scopekeeper'];
    const attributes: Record<string, string[]> = { ...opts.attributes };
    if (opts.groups) attributes[opts.groupsAttribute ?? 'groups'] = opts.groups;
    const attributeXml = Object.entries(attributes)
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${esc(name)}">${values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`,
      )
      .join('');
    return (
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
      `ID="${opts.id ?? newId()}" Version="2.0" IssueInstant="${iso(now)}">` +
      `<saml:Issuer>${esc(opts.issuer ?? this.entityId)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${esc(opts.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${attr('NotOnOrAfter', scdNotOnOrAfter)}/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions${attr('NotBefore', notBefore)}${attr('NotOnOrAfter', notOnOrAfter)}>` +
      (audiences.length
        ? `<saml:AudienceRestriction>${audiences.map((a) => `<saml:Audience>${esc(a)}</saml:Audience>`).join('')}</saml:AudienceRestriction>`
        : '') +
      `</saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${iso(now)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      (attributeXml ? `<saml:AttributeStatement>${attributeXml}</saml:AttributeStatement>` : '') +
      `</saml:Assertion>`
    );
  }

  /** A Response around `inner` (one or more assertions, signed or not). */
  responseXml(inner: string, opts: { issuer?: string; id?: string; status?: string } = {}): string {
    return (
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ` +
      `ID="${opts.id ?? newId()}" Version="2.0" IssueInstant="${new Date().toISOString()}">` +
      `<saml:Issuer>${esc(opts.issuer ?? this.entityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${opts.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>` +
      `${inner}</samlp:Response>`
    );
  }

  /** Signs the root element of `xml` (enveloped, exclusive C14N, signature after its Issuer). */
  sign(xml: string, opts: SignOptions = {}): string {
    const key = opts.key ?? this.key;
    const sig = new SignedXml({
      privateKey: key.privateKeyPem,
      publicCert: key.certificatePem,
      signatureAlgorithm: opts.signatureAlgorithm ?? SAML_ALG.rsaSha256,
      canonicalizationAlgorithm: SAML_ALG.excC14n,
    });
    sig.addReference({
      xpath: '/*',
      transforms: [SAML_ALG.enveloped, SAML_ALG.excC14n],
      digestAlgorithm: opts.digestAlgorithm ?? SAML_ALG.sha256,
    });
    const prefix = opts.prefix ?? 'ds';
    sig.computeSignature(xml, { ...(prefix ? { prefix } : {}), location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
    return sig.getSignedXml();
  }
}

/** A new RSA key (2048 bits unless told) and a self-signed certificate (one year, backdated an hour). */
export async function newSamlKey(commonName = 'local-saml-idp', bits = 2048): Promise<SamlKey> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: bits };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${commonName.replace(/[,=+<>#;"\\]/g, '_')}`,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: alg,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), certificatePem: cert.toString('pem') };
}

function certBase64(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

function newId(): string {
  return `_${randomBytes(16).toString('hex')}`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
