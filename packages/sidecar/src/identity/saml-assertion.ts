// The claims of a signed SAML 2.0 assertion (read only from the element the signature covered):
// Issuer, Subject/NameID, the bearer SubjectConfirmationData, Conditions (validity window and
// AudienceRestriction), the lifetime cap and the groups attribute — turned into core's Identity.
// Every refusal is an AssertionError whose message says what to change and never quotes the
// assertion, except the short Issuer / Audience values an operator needs to see.
import type { Element } from '@xmldom/xmldom';
import { identityFrom, type Identity } from '@scopekeeper/core';
import { NS, childElements, textOnly } from './saml-xml.ts';

export type AssertionProblem = 'malformed' | 'issuer' | 'audience' | 'expired' | 'not_yet_valid' | 'lifetime' | 'condition';

export class AssertionError extends Error {
  override name = 'AssertionError';
  readonly problem: AssertionProblem;
  constructor(problem: AssertionProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

export interface AssertionRules {
  /** The IdP's entityID: the only Issuer accepted. */
  issuer: string;
  audience: string;
  groupsAttribute: string;
  nowMs: number;
  clockSkewSeconds: number;
  maxLifetimeSeconds: number;
}

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';
/** xs:dateTime in UTC ("Z" or no zone, as SAML core §1.3.3 asks). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z?$/;
const MAX_NAME_LENGTH = 512;
const printable = (s: string) => ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

function one(parent: Element, name: string, what: string): Element {
  const found = childElements(parent, NS.assertion, name);
  if (found.length !== 1) throw new AssertionError('malformed', `The assertion must have exactly one ${what}`);
  return found[0]!;
}

function instant(el: Element, attr: string, what: string): number | undefined {
  const v = el.getAttribute(attr);
  if (v === null || v === '') return undefined;
  const ms = DATE_TIME.test(v) ? Date.parse(v.endsWith('Z') ? v : `${v}Z`) : NaN;
  if (Number.isNaN(ms)) throw new AssertionError('malformed', `The assertion's ${what} ${attr} is not a UTC xs:dateTime`);
  return ms;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function quote(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 77)}...` : clean);
}

export interface VerifiedAssertion {
  identity: Identity;
  /** The earliest NotOnOrAfter (Conditions, bearer confirmations): the assertion's end. */
  expiresAtMs: number;
}

/** Checks the assertion's claims under `rules` and returns the caller's identity. */
export function readAssertion(assertion: Element, rules: AssertionRules): VerifiedAssertion {
  const { nowMs } = rules;
  const skewMs = rules.clockSkewSeconds * 1000;
  if (assertion.getAttribute('Version') !== '2.0') throw new AssertionError('malformed', 'The assertion is not SAML 2.0 (Version="2.0")');
  const issued = instant(assertion, 'IssueInstant', 'assertion');
  if (issued === undefined) throw new AssertionError('malformed', 'The assertion has no IssueInstant');
  if (issued > nowMs + skewMs) {
    throw new AssertionError(
      'not_yet_valid',
      `The assertion claims to be issued at ${iso(issued)}, in the future; check the clocks of this host and of the IdP`,
    );
  }

  const issuerEl = one(assertion, 'Issuer', 'Issuer');
  const issuer = textOnly(issuerEl)?.trim();
  const format = issuerEl.getAttribute('Format');
  if (issuer !== rules.issuer || (format && format !== ENTITY_FORMAT)) {
    throw new AssertionError('issuer', `The assertion's Issuer is not ${quote(rules.issuer)}, the IdP whose key signed it`);
  }

  const subject = one(assertion, 'Subject', 'Subject');
  const nameIds = childElements(subject, NS.assertion, 'NameID');
  if (nameIds.length !== 1 || childElements(subject).some((e) => e.localName === 'EncryptedID' || e.localName === 'BaseID')) {
    throw new AssertionError('malformed', "The assertion's Subject must have exactly one plain NameID (not encrypted)");
  }
  const nameId = textOnly(nameIds[0]!)?.trim() ?? '';
  if (nameId === '' || nameId.length > MAX_NAME_LENGTH || !printable(nameId)) {
    throw new AssertionError('malformed', `The assertion's NameID must be 1–${MAX_NAME_LENGTH} printable characters`);
  }
  const bearerData = childElements(subject, NS.assertion, 'SubjectConfirmation')
    .filter((sc) => sc.getAttribute('Method') === BEARER)
    .flatMap((sc) => childElements(sc, NS.assertion, 'SubjectConfirmationData'));
  if (bearerData.length === 0)
    throw new AssertionError('malformed', 'The assertion has no bearer SubjectConfirmation with SubjectConfirmationData');
  const bearerEnds: number[] = [];
  for (const data of bearerData) {
    const end = instant(data, 'NotOnOrAfter', 'SubjectConfirmationData');
    if (end === undefined) throw new AssertionError('malformed', "The assertion's bearer SubjectConfirmationData has no NotOnOrAfter");
    if (nowMs - skewMs >= end) throw new AssertionError('expired', `The assertion's bearer confirmation expired at ${iso(end)}`);
    const start = instant(data, 'NotBefore', 'SubjectConfirmationData');
    if (start !== undefined && nowMs + skewMs < start)
      throw new AssertionError('not_yet_valid', `The assertion's bearer confirmation is not valid before ${iso(start)}`);
    bearerEnds.push(end);
  }

  const conditions = one(assertion, 'Conditions', 'Conditions element');
  const notBefore = instant(conditions, 'NotBefore', 'Conditions');
  const notOnOrAfter = instant(conditions, 'NotOnOrAfter', 'Conditions');
  if (notOnOrAfter === undefined)
    throw new AssertionError('malformed', "The assertion's Conditions have no NotOnOrAfter; only short-lived assertions are accepted");
  if (nowMs - skewMs >= notOnOrAfter) throw new AssertionError('expired', `The assertion expired at ${iso(notOnOrAfter)}`);
  if (notBefore !== undefined && nowMs + skewMs < notBefore)
    throw new AssertionError('not_yet_valid', `The assertion is not valid before ${iso(notBefore)}`);
  const start = Math.min(issued, notBefore ?? issued);
  const lifetime = (Math.max(notOnOrAfter, ...bearerEnds) - start) / 1000;
  if (lifetime > rules.maxLifetimeSeconds + rules.clockSkewSeconds) {
    throw new AssertionError(
      'lifetime',
      `The assertion is valid for ${Math.round(lifetime)} s, longer than the ${rules.maxLifetimeSeconds} s this sidecar accepts`,
    );
  }

  let restrictions = 0;
  for (const c of childElements(conditions)) {
    if (c.namespaceURI === NS.assertion && c.localName === 'AudienceRestriction') {
      restrictions++;
      const audiences = childElements(c, NS.assertion, 'Audience').map((a) => textOnly(a)?.trim());
      if (!audiences.includes(rules.audience)) {
        const named =
          audiences
            .filter((a): a is string => !!a)
            .map(quote)
            .join(', ') || '(none)';
        throw new AssertionError('audience', `The assertion is for audience ${named}, not ${quote(rules.audience)}`);
      }
    } else if (c.namespaceURI === NS.assertion && c.localName === 'OneTimeUse') {
      throw new AssertionError('condition', 'The assertion is marked OneTimeUse, but a credential is sent with every request');
    } else if (!(c.namespaceURI === NS.assertion && c.localName === 'ProxyRestriction')) {
      throw new AssertionError(
        'condition',
        'The assertion has a condition this sidecar does not understand (SAML core §2.5.1: such an assertion is not valid)',
      );
    }
  }
  if (restrictions === 0)
    throw new AssertionError('audience', `The assertion has no AudienceRestriction; it must name ${quote(rules.audience)}`);

  return {
    // core's identityFrom, the one place that says what claims make of a caller: a SAML caller is
    // (IdP entityID, NameID), never primary and never a ServiceAccount
    identity: identityFrom({
      credential: 'saml',
      issuer: rules.issuer,
      subject: nameId,
      groups: groupsOf(assertion, rules.groupsAttribute),
    }),
    expiresAtMs: Math.min(notOnOrAfter, ...bearerEnds),
  };
}

function groupsOf(assertion: Element, attributeName: string): string[] {
  const groups: string[] = [];
  for (const statement of childElements(assertion, NS.assertion, 'AttributeStatement')) {
    for (const attribute of childElements(statement, NS.assertion, 'Attribute')) {
      if (attribute.getAttribute('Name') !== attributeName) continue;
      for (const value of childElements(attribute, NS.assertion, 'AttributeValue')) {
        const g = textOnly(value)?.trim();
        if (g && g.length <= MAX_NAME_LENGTH && printable(g)) groups.push(g);
      }
    }
  }
  return [...new Set(groups)];
}
