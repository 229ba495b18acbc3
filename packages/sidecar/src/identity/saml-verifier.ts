// A SAML 2.0 assertion as the caller's credential (DESIGN.md §9a): base64 of a signed
// saml:Assertion, or of a samlp:Response holding exactly one, sent where SDKs put credentials.
//
// Order of checks (every failure is a 401 whose message says what to do and never quotes the
// assertion):
//   1. shape: size cap, strict base64, UTF-8, XML without DTD / entities / comments / PIs;
//   2. structure: one Assertion in the whole document (any namespace), no EncryptedAssertion,
//      a Response holds it as a direct child, reports Success and names the same Issuer;
//      every Signature sits directly in the Assertion or the Response root;
//   3. the UNVERIFIED Issuer selects one IdP from the metadata (nothing else is read before 4);
//   4. the assertion's own enveloped signature by a certificate of that IdP (RSA-SHA256 or
//      stronger), plus the Response's signature when it has one (saml-signature.ts);
//   5. the claims of the element the signature covered (saml-assertion.ts).
import { createHash } from 'node:crypto';
import type { Document, Element } from '@xmldom/xmldom';
import type { Identity } from '@scopekeeper/core';
import { IssuerUnavailableError } from './verifier.ts';
import { AS_ISSUED, claimFailure, fail, signatureFailure } from './saml-errors.ts';
import { NS, SamlXmlError, childElements, descendantsNamed, isElement, parseSafeXml, textOnly } from './saml-xml.ts';
import { SignatureError, verifyEnvelopedSignature } from './saml-signature.ts';
import { AssertionError, readAssertion, type VerifiedAssertion } from './saml-assertion.ts';
import type { SamlMetadata } from './saml-metadata.ts';

/** Longest credential accepted (base64 characters): two copies (Authorization and x-api-key) fit the 32 KB header limit. */
export const MAX_SAML_CREDENTIAL_LENGTH = 16 * 1024;
/**
 * Elements one assertion may hold. xml-crypto digests what a signature references before it checks
 * the signature itself, at tens of µs per element, once per certificate of the IdP: 1,900 empty
 * elements under the 16 KB bound cost 45–85 ms of the event loop with a forged signature, against
 * ~1 ms for an ordinary assertion (a few dozen elements, one per group value beyond them).
 */
export const MAX_SAML_ELEMENTS = 512;
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export { SamlAuthenticationError } from './saml-errors.ts';
export { looksLikeSaml } from './saml-credential.ts';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface SamlVerifierOptions {
  metadata: SamlMetadata;
  /** The sidecar's SP entityID, required in AudienceRestriction. Default `scopekeeper`. */
  audience?: string;
  /** Attribute whose values are the caller's groups. Default `groups`. */
  groupsAttribute?: string;
  /** The same cap as for tokens. Default 3600. */
  maxLifetimeSeconds?: number;
  clockSkewSeconds?: number;
  now?: () => number;
}

/** Verified credentials kept (by sha256) until they expire or the metadata changes. */
const CACHE_SIZE = 1000;

interface CachedIdentity {
  identity: Identity;
  expiresAtMs: number;
  generation: number;
}

export class SamlVerifier {
  readonly audience: string;
  readonly groupsAttribute: string;
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
  readonly metadata: SamlMetadata;
  #now: () => number;
  // XML signature checks cost milliseconds; the SDK re-sends one assertion on every request.
  #cache = new Map<string, CachedIdentity>();

  constructor(opts: SamlVerifierOptions) {
    this.metadata = opts.metadata;
    this.audience = opts.audience ?? 'scopekeeper';
    this.groupsAttribute = opts.groupsAttribute ?? 'groups';
    this.maxLifetimeSeconds = opts.maxLifetimeSeconds ?? 3600;
    this.clockSkewSeconds = opts.clockSkewSeconds ?? 30;
    this.#now = opts.now ?? Date.now;
    if (this.audience === '') throw new Error('--saml-audience must not be empty');
    if (this.groupsAttribute === '') throw new Error('--saml-groups-attribute must not be empty');
  }

