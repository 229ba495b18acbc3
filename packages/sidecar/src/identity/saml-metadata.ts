// The SAML identity providers this sidecar trusts, from their metadata (`--saml-idp-metadata`,
// a file or an https URL, repeatable): each IdP's entityID (the issuer of its identities) and
// its signing certificates. Files are re-read when they change (checked at most once a second);
// URLs are re-fetched every `refreshSeconds`. A source that fails to load or re-load keeps its
// last good content (and reports why in `status()`), so a bad edit never widens or drops trust.
// Metadata signatures are not checked: the file or the https URL is the trust anchor.
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { fetch } from 'undici';
import type { Element } from '@xmldom/xmldom';
import { NS, SamlXmlError, childElements, isElement, parseSafeXml, textOnly } from './saml-xml.ts';

export interface SamlIdp {
  entityId: string;
  /** Signing certificates (PEM), RSA ≥ 2048 bits. */
  certificates: string[];
  /** The --saml-idp-metadata value it came from. */
  source: string;
}

export interface SamlMetadataStatus {
  source: string;
  entityIds: string[];
  loadedAt?: number;
  lastError?: string;
}

const MAX_METADATA_BYTES = 1024 * 1024;
const MIN_RSA_BITS = 2048;

/** Parses one metadata document (EntityDescriptor or EntitiesDescriptor); throws an Error naming what is wrong. */
export function parseIdpMetadata(xml: string, source: string, now = Date.now()): SamlIdp[] {
  let root: Element;
  try {
    root = parseSafeXml(xml, { maxBytes: MAX_METADATA_BYTES, maxDepth: 64, maxElements: 100_000 }).documentElement!;
  } catch (err) {
    throw new Error(`SAML metadata ${source} ${err instanceof SamlXmlError ? err.message : 'cannot be parsed'}`);
  }
  checkValidUntil(root, source, now);
  const entities = isElement(root, NS.metadata, 'EntityDescriptor')
    ? [root]
    : isElement(root, NS.metadata, 'EntitiesDescriptor')
      ? childElements(root, NS.metadata, 'EntityDescriptor')
      : undefined;
  if (!entities) throw new Error(`SAML metadata ${source} is not an md:EntityDescriptor or md:EntitiesDescriptor`);
  const idps: SamlIdp[] = [];
  for (const entity of entities) {
    const descriptors = childElements(entity, NS.metadata, 'IDPSSODescriptor');
    if (descriptors.length === 0) continue;
    checkValidUntil(entity, source, now);
    const entityId = entity.getAttribute('entityID') ?? '';
    if (entityId === '') throw new Error(`SAML metadata ${source}: an EntityDescriptor has no entityID`);
    // (a federation's aggregate may list an entity twice: which copy's keys to trust is not ours to pick)
    if (idps.some((i) => i.entityId === entityId)) throw new Error(`SAML metadata ${source} describes IdP ${entityId} twice; keep one`);
    const certificates: string[] = [];
    for (const d of descriptors) {
      for (const kd of childElements(d, NS.metadata, 'KeyDescriptor')) {
        const use = kd.getAttribute('use');
        if (use && use !== 'signing') continue;
        for (const ki of childElements(kd, NS.dsig, 'KeyInfo')) {
          for (const data of childElements(ki, NS.dsig, 'X509Data')) {
            for (const c of childElements(data, NS.dsig, 'X509Certificate'))
              certificates.push(certificatePem(textOnly(c) ?? '', entityId, source));
          }
        }
      }
    }
    if (certificates.length === 0)
      throw new Error(
        `SAML metadata ${source}: IdP ${entityId} publishes no signing certificate (KeyDescriptor use="signing" with an X509Certificate)`,
      );
    idps.push({ entityId, certificates: [...new Set(certificates)], source });
  }
  if (idps.length === 0) throw new Error(`SAML metadata ${source} describes no identity provider (no IDPSSODescriptor)`);
  return idps;
}

function checkValidUntil(el: Element, source: string, now: number): void {
  const validUntil = el.getAttribute('validUntil');
  if (!validUntil) return;
  const t = Date.parse(validUntil);
  if (Number.isNaN(t)) throw new Error(`SAML metadata ${source}: validUntil ${JSON.stringify(validUntil)} is not a time`);
  if (t <= now) throw new Error(`SAML metadata ${source} expired at ${validUntil} (validUntil); fetch current metadata from the IdP`);
}

function certificatePem(base64: string, entityId: string, source: string): string {
  const b64 = base64.replace(/\s+/g, '');
  let cert: X509Certificate;
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('not base64');
    cert = new X509Certificate(Buffer.from(b64, 'base64'));
  } catch {
    throw new Error(`SAML metadata ${source}: a signing certificate of ${entityId} is not a valid X.509 certificate`);
  }
  const key = cert.publicKey;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if ((key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') || bits < MIN_RSA_BITS) {
    throw new Error(
      `SAML metadata ${source}: the signing certificate of ${entityId} must hold an RSA key of at least ${MIN_RSA_BITS} bits`,
    );
  }
  return cert.toString();
}

interface SourceState {
  source: string;
  url?: URL;
  idps: SamlIdp[];
  mtimeMs?: number;
  checkedAt: number;
  loadedAt?: number;
  lastError?: string;
  inflight?: Promise<void>;
}

