// A small but real OIDC issuer for `scopekeeper demo` and the tests: an HTTP server on loopback
// serving /.well-known/openid-configuration and /jwks, with RS256 and ES256 keys generated at
// start. Tokens it mints are ordinary signed JWTs: the sidecar verifies them through the same
// discovery + JWKS path as any production issuer (there is no bypass).
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { IssuerConfig } from './flags.ts';

export type LocalIssuerAlgorithm = 'RS256' | 'ES256';

export interface LocalIssuerOptions {
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Port; default 0 (a free port). */
  port?: number;
  /**
   * The issuer identifier, when it should differ from the server's URL (as the kube-apiserver's
   * https://kubernetes.default.svc.cluster.local does); verifiers then need a discoveryUrl.
   */
  issuer?: string;
  /** Default `aud` of minted tokens. Default `scopekeeper`. */
  audience?: string;
  /** Default lifetime of minted tokens in seconds. Default 600. */
  ttlSeconds?: number;
  /** Serve https with this PEM key and certificate (verifiers then pass the CA as `ca`). */
  tls?: { key: string; cert: string };
}

/**
 * Claims of a minted token. `iss`, `aud`, `iat`, `nbf` and `exp` get defaults (the issuer, the
 * audience, now, now, now + ttlSeconds); any claim given overrides its default, and a claim given
 * as `undefined` is left out of the token (e.g. `{ exp: undefined }` mints a token without exp).
 */
export interface MintClaims {
  sub: string;
  email?: string;
  groups?: string[];
  aud?: string | string[];
  /** Lifetime in seconds (exp = iat + ttlSeconds). */
  ttlSeconds?: number;
  iss?: string;
  iat?: number;
  nbf?: number;
  exp?: number;
  [claim: string]: unknown;
}

export interface MintOptions {
  /** Sign with the current key of this algorithm. Default RS256. */
  alg?: LocalIssuerAlgorithm;
  /** Sign with this (published or retired) key instead; its algorithm wins over `alg`. */
  kid?: string;
  /** Put `groups` under this claim name instead (for issuers with a custom groups claim). */
  groupsClaim?: string;
  /** Extra or overriding protected-header parameters (e.g. a different `kid`). */
  header?: Record<string, unknown>;
}

export interface LocalIssuerKey {
  kid: string;
  alg: LocalIssuerAlgorithm;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
  /** The JWK as published (kid, alg, use: sig). */
  publicJwk: JWK;
  /** Whether /jwks publishes it (retire() stops that). */
  published: boolean;
}

export class LocalIssuer {
  /** The issuer, by default the server's URL (e.g. http://127.0.0.1:41234): the `iss` of minted tokens. */
  readonly issuer: string;
  /** Where the server listens, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  /** Requests served, by endpoint (tests count JWKS fetches with it). */
  readonly requests = { discovery: 0, jwks: 0 };
  /** When false, discovery and JWKS answer 503 (an identity provider outage). */
  available = true;
  #server: Server;
  #keys: LocalIssuerKey[];
  #current: Map<LocalIssuerAlgorithm, LocalIssuerKey>;

  private constructor(server: Server, url: string, opts: LocalIssuerOptions, keys: LocalIssuerKey[]) {
    this.#server = server;
    this.url = url;
    this.issuer = opts.issuer ?? url;
    this.audience = opts.audience ?? 'scopekeeper';
    this.ttlSeconds = opts.ttlSeconds ?? 600;
    this.#keys = keys;
    this.#current = new Map(keys.map((k) => [k.alg, k]));
  }

  /** Generates an RS256 and an ES256 key and starts serving. */
  static async start(opts: LocalIssuerOptions = {}): Promise<LocalIssuer> {
    const keys = await Promise.all([newKey('RS256'), newKey('ES256')]);
    const server: Server = opts.tls ? createTlsServer({ key: opts.tls.key, cert: opts.tls.cert }) : createServer();
    const host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    const self = new LocalIssuer(server, `${opts.tls ? 'https' : 'http'}://${urlHost}:${port}`, opts, keys);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => self.#handle(req, res));
    return self;
  }

  get jwksUri(): string {
    return `${this.url}/jwks`;
  }

  /** The configuration a TokenVerifier needs to trust this issuer. */
  issuerConfig(): IssuerConfig {
    return this.issuer === this.url ? { issuer: this.issuer } : { issuer: this.issuer, discoveryUrl: this.url };
  }

  /** Every key ever generated, published or retired. */
  get keys(): readonly LocalIssuerKey[] {
    return this.#keys;
  }

  /** The key `mint` uses for `alg` unless told otherwise. */
  currentKey(alg: LocalIssuerAlgorithm = 'RS256'): LocalIssuerKey {
    const key = this.#current.get(alg);
    if (!key) throw new Error(`no current ${alg} key`);
    return key;
  }

  /** The SPKI PEM of a key (default: the current RS256 key). */
  publicKeyPem(kid?: string): Promise<string> {
    return exportSPKI(kid === undefined ? this.currentKey('RS256').publicKey : this.#key(kid).publicKey);
  }

  /** Signs a token. See MintClaims for defaults. */
  async mint(claims: MintClaims, opts: MintOptions = {}): Promise<string> {
    const key = opts.kid !== undefined ? this.#key(opts.kid) : this.currentKey(opts.alg ?? 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const { ttlSeconds, groups, ...rest } = claims;
    const payload: Record<string, unknown> = { iss: this.issuer, aud: this.audience, iat: now, nbf: now };
    payload.exp = (typeof claims.iat === 'number' ? claims.iat : now) + (ttlSeconds ?? this.ttlSeconds);
    if (groups !== undefined) payload[opts.groupsClaim ?? 'groups'] = groups;
    for (const [name, value] of Object.entries(rest)) {
      if (value === undefined) delete payload[name];
      else payload[name] = value;
    }
    const header = { alg: key.alg, kid: key.kid, typ: 'JWT', ...opts.header };
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader(header as { alg: string })
      .sign(key.privateKey);
  }

  /** Generates and publishes a new key, which becomes the current key of its algorithm. Returns its kid. */
  async rotate(alg: LocalIssuerAlgorithm = 'RS256'): Promise<string> {
    const key = await newKey(alg);
    this.#keys.push(key);
    this.#current.set(alg, key);
    return key.kid;
  }

  /** Stops publishing a key (tokens it signed stop verifying once verifiers refresh). */
  retire(kid: string): void {
    this.#key(kid).published = false;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #key(kid: string): LocalIssuerKey {
    const key = this.#keys.find((k) => k.kid === kid);
    if (!key) throw new Error(`no key with kid ${kid}`);
    return key;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (path === '/.well-known/openid-configuration') {
      this.requests.discovery++;
      if (!this.available) return send(res, 503, { error: 'unavailable' });
      return send(res, 200, {
        issuer: this.issuer,
        jwks_uri: this.jwksUri,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'email', 'groups'],
      });
    }
    if (path === '/jwks') {
      this.requests.jwks++;
      if (!this.available) return send(res, 503, { error: 'unavailable' });
      return send(res, 200, { keys: this.#keys.filter((k) => k.published).map((k) => k.publicJwk) });
    }
    send(res, 404, { error: 'not found' });
  }
}

async function newKey(alg: LocalIssuerAlgorithm): Promise<LocalIssuerKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, alg, publicKey, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' }, published: true };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
