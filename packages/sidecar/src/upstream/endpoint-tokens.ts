// Credentials for internal services (endpoints[].auth.serviceAccountToken.audience): the injection
// webhook projects a service-account token for each audience into the sidecar container alone and
// names its file with `--endpoint-token <audience>=<file>`. The sidecar sends it as
// `Authorization: Bearer` on every request it forwards to such an endpoint, so the service can
// refuse callers that bypass the sidecar. The kubelet rotates the file in place; it is re-read
// when it changes. A token never reaches a log, an audit record or an error.
import { readFileSync, statSync } from 'node:fs';

export class EndpointTokenError extends Error {}

/** `--endpoint-token <audience>=<file>` (repeatable) → audience → file. */
export function parseEndpointTokenFlags(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const at = v.lastIndexOf('=');
    const audience = at > 0 ? v.slice(0, at) : '';
    const file = at > 0 ? v.slice(at + 1) : '';
    if (!audience || !file.startsWith('/'))
      throw new EndpointTokenError(
        `--endpoint-token "${v}" is not <audience>=<absolute file>; for example --endpoint-token crm.team-a=/var/run/scopekeeper/endpoint-tokens/token-0`,
      );
    out.set(audience, file);
  }
  return out;
}

export class EndpointTokens {
  private readonly files: ReadonlyMap<string, string>;
  private readonly cache = new Map<string, { value: string; mtimeMs: number; checkedAt: number }>();

  constructor(files: ReadonlyMap<string, string>) {
    this.files = files;
  }

  /**
   * The `Authorization` value for an endpoint that requires a token for `audience`, re-read at
   * most once a second. Throws (fail closed: the request is not forwarded) when this sidecar has
   * no token for it, saying what to do.
   */
  authorization(endpoint: string, audience: string, now = Date.now()): string {
    const file = this.files.get(audience);
    if (!file) {
      throw new EndpointTokenError(
        `endpoint ${endpoint} requires a service-account token for audience "${audience}", but this sidecar was started without one ` +
          `(no --endpoint-token for it): the pod was created before the ModelScope asked for it, or pins another scope. Re-create the pod so the webhook projects the token.`,
      );
    }
    const hit = this.cache.get(audience);
    if (hit && now - hit.checkedAt < 1000) return `Bearer ${hit.value}`;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      if (hit) return `Bearer ${hit.value}`;
      throw new EndpointTokenError(
        `endpoint ${endpoint}: the token file for audience "${audience}" (${file}) cannot be read; check the projected volume scopekeeper-endpoint-tokens`,
      );
    }
    if (hit && hit.mtimeMs === mtimeMs) {
      hit.checkedAt = now;
      return `Bearer ${hit.value}`;
    }
    const value = readFileSync(file, 'utf8').trim();
    if (!value) throw new EndpointTokenError(`endpoint ${endpoint}: the token file for audience "${audience}" (${file}) is empty`);
    this.cache.set(audience, { value, mtimeMs, checkedAt: now });
    return `Bearer ${value}`;
  }
}

/** A sidecar started without --endpoint-token: every endpoint that asks for a token is refused. */
export const NO_ENDPOINT_TOKENS = new EndpointTokens(new Map());
