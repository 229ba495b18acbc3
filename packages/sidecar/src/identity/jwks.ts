// Fetching an issuer's keys: OIDC discovery for the jwks_uri, then the JWKS. Documents are
// size-capped, redirects refused, transport https (http on loopback only); every failure is an
// IssuerUnavailableError whose detail names the URL and the reason, never token content.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { failWithoutAnswer, http } from '../http/node-http.ts';
import type { Agent as HttpsAgent } from 'node:https';
import { httpsModule } from '../http/tls.ts';
import type { JWK } from 'jose';
import { IssuerUnavailableError } from './errors.ts';
import { checkUrl, transportAllowed, type IssuerConfig } from './flags.ts';
import type { CachedKey } from './keys.ts';

/** Largest discovery or JWKS document read. */
const MAX_DOCUMENT_BYTES = 512 * 1024;

export class JwksClient {
  readonly config: IssuerConfig;
  /** Learnt from discovery; forgotten when it stops answering. */
  jwksUri?: string;
  #discoveryBase: string;
  /** Keep-alive connections to the issuer (its CA when --issuer-ca is given). */
  #agent: HttpsAgent | undefined;
  #timeoutMs: number;

  constructor(config: IssuerConfig, timeoutMs: number) {
    this.config = config;
    this.#timeoutMs = timeoutMs;
    this.#discoveryBase = (config.discoveryUrl ?? config.issuer).replace(/\/+$/, '');
    checkUrl(
      this.#discoveryBase,
      config.discoveryUrl === undefined ? `issuer ${config.issuer}` : `discovery URL of ${config.issuer}`,
      true,
    );
  }

  async close(): Promise<void> {
    this.#agent?.destroy();
  }

  #httpsAgent(): HttpsAgent {
    const ca = this.config.ca;
    return (this.#agent ??= new (httpsModule().Agent)({ keepAlive: true, maxSockets: 4, ...(ca === undefined ? {} : { ca }) }));
  }

  /** Discovery (when the jwks_uri is not known or failed) and the JWKS: the usable keys, never none. */
  async fetchKeys(): Promise<CachedKey[]> {
    if (this.jwksUri !== undefined) {
      try {
        return await this.#fetchJwks(this.jwksUri);
      } catch {
        this.jwksUri = undefined; // re-discover: the jwks_uri may have moved
      }
    }
    const jwksUri = await this.#discover();
    const keys = await this.#fetchJwks(jwksUri);
    this.jwksUri = jwksUri;
    return keys;
  }

