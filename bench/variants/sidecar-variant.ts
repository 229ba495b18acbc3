// The sidecar assembled as runSidecar() assembles it, with one part swapped, to price that part
// end to end (bench/breakdown.ts starts it pinned, like the real CLI):
//
//   --audit cli         stdout + file:PATH, --audit-required: what `--audit file:PATH` gives today
//                       (the CLI keeps its default `stdout` sink next to the one given)
//   --audit file        file:PATH only, --audit-required (fdatasync per batch)
//   --audit file-nosync file:PATH only, no fdatasync (what the durable write costs)
//   --audit none        no sink at all
//   --tokens cache      the verifier behind a cache of verified tokens (token → identity until
//                       exp; a sketch to price JWT verification, not a proposal of its semantics)
//
//   node bench/variants/sidecar-variant.ts '<json flags>' --audit file --tokens verify
import { parseArgs } from 'node:util';
import {
  AuditLog,
  FileSink,
  StdoutSink,
  TokenVerifier,
  FilePolicySource,
  UpstreamKey,
  Sidecar,
  SidecarMetrics,
  createLogger,
  parseIssuerFlag,
} from '@scopekeeper/sidecar';
import type { AuditSink } from '@scopekeeper/sidecar';
import type { Identity } from '@scopekeeper/core';

const { values, positionals } = parseArgs({
  options: { audit: { type: 'string', default: 'cli' }, tokens: { type: 'string', default: 'verify' } },
  allowPositionals: true,
});
const flags = JSON.parse(positionals[0]!) as {
  listen: string;
  admin: string;
  upstream: string;
  keyFile: string;
  policy: string;
  issuer: string;
  auditFile: string;
};
const hp = (s: string) => ({ host: s.split(':')[0]!, port: Number(s.split(':')[1]) });

const log = createLogger('warn');
const metrics = new SidecarMetrics();
const sinks: AuditSink[] = [];
if (values.audit === 'cli') sinks.push(new StdoutSink(), new FileSink(flags.auditFile));
if (values.audit === 'file') sinks.push(new FileSink(flags.auditFile));
if (values.audit === 'file-nosync') sinks.push(new FileSink(flags.auditFile, { sync: false }));
const audit = new AuditLog({ sinks, required: values.audit !== 'none', onWritten: (n) => metrics.auditEvents.inc(n) });
const verifier = new TokenVerifier({
  issuers: [{ ...parseIssuerFlag(flags.issuer), groupsClaim: 'groups' }],
  audience: 'scopekeeper',
  maxLifetimeSeconds: 3600,
  clockSkewSeconds: 30,
});
if (values.tokens === 'cache') {
  const real = verifier.authenticate.bind(verifier);
  const cache = new Map<string, { identity: Identity; exp: number }>();
  verifier.authenticate = async (headers) => {
    const key = String(headers.authorization ?? headers['x-api-key'] ?? '');
    const hit = cache.get(key);
    if (hit && Date.now() < hit.exp) return hit.identity;
    const identity = await real(headers);
    const payload = JSON.parse(Buffer.from(key.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: number };
    cache.set(key, { identity, exp: (payload.exp ?? 0) * 1000 });
    return identity;
  };
}
const policy = new FilePolicySource({ dir: flags.policy, namespace: 'team-a' });
await policy.start();
await verifier.warm();
const sidecar = new Sidecar(
  {
    listen: hp(flags.listen),
    admin: hp(flags.admin),
    upstream: flags.upstream,
    upstreamKey: new UpstreamKey(flags.keyFile),
    namespace: 'team-a',
    maxBodyBytes: 32 * 1024 * 1024,
    upstreamTimeoutMs: 600_000,
    shutdownGraceMs: 5000,
    auditRequired: values.audit !== 'none',
  },
  { policy, verifier, audit, log, metrics },
);
await sidecar.start();
process.once('SIGTERM', () => void sidecar.stop().then(() => process.exit(0)));