export interface SamlMetadataOptions {
  sources: string[];
  /**
   * The sidecar's OIDC issuers (--issuer, --service-account-issuer). An identity is the pair
   * (issuer, subject) and subjects name an issuer by its string, so an IdP whose entityID is spelt
   * as one of them would speak for that issuer's users and groups: such metadata is refused.
   */
  oidcIssuers?: readonly string[];
  /** How often a URL is re-fetched. Default 600. */
  refreshSeconds?: number;
  fetchTimeoutMs?: number;
  now?: () => number;
}

export class SamlMetadata {
  #sources: SourceState[];
  #refreshMs: number;
  #timeoutMs: number;
  #now: () => number;
  #oidcIssuers: ReadonlySet<string>;
  /** Bumped whenever the trusted IdPs or their certificates change (verified-assertion caches key on it). */
  generation = 0;

  constructor(opts: SamlMetadataOptions) {
    this.#refreshMs = (opts.refreshSeconds ?? 600) * 1000;
    this.#timeoutMs = opts.fetchTimeoutMs ?? 5000;
    this.#now = opts.now ?? Date.now;
    this.#oidcIssuers = new Set(opts.oidcIssuers ?? []);
    this.#sources = opts.sources.map((source) => ({ source, url: metadataUrl(source), idps: [], checkedAt: 0 }));
  }

  get configured(): boolean {
    return this.#sources.length > 0;
  }

  /** Loads every source; rejects with the first failure (the others were still attempted). */
  async load(): Promise<void> {
    const results = await Promise.allSettled(this.#sources.map((s) => this.#reload(s, true)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** The IdP whose entityID this is, after re-reading a changed source. */
  async idp(entityId: string): Promise<SamlIdp | undefined> {
    await this.refresh();
    for (const s of this.#sources) {
      const idp = s.idps.find((i) => i.entityId === entityId);
      if (idp) return idp;
    }
    return undefined;
  }

  /** Re-reads what changed (files at most once a second, URLs every refreshSeconds). */
  async refresh(): Promise<void> {
    // A changed file is seen at once; a loaded URL is re-fetched in the background (its last
    // good content keeps answering meanwhile).
    await Promise.all(
      this.#sources.map((s) => {
        const p = this.#reload(s, false).catch(() => undefined);
        return s.url && s.idps.length > 0 ? undefined : p;
      }),
    );
  }

  entityIds(): string[] {
    return this.#sources.flatMap((s) => s.idps.map((i) => i.entityId));
  }

  status(): SamlMetadataStatus[] {
    return this.#sources.map((s) => {
      const st: SamlMetadataStatus = { source: s.source, entityIds: s.idps.map((i) => i.entityId) };
      if (s.loadedAt !== undefined) st.loadedAt = s.loadedAt;
      if (s.lastError !== undefined) st.lastError = s.lastError;
      return st;
    });
  }

  #reload(s: SourceState, force: boolean): Promise<void> {
    const now = this.#now();
    const interval = s.url && s.idps.length > 0 ? this.#refreshMs : 1000;
    if (!force && now - s.checkedAt < interval) return s.inflight ?? Promise.resolve();
    if (!s.inflight) {
      s.checkedAt = now;
      s.inflight = this.#read(s)
        .then(
          (text) => {
            if (text === undefined) return;
            const idps = parseIdpMetadata(text, s.source, this.#now());
            for (const idp of idps) {
              if (this.#oidcIssuers.has(idp.entityId))
                throw new Error(
                  `SAML metadata ${s.source}: IdP ${idp.entityId} has the name of an OIDC issuer of this sidecar (--issuer, --service-account-issuer), so its assertions would speak for that issuer's users, groups and service accounts; give the IdP an entityID of its own`,
                );
              const other = this.#sources.find((o) => o !== s && o.idps.some((i) => i.entityId === idp.entityId));
              if (other) throw new Error(`SAML metadata ${s.source}: IdP ${idp.entityId} is already configured by ${other.source}`);
            }
            if (
              JSON.stringify(idps.map((i) => [i.entityId, i.certificates])) !==
              JSON.stringify(s.idps.map((i) => [i.entityId, i.certificates]))
            )
              this.generation++;
            s.idps = idps;
            s.loadedAt = this.#now();
            delete s.lastError;
          },
          (err: unknown) => {
            throw new Error(`SAML metadata ${s.source} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
          },
        )
        .catch((err: Error) => {
          s.lastError = err.message;
          throw err;
        })
        .finally(() => {
          delete s.inflight;
        });
    }
    return s.inflight;
  }

  /** The document, or undefined when a file has not changed since it was last read. */
  async #read(s: SourceState): Promise<string | undefined> {
    if (!s.url) {
      const { mtimeMs, size } = await stat(s.source);
      if (mtimeMs === s.mtimeMs && s.idps.length > 0) return undefined;
      if (size > MAX_METADATA_BYTES) throw new Error(`larger than ${MAX_METADATA_BYTES} bytes`);
      const text = await readFile(s.source, 'utf8');
      s.mtimeMs = mtimeMs;
      return text;
    }
    const res = await fetch(s.url, {
      redirect: 'error',
      signal: AbortSignal.timeout(this.#timeoutMs),
      headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' },
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`HTTP ${res.status}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      size += chunk.byteLength;
      if (size > MAX_METADATA_BYTES) throw new Error(`larger than ${MAX_METADATA_BYTES} bytes`);
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** A URL source (https, or http on loopback), or undefined for a file path; throws for other URLs. */
export function metadataUrl(source: string): URL | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return undefined;
  const url = new URL(source);
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return url;
  throw new Error(`--saml-idp-metadata ${source}: a URL must be https (http only on loopback)`);
}
