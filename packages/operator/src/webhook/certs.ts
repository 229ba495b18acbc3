// The webhook's TLS when cert-manager is not used: a self-made CA (ECDSA P-256, 10 years) and a
// serving certificate for <svc>.<ns>.svc (1 year), kept in a Secret (or a directory), renewed
// 30 days before expiry, and the CA bundle patched into both webhook configurations.
//
// X.509 creation: Node has no certificate builder, the node:24-slim image has no openssl CLI, so
// this uses @peculiar/x509 on Node's own WebCrypto (keys and signatures in native code, a
// certificate in about a millisecond). It needs the reflect-metadata polyfill (its DI container),
// loaded here before it. Parsing and checks use node:crypto's X509Certificate.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, createPublicKey, randomBytes, type webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { describeError, isNotFound, type Logger } from '@scopekeeper/kube';
import { WEBHOOK_CONFIGURATION_NAME } from './constants.ts';

export interface CertPair {
  certPem: string;
  keyPem: string;
}

export interface WebhookCerts {
  /** PEM bundle the API server trusts for the webhook (the caBundle): the current CA first, then older unexpired ones. */
  caBundle: string;
  /** The CA that signs the serving certificate. */
  ca: CertPair;
  /** What the webhook server presents (tls.crt / tls.key). */
  serving: CertPair;
}

export const DAY_MS = 86_400_000;
/** Renew a serving certificate when less than this is left. */
export const ROTATE_BEFORE_MS = 30 * DAY_MS;
/** Renew the CA when less than this is left (the old one stays in the bundle until it expires). */
export const CA_ROTATE_BEFORE_MS = 365 * DAY_MS;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type CryptoKey = webcrypto.CryptoKey;

const serial = (): string => {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
};

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return crypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
}

