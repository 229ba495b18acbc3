// A complete local world on loopback: OIDC issuer, SAML IdP, Anthropic stand-in (or the real API),
// and a sidecar on a copy of examples/ re-dated to today. The demo, the integration tests
// and the benchmarks all start this same world.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { AnthropicStub, type StubOptions } from '../stub/anthropic-stub.ts';
import { LocalIssuer } from '../identity/local-issuer.ts';
import { LocalSamlIdp, type IssueOptions } from '../identity/local-saml-idp.ts';
import { runSidecar, type SidecarFlags } from '../run.ts';
import type { Sidecar } from '../sidecar.ts';
import { silentLogger, type Logger } from '../log.ts';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../../../examples/', import.meta.url));
/** The examples' review dates are written as of this instant; copies shift them to today. */
export const EXAMPLES_WRITTEN_AT = Date.parse('2026-11-28T12:00:00Z');
export const UPSTREAM_KEY = 'sk-ant-local-upstream-key-0000';
export const NS = 'team-a';

/** Copies examples/ into `target`, moving every review's dates by (now - EXAMPLES_WRITTEN_AT). */
export async function copyExamples(target: string, now = Date.now()): Promise<void> {
  const shift = Math.round((now - EXAMPLES_WRITTEN_AT) / 1000) * 1000;
  const move = (t: string) => new Date(Date.parse(t) + shift).toISOString().replace('.000Z', 'Z');
  for (const f of (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml'))) {
    const docs = parseAllDocuments(await readFile(join(EXAMPLES_DIR, f), 'utf8')).map(
      (d) => d.toJS() as { kind?: string; spec?: Record<string, string> },
    );
    for (const d of docs) {
      if (d.kind !== 'AccessReview' || !d.spec) continue;
      if (d.spec.reviewedAt) d.spec.reviewedAt = move(d.spec.reviewedAt);
      if (d.spec.expiresAt) d.spec.expiresAt = move(d.spec.expiresAt);
    }
    await writeFile(join(target, f), docs.map((d) => stringify(d)).join('---\n'));
  }
}

export interface WorldOptions {
  /** Use the real API with this key instead of the stand-in. */
  realApiKey?: string;
  stub?: Partial<StubOptions>;
  flags?: Partial<SidecarFlags>;
  log?: Logger;
  listen?: string;
  admin?: string;
}

export interface World {
  dir: string;
  policyDir: string;
  auditFile: string;
  keyFile: string;
  issuer: LocalIssuer;
  /** The SAML IdP the sidecar trusts (--saml-idp-metadata), entityID https://idp.example.test/saml. */
  samlIdp: LocalSamlIdp;
  stub?: AnthropicStub;
  sidecar: Sidecar;
  url: string;
  adminUrl: string;
  flags: SidecarFlags;
  /** A token for a service account of team-a. */
  saToken(name: string, ttlSeconds?: number): Promise<string>;
  /** A signed SAML assertion (base64) for `nameId` in `groups`, as the world's IdP issues it. */
  samlAssertion(nameId: string, groups: string[], opts?: Partial<IssueOptions>): string;
  /** Restart the sidecar (same policy, audit file and issuer). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'scopekeeper-'));
  const policyDir = join(dir, 'policy');
  await mkdir(policyDir);
  await copyExamples(policyDir);
  const auditFile = join(dir, 'audit.jsonl');
  const keyFile = join(dir, 'upstream-key');
  const issuer = await LocalIssuer.start();
  const samlIdp = await LocalSamlIdp.create();
  const samlMetadata = join(dir, 'saml-idp-metadata.xml');
  await samlIdp.writeMetadata(samlMetadata);
  const stub = opts.realApiKey ? undefined : await new AnthropicStub({ apiKey: UPSTREAM_KEY, ...opts.stub }).start();
  await writeFile(keyFile, opts.realApiKey ?? UPSTREAM_KEY, { mode: 0o600 });
  const flags: SidecarFlags = {
    listen: opts.listen ?? '127.0.0.1:0',
    admin: opts.admin ?? '127.0.0.1:0',
    upstream: stub?.url ?? 'https://api.anthropic.com',
    upstreamKeyFile: keyFile,
    policy: policyDir,
    namespace: NS,
    issuer: [issuer.issuer],
    audience: 'scopekeeper',
    audit: [`file:${auditFile}`],
    auditRequired: true,
    maxBodyBytes: 32 * 1024 * 1024,
    upstreamTimeout: 120,
    policyMaxStale: 300,
    groupsClaim: 'groups',
    maxTokenLifetime: 3600,
    samlIdpMetadata: [samlMetadata],
    ...opts.flags,
  };
  const log = opts.log ?? silentLogger();
  let started = await runSidecar(flags, log);
  const world: World = {
    dir,
    policyDir,
    auditFile,
    keyFile,
    issuer,
    samlIdp,
    stub,
    sidecar: started.sidecar,
    url: started.urls.data,
    adminUrl: started.urls.admin,
    flags,
    saToken: (name, ttlSeconds = 600) => issuer.mint({ sub: `system:serviceaccount:${NS}:${name}`, ttlSeconds }),
    samlAssertion: (nameId, groups, o = {}) => samlIdp.issue({ nameId, groups, ...o }),
    async restart() {
      await world.sidecar.stop();
      started = await runSidecar(flags, log);
      world.sidecar = started.sidecar;
      world.url = started.urls.data;
      world.adminUrl = started.urls.admin;
    },
    async close() {
      await world.sidecar.stop();
      await stub?.close();
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}