  async verify(credential: string): Promise<Identity> {
    const key = createHash('sha256').update(credential).digest('base64');
    await this.metadata.refresh();
    const hit = this.#cache.get(key);
    if (hit && hit.generation === this.metadata.generation && this.#now() - this.clockSkewSeconds * 1000 < hit.expiresAtMs) {
      return { ...hit.identity, groups: [...hit.identity.groups] };
    }
    if (hit) this.#cache.delete(key);
    const generation = this.metadata.generation;
    const verified = await this.#verify(credential);
    if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, { identity: verified.identity, expiresAtMs: verified.expiresAtMs, generation });
    return { ...verified.identity, groups: [...verified.identity.groups] };
  }

  async #verify(credential: string): Promise<VerifiedAssertion> {
    const { xml, doc } = this.#parse(credential);
    const { root, assertion } = this.#structure(doc);
    const entityId = textOnly(childElements(assertion, NS.assertion, 'Issuer')[0] ?? assertion)?.trim() ?? '';
    const idp = await this.metadata.idp(entityId);
    if (!idp) {
      const failing = this.metadata.status().find((s) => s.entityIds.length === 0 && s.lastError);
      if (failing) throw new IssuerUnavailableError(`SAML metadata ${failing.source}`, failing.lastError!);
      const trusted = this.metadata.entityIds().join(', ') || '(none)';
      throw fail(
        'unknown_issuer',
        'unknown_idp',
        `The assertion's Issuer is not an IdP this sidecar trusts (${trusted}); use one of these, or add the IdP's metadata with --saml-idp-metadata`,
      );
    }
    let signed: Element;
    try {
      signed = verifyEnvelopedSignature(xml, doc, assertion, idp.certificates, 'assertion');
      if (root !== assertion && childElements(root, NS.dsig, 'Signature').length > 0)
        verifyEnvelopedSignature(xml, doc, root, idp.certificates, 'Response');
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      throw signatureFailure(err, idp.entityId);
    }
    if (descendantsNamed(signed, 'Assertion').length !== 1)
      throw fail('bad_signature', 'wrapped', `The signed assertion contains another assertion; ${AS_ISSUED}`);
    try {
      return readAssertion(signed, {
        issuer: idp.entityId,
        audience: this.audience,
        groupsAttribute: this.groupsAttribute,
        nowMs: this.#now(),
        clockSkewSeconds: this.clockSkewSeconds,
        maxLifetimeSeconds: this.maxLifetimeSeconds,
      });
    } catch (err) {
      if (!(err instanceof AssertionError)) throw err;
      throw claimFailure(err, this);
    }
  }

  #parse(credential: string): { xml: string; doc: Document } {
    if (credential.length > MAX_SAML_CREDENTIAL_LENGTH) {
      throw fail(
        'token_too_large',
        'too_large',
        `The SAML assertion is longer than ${MAX_SAML_CREDENTIAL_LENGTH} base64 characters; have the IdP issue a smaller one (fewer attributes, no certificate chain in KeyInfo)`,
      );
    }
    if (!BASE64.test(credential) || credential.length % 4 !== 0) {
      throw fail(
        'malformed_token',
        'base64',
        'The SAML credential is not standard base64 on one line; base64-encode the whole assertion (or Response) without line breaks',
      );
    }
    let xml: string;
    try {
      xml = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Buffer.from(credential, 'base64'));
    } catch {
      throw fail(
        'malformed_token',
        'base64',
        "The SAML credential does not decode to UTF-8 text; base64-encode the assertion's XML as the IdP issued it",
      );
    }
    try {
      return { xml, doc: parseSafeXml(xml, { maxBytes: MAX_SAML_CREDENTIAL_LENGTH, maxElements: MAX_SAML_ELEMENTS }) };
    } catch (err) {
      if (!(err instanceof SamlXmlError)) throw err;
      const advice: Record<SamlXmlError['problem'], string> = {
        too_large: 'have the IdP issue a smaller assertion',
        dtd: `DTDs and entity declarations are never accepted; ${AS_ISSUED}`,
        not_xml: `${AS_ISSUED}, base64-encoded`,
        comment: `comments are refused because they can cut a NameID short; ${AS_ISSUED}`,
        processing_instruction: AS_ISSUED,
        too_deep: AS_ISSUED,
        too_many_elements: 'have the IdP send fewer attributes or group values (a group filter), or send a JWT',
      };
      throw fail(
        err.problem === 'too_large' ? 'token_too_large' : 'malformed_token',
        err.problem,
        `The SAML document ${err.message}; ${advice[err.problem]}`,
      );
    }
  }

  #structure(doc: Document): { root: Element; assertion: Element } {
    const root = doc.documentElement!;
    if (descendantsNamed(doc, 'EncryptedAssertion').length > 0) {
      throw fail(
        'malformed_token',
        'encrypted',
        'Encrypted assertions are not accepted (the sidecar holds no decryption key); configure the IdP not to encrypt assertions for this SP',
      );
    }
    const assertions = descendantsNamed(doc, 'Assertion');
    if (assertions.length !== 1) {
      throw fail(
        'malformed_token',
        'assertion_count',
        `The SAML document holds ${assertions.length} assertions; send exactly one signed assertion, bare or in a Response`,
      );
    }
    const assertion = assertions[0]!;
    const isResponse = isElement(root, NS.protocol, 'Response');
    if (!isElement(assertion, NS.assertion, 'Assertion') || (root !== assertion && !(isResponse && assertion.parentNode === root))) {
      throw fail(
        'malformed_token',
        'structure',
        'The SAML document is neither a saml:Assertion nor a samlp:Response holding one directly; send one of those',
      );
    }
    for (const sig of descendantsNamed(doc, 'Signature')) {
      if (sig.parentNode !== root && sig.parentNode !== assertion) {
        throw fail('bad_signature', 'wrapped', `The SAML document has a Signature outside the assertion and the Response; ${AS_ISSUED}`);
      }
    }
    if (isResponse) {
      const status = childElements(root, NS.protocol, 'Status')[0];
      const code = status ? childElements(status, NS.protocol, 'StatusCode')[0]?.getAttribute('Value') : undefined;
      if (code !== SUCCESS)
        throw fail(
          'invalid_claim',
          'status',
          'The SAML Response does not report Success; send a successful Response, or the bare assertion',
        );
      const responseIssuer = childElements(root, NS.assertion, 'Issuer')[0];
      const assertionIssuer = childElements(assertion, NS.assertion, 'Issuer')[0];
      if (responseIssuer && (!assertionIssuer || textOnly(responseIssuer)?.trim() !== textOnly(assertionIssuer)?.trim())) {
        throw fail(
          'invalid_claim',
          'issuer',
          'The SAML Response and its assertion name different Issuers; send the Response as the IdP issued it',
        );
      }
    }
    return { root, assertion };
  }
}