/** A new self-signed CA (ECDSA P-256). Backdated an hour against clock skew. */
export async function generateCA(opts: { commonName?: string; validityDays?: number; now?: number } = {}): Promise<CertPair> {
  const now = opts.now ?? Date.now();
  const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${opts.commonName ?? 'scopekeeper-webhook-ca'}, O=scopekeeper`,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + (opts.validityDays ?? 3650) * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/** A serving certificate signed by `ca` for the given DNS names (and IP addresses). */
export async function issueServingCert(
  ca: CertPair,
  opts: { dnsNames: string[]; ipAddresses?: string[]; validityDays?: number; now?: number },
): Promise<CertPair> {
  if (opts.dnsNames.length === 0 && !opts.ipAddresses?.length)
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  const now = opts.now ?? Date.now();
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = await crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.dnsNames[0] ?? opts.ipAddresses![0]}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(Math.min(now + (opts.validityDays ?? 365) * DAY_MS, caCert.notAfter.getTime())),
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.keyPem),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([
        ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/** The names a Service is reached by from the API server. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** The certificates in a PEM bundle, in order. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** When the certificate stops being valid (ms), or undefined when it does not parse. */
export function certExpiry(certPem: string): number | undefined {
  const c = parse(certPem);
  return c ? Date.parse(c.validTo) : undefined;
}

/** True when the certificate is unreadable, not yet valid, or has less than `beforeMs` (default 30 days) left. */
export function needsRotation(certPem: string, now: number = Date.now(), beforeMs: number = ROTATE_BEFORE_MS): boolean {
  const c = parse(certPem);
  if (!c) return true;
  return Date.parse(c.validFrom) > now + 60_000 || Date.parse(c.validTo) - now < beforeMs;
}

/** Whether the private key belongs to the certificate. */
export function keyMatches(pair: CertPair): boolean {
  const c = parse(pair.certPem);
  if (!c) return false;
  try {
    const fromKey = createPublicKey(createPrivateKey(pair.keyPem)).export({ format: 'der', type: 'spki' });
    return fromKey.equals(c.publicKey.export({ format: 'der', type: 'spki' }));
  } catch {
    return false;
  }
}

/** Whether `certPem` was issued by the CA `caPem` (signature and issuer name). */
export function signedBy(certPem: string, caPem: string): boolean {
  const c = parse(certPem);
  const ca = parse(caPem);
  return !!c && !!ca && c.checkIssued(ca) && c.verify(ca.publicKey);
}

/** Whether the certificate names every DNS name and IP address. */
export function covers(certPem: string, dnsNames: readonly string[], ipAddresses: readonly string[] = []): boolean {
  const c = parse(certPem);
  if (!c) return false;
  const san = (c.subjectAltName ?? '').split(', ');
  return dnsNames.every((d) => san.includes(`DNS:${d}`)) && ipAddresses.every((ip) => san.includes(`IP Address:${ip}`));
}

// ---- where the certificates live ------------------------------------------------------------

export interface CertStore {
  /** Shown in logs and errors. */
  readonly describe: string;
  load(): Promise<WebhookCerts | undefined>;
  save(certs: WebhookCerts): Promise<void>;
}

/** Secret keys (the same names cert-manager writes, plus ca.key). */
export const SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt', caKey: 'ca.key' } as const;

function fromFiles(get: (k: string) => string | undefined): WebhookCerts | undefined {
  const cert = get(SECRET_KEYS.cert);
  const key = get(SECRET_KEYS.key);
  const bundle = get(SECRET_KEYS.ca);
  const caKey = get(SECRET_KEYS.caKey);
  if (!cert || !key || !bundle || !caKey) return undefined;
  const caCert = splitPem(bundle)[0];
  if (!caCert) return undefined;
  return { caBundle: bundle, ca: { certPem: caCert, keyPem: caKey }, serving: { certPem: cert, keyPem: key } };
}

function toFiles(c: WebhookCerts): Record<string, string> {
  return {
    [SECRET_KEYS.cert]: c.serving.certPem,
    [SECRET_KEYS.key]: c.serving.keyPem,
    [SECRET_KEYS.ca]: c.caBundle,
    [SECRET_KEYS.caKey]: c.ca.keyPem,
  };
}

/** tls.crt, tls.key, ca.crt and ca.key in a directory (mode 0600, each replaced atomically). */
export function dirCertStore(dir: string): CertStore {
  return {
    describe: `directory ${dir}`,
    async load() {
      const files: Record<string, string> = {};
      for (const k of Object.values(SECRET_KEYS)) {
        try {
          files[k] = await readFile(join(dir, k), 'utf8');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw e;
        }
      }
      return fromFiles((k) => files[k]);
    },
    async save(c) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const [k, v] of Object.entries(toFiles(c))) {
        const tmp = join(dir, `.${k}.${process.pid}.tmp`);
        await writeFile(tmp, v, { mode: 0o600 });
        await rename(tmp, join(dir, k));
      }
    },
  };
}

/** The part of @kubernetes/client-node's CoreV1Api the Secret store uses. */
export interface SecretApi {
  readNamespacedSecret(param: {
    name: string;
    namespace: string;
  }): Promise<{ metadata?: { resourceVersion?: string }; data?: { [k: string]: string } }>;
  replaceNamespacedSecret(param: { name: string; namespace: string; body: SecretBody }): Promise<unknown>;
  createNamespacedSecret(param: { namespace: string; body: SecretBody }): Promise<unknown>;
}
interface SecretBody {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  type: string;
  data: Record<string, string>;
}

/**
 * A Secret in the operator's namespace. The chart creates it empty (so the operator needs only
 * get/update on that one name); without it the store creates it. Writes carry the resourceVersion
 * read last, so two leaders cannot overwrite each other (a 409 is thrown; load and try again).
 */
export function secretCertStore(api: SecretApi, namespace: string, name: string): CertStore {
  let resourceVersion: string | undefined;
  let exists = false;
  return {
    describe: `Secret ${namespace}/${name}`,
    async load() {
      try {
        const s = await api.readNamespacedSecret({ name, namespace });
        exists = true;
        resourceVersion = s.metadata?.resourceVersion;
        const data = s.data ?? {};
        return fromFiles((k) => (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : undefined));
      } catch (e) {
        if (!isNotFound(e)) throw new Error(`could not read Secret ${namespace}/${name}: ${describeError(e)}`);
        exists = false;
        resourceVersion = undefined;
        return undefined;
      }
    },
    async save(c) {
      const body: SecretBody = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name,
          namespace,
          ...(resourceVersion ? { resourceVersion } : {}),
          labels: { 'app.kubernetes.io/part-of': 'scopekeeper' },
        },
        type: 'Opaque',
        data: Object.fromEntries(Object.entries(toFiles(c)).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      };
      try {
        if (exists) await api.replaceNamespacedSecret({ name, namespace, body });
        else await api.createNamespacedSecret({ namespace, body });
      } catch (e) {
        throw Object.assign(new Error(`could not write Secret ${namespace}/${name}: ${describeError(e)}`), {
          code: (e as { code?: unknown }).code,
        });
      }
    },
  };
}

// ---- ensuring them --------------------------------------------------------------------------

export interface EnsureCertsOptions {
  serviceName: string;
  namespace: string;
  /** Where the certificates live; or `dir` for a directory store. */
  store?: CertStore;
  dir?: string;
  /** More names or addresses the serving certificate must carry (e.g. 127.0.0.1 for a url webhook). */
  extraDnsNames?: string[];
  ipAddresses?: string[];
  now?: number;
  rotateBeforeMs?: number;
  caRotateBeforeMs?: number;
  servingValidityDays?: number;
  caValidityDays?: number;
}

export interface EnsureCertsResult {
  certs: WebhookCerts;
  /** Whether anything was generated (and saved): the caller then patches the bundle and reloads. */
  changed: boolean;
  reasons: string[];
}

/**
 * Loads the certificates and renews what needs it: a missing or broken CA, a CA within a year of
 * expiry (the old one stays in the bundle), a serving certificate that is missing, within 30 days
 * of expiry, not signed by the current CA, or missing a name. Saves when anything changed.
 * Patch the bundle into the webhook configurations (patchCaBundle) before serving a certificate
 * from a new CA.
 */
export async function ensureCerts(opts: EnsureCertsOptions): Promise<EnsureCertsResult> {
  const store = opts.store ?? (opts.dir ? dirCertStore(opts.dir) : undefined);
  if (!store) throw new Error('ensureCerts needs a store or a dir');
  const now = opts.now ?? Date.now();
  const dnsNames = [...serviceDnsNames(opts.serviceName, opts.namespace), ...(opts.extraDnsNames ?? [])];
  const ips = opts.ipAddresses ?? [];
  const loaded = await store.load();
  const reasons: string[] = [];

  let ca = loaded?.ca;
  let bundle = loaded ? splitPem(loaded.caBundle).filter((p) => (certExpiry(p) ?? 0) > now) : [];
  if (!ca || !keyMatches(ca) || needsRotation(ca.certPem, now, 0)) {
    reasons.push(loaded ? 'the stored CA is unusable' : 'no certificates yet');
    ca = await generateCA({ now, validityDays: opts.caValidityDays });
    bundle = [ca.certPem];
  } else if (needsRotation(ca.certPem, now, opts.caRotateBeforeMs ?? CA_ROTATE_BEFORE_MS)) {
    reasons.push(`the CA expires ${new Date(certExpiry(ca.certPem)!).toISOString()}`);
    ca = await generateCA({ now, validityDays: opts.caValidityDays });
    bundle = [ca.certPem, ...bundle];
  } else if (!bundle.some((p) => p.trim() === ca!.certPem.trim())) {
    bundle = [ca.certPem, ...bundle];
    reasons.push('the CA was missing from the bundle');
  }

  let serving = loaded?.serving;
  const servingProblem = !serving
    ? 'no serving certificate'
    : !keyMatches(serving)
      ? 'the serving key does not match its certificate'
      : !signedBy(serving.certPem, ca.certPem)
        ? 'the serving certificate is not signed by the current CA'
        : !covers(serving.certPem, dnsNames, ips)
          ? 'the serving certificate lacks a name'
          : needsRotation(serving.certPem, now, opts.rotateBeforeMs ?? ROTATE_BEFORE_MS)
            ? `the serving certificate expires ${new Date(certExpiry(serving.certPem) ?? now).toISOString()}`
            : undefined;
  if (servingProblem) {
    reasons.push(servingProblem);
    serving = await issueServingCert(ca, { dnsNames, ipAddresses: ips, now, validityDays: opts.servingValidityDays });
  }
  const certs: WebhookCerts = { caBundle: bundle.map((p) => p.trim()).join('\n') + '\n', ca, serving: serving! };
  const changed = reasons.length > 0;
  if (changed) await store.save(certs);
  return { certs, changed, reasons };
}

// ---- the CA bundle in the webhook configurations --------------------------------------------

interface WebhookConfigObject {
  metadata?: { resourceVersion?: string };
  webhooks?: { name: string; clientConfig: { caBundle?: string } }[];
}

/** The part of @kubernetes/client-node's AdmissionregistrationV1Api that patchCaBundle uses. */
export interface WebhookConfigApi {
  readMutatingWebhookConfiguration(param: { name: string }): Promise<WebhookConfigObject>;
  readValidatingWebhookConfiguration(param: { name: string }): Promise<WebhookConfigObject>;
  patchMutatingWebhookConfiguration(
    param: { name: string; body: unknown; fieldManager?: string },
    options?: ReturnType<typeof setHeaderOptions>,
  ): Promise<unknown>;
  patchValidatingWebhookConfiguration(
    param: { name: string; body: unknown; fieldManager?: string },
    options?: ReturnType<typeof setHeaderOptions>,
  ): Promise<unknown>;
}

const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * Writes `caBundle` (PEM) into every webhook of the MutatingWebhookConfiguration and the
 * ValidatingWebhookConfiguration named `name` (default `scopekeeper`) whose bundle differs, as a
 * JSON patch guarded by the resourceVersion read. Returns the webhooks it changed. Call it on the
 * leader only, and not when cert-manager's cainjector manages the bundle.
 */
export async function patchCaBundle(
  api: WebhookConfigApi,
  caBundle: string,
  opts: { name?: string; log?: Logger } = {},
): Promise<{ mutating: string[]; validating: string[] }> {
  const name = opts.name ?? WEBHOOK_CONFIGURATION_NAME;
  const b64 = Buffer.from(caBundle).toString('base64');
  const one = async (kind: 'Mutating' | 'Validating'): Promise<string[]> => {
    let cfg: WebhookConfigObject;
    try {
      cfg =
        kind === 'Mutating' ? await api.readMutatingWebhookConfiguration({ name }) : await api.readValidatingWebhookConfiguration({ name });
    } catch (e) {
      if (isNotFound(e))
        throw new Error(
          `${kind}WebhookConfiguration ${name} does not exist: install the scopekeeper chart (it creates both webhook configurations)`,
        );
      throw new Error(`could not read ${kind}WebhookConfiguration ${name}: ${describeError(e)}`);
    }
    const changed: string[] = [];
    const ops: unknown[] = [{ op: 'test', path: '/metadata/resourceVersion', value: cfg.metadata?.resourceVersion }];
    (cfg.webhooks ?? []).forEach((w, i) => {
      if (w.clientConfig?.caBundle === b64) return;
      ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: b64 });
      changed.push(w.name);
    });
    if (changed.length === 0) return [];
    const param = { name, body: ops, fieldManager: 'scopekeeper-operator' };
    try {
      if (kind === 'Mutating') await api.patchMutatingWebhookConfiguration(param, jsonPatch);
      else await api.patchValidatingWebhookConfiguration(param, jsonPatch);
    } catch (e) {
      throw new Error(`could not patch the CA bundle into ${kind}WebhookConfiguration ${name}: ${describeError(e)}`);
    }
    opts.log?.info({ configuration: `${kind}WebhookConfiguration/${name}`, webhooks: changed }, 'patched the webhook CA bundle');
    return changed;
  };
  return { mutating: await one('Mutating'), validating: await one('Validating') };
}
