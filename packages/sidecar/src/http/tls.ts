// node:https, loaded on the first https connection rather than at start: TLS and OpenSSL's code
// cost the process ~5 MB of resident pages, and a sidecar whose upstream, issuers and services
// are plain http (on loopback, or through a mesh that does TLS) never needs them.
import type * as Https from 'node:https';

let https: typeof Https | undefined;

export function httpsModule(): typeof Https {
  return (https ??= process.getBuiltinModule('node:https'));
}
