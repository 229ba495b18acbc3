// The command-line syntax of the identity options: --issuer and --service-account-issuer.
import type { IssuerTrust } from '@scopekeeper/core';

export interface IssuerConfig {
  /** The exact `iss` of the tokens (compared byte for byte, as OIDC requires). */
  issuer: string;
  /**
   * Base URL to fetch `/.well-known/openid-configuration` from when the issuer URL is not
   * reachable as-is, e.g. the kube-apiserver at https://127.0.0.1:6443 whose issuer is
   * https://kubernetes.default.svc.cluster.local. The document must still name `issuer`.
   */
  discoveryUrl?: string;
  /** PEM bundle to trust for discovery and JWKS (replaces the default roots for this issuer). */
  ca?: string;
  /** Claim holding the groups: an array of strings or one string. Default `groups`. */
  groupsClaim?: string;
  /**
   * A file whose content is sent as `Authorization: Bearer` on discovery and JWKS fetches, for a
   * kube-apiserver that does not serve discovery anonymously (read at every fetch, because
   * projected tokens rotate). Default: no credentials.
   */
  bearerTokenFile?: string;
}

/**
 * Parses one `--issuer` value: `ISSUER` or `ISSUER=DISCOVERY_URL`.
 *   --issuer https://accounts.example.com
 *   --issuer https://kubernetes.default.svc.cluster.local=https://127.0.0.1:6443
 * The split is at the first `=` followed by `http://` or `https://`. Both parts must be absolute
 * URLs without query or fragment; the URL that is fetched must be https (http only on loopback).
 * Throws an Error with a usage message otherwise.
 */
export function parseIssuerFlag(value: string): IssuerConfig {
  const text = value.trim();
  if (text === '') throw new Error('--issuer needs a value: ISSUER or ISSUER=DISCOVERY_URL');
  const split = /=(https?:\/\/)/.exec(text);
  const issuer = split ? text.slice(0, split.index) : text;
  const discoveryUrl = split ? text.slice(split.index + 1) : undefined;
  checkUrl(issuer, '--issuer ISSUER', discoveryUrl === undefined);
  if (discoveryUrl !== undefined) checkUrl(discoveryUrl, '--issuer …=DISCOVERY_URL', true);
  return discoveryUrl === undefined ? { issuer } : { issuer, discoveryUrl };
}

/**
 * Who may vouch for what: the first issuer is the primary one; `serviceAccountIssuer`
 * (--service-account-issuer) must be one of the configured issuers and defaults to the primary.
 */
export function issuerTrust(issuers: readonly string[], serviceAccountIssuer?: string): IssuerTrust {
  const primaryIssuer = issuers[0];
  if (primaryIssuer === undefined) throw new Error('at least one issuer must be configured (--issuer)');
  const sa = serviceAccountIssuer === undefined || serviceAccountIssuer.trim() === '' ? primaryIssuer : serviceAccountIssuer.trim();
  if (!issuers.includes(sa)) {
    throw new Error(
      `--service-account-issuer ${JSON.stringify(sa)} is not one of the --issuer values (${issuers.join(', ')}); name the issuer exactly as given to --issuer`,
    );
  }
  return { primaryIssuer, serviceAccountIssuer: sa };
}

export function checkUrl(value: string, what: string, fetched: boolean): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${what} must be an absolute URL (got ${JSON.stringify(value)}); syntax: ISSUER or ISSUER=DISCOVERY_URL`);
  }
  if (url.search !== '' || url.hash !== '') throw new Error(`${what} must not have a query or fragment (got ${JSON.stringify(value)})`);
  if (fetched && !transportAllowed(url)) {
    throw new Error(`${what} must use https (http is accepted on loopback only): ${JSON.stringify(value)}`);
  }
  return url;
}

export function transportAllowed(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