  async #discover(): Promise<string> {
    const issuer = this.config.issuer;
    const url = `${this.#discoveryBase}/.well-known/openid-configuration`;
    const doc = await this.#fetchJson(url, 'discovery');
    if (doc.issuer !== issuer) {
      throw new IssuerUnavailableError(
        issuer,
        `discovery ${url}: the document names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`,
      );
    }
    const jwksUri = doc.jwks_uri;
    if (typeof jwksUri !== 'string') throw new IssuerUnavailableError(issuer, `discovery ${url}: no jwks_uri`);
    let parsed: URL;
    try {
      parsed = new URL(jwksUri);
    } catch {
      throw new IssuerUnavailableError(issuer, `discovery ${url}: jwks_uri ${JSON.stringify(jwksUri)} is not a URL`);
    }
    if (!transportAllowed(parsed)) {
      throw new IssuerUnavailableError(issuer, `discovery ${url}: jwks_uri ${jwksUri} is not https (http is accepted on loopback only)`);
    }
    return jwksUri;
  }

  async #fetchJwks(url: string): Promise<CachedKey[]> {
    const doc = await this.#fetchJson(url, 'JWKS');
    if (!Array.isArray(doc.keys)) throw new IssuerUnavailableError(this.config.issuer, `JWKS ${url}: no "keys" array`);
    const keys: CachedKey[] = [];
    for (const raw of doc.keys as unknown[]) {
      const jwk = publicJwk(raw);
      if (jwk) keys.push(jwk.kid === undefined ? { jwk, imported: new Map() } : { kid: jwk.kid, jwk, imported: new Map() });
    }
    if (keys.length === 0) {
      // Never replace working keys with nothing: an empty set is treated as an outage.
      throw new IssuerUnavailableError(this.config.issuer, `JWKS ${url}: no usable signing key (RSA, EC or OKP with use "sig")`);
    }
    return keys;
  }

  async #fetchJson(url: string, what: string): Promise<Record<string, unknown>> {
    const issuer = this.config.issuer;
    // A JWKS is application/jwk-set+json (RFC 7517): the kube-apiserver answers 406 to a JWKS
    // request that accepts only application/json, so projected service-account tokens never verified.
    const headers: Record<string, string> = { accept: what === 'JWKS' ? 'application/jwk-set+json, application/json' : 'application/json' };
    if (this.config.bearerTokenFile !== undefined) {
      let credential: string;
      try {
        credential = (await readFile(this.config.bearerTokenFile, 'utf8')).trim();
      } catch (err) {
        throw new IssuerUnavailableError(issuer, `${what}: cannot read bearerTokenFile ${this.config.bearerTokenFile}: ${describe(err)}`, {
          cause: err,
        });
      }
      headers.authorization = `Bearer ${credential}`;
    }
    let text: string;
    try {
      const res = await get(url, headers, () => this.#httpsAgent(), this.#timeoutMs);
      if (res.statusCode !== 200) {
        // Redirects are not followed (node:http never does): a 3xx is refused like any other status.
        res.destroy();
        throw new IssuerUnavailableError(issuer, `${what} ${url}: HTTP ${res.statusCode}`);
      }
      text = await readCapped(res, MAX_DOCUMENT_BYTES, this.#timeoutMs);
    } catch (err) {
      if (err instanceof IssuerUnavailableError) throw err;
      throw new IssuerUnavailableError(issuer, `${what} ${url}: ${describe(err)}`, { cause: err });
    }
    try {
      const doc: unknown = JSON.parse(text);
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
      return doc as Record<string, unknown>;
    } catch (err) {
      throw new IssuerUnavailableError(issuer, `${what} ${url}: invalid JSON (${describe(err)})`);
    }
  }
}

/** Builds the public form of a published key; undefined for keys we never verify with. */
function publicJwk(raw: unknown): JWK | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const k = raw as Record<string, unknown>;
  const str = (name: string): string | undefined => (typeof k[name] === 'string' && k[name] !== '' ? (k[name] as string) : undefined);
  if (k.use !== undefined && k.use !== 'sig') return undefined;
  if (k.key_ops !== undefined && !(Array.isArray(k.key_ops) && k.key_ops.includes('verify'))) return undefined;
  const jwk: JWK = {};
  switch (k.kty) {
    case 'RSA': {
      const n = str('n');
      const e = str('e');
      if (!n || !e) return undefined;
      Object.assign(jwk, { kty: 'RSA', n, e });
      break;
    }
    case 'EC': {
      const crv = str('crv');
      const x = str('x');
      const y = str('y');
      if (!crv || !x || !y) return undefined;
      Object.assign(jwk, { kty: 'EC', crv, x, y });
      break;
    }
    case 'OKP': {
      const crv = str('crv');
      const x = str('x');
      if (!crv || !x) return undefined;
      Object.assign(jwk, { kty: 'OKP', crv, x });
      break;
    }
    default:
      return undefined; // oct (symmetric) keys are never used, whatever the JWKS says
  }
  const kid = str('kid');
  const alg = str('alg');
  if (kid !== undefined) jwk.kid = kid;
  if (alg !== undefined) jwk.alg = alg;
  return jwk;
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** GET with node:http(s): the response once its headers are in, or an error within timeoutMs. */
function get(url: string, headers: Record<string, string>, agent: () => HttpsAgent, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsModule().request : http.request)(u, {
      method: 'GET',
      headers,
      ...(u.protocol === 'https:' ? { agent: agent() } : {}),
    });
    const timer = setTimeout(() => req.destroy(new TimeoutError('timed out')), timeoutMs);
    req.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    failWithoutAnswer(req, (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

async function readCapped(body: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => body.destroy(new TimeoutError('timed out')), timeoutMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > limit) {
        body.destroy();
        throw new Error(`document larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timed out';
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}
