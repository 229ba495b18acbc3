// The admission webhooks inside the operator process: every replica serves them (the API
// server may call any); only the leader keeps the self-made CA current and patches its bundle
// into the webhook configurations.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, VersionApi, type KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '@scopekeeper/kube';
import type { ModelScope } from '@scopekeeper/core';
import {
  createWebhookServer,
  ensureCerts,
  parseInjectionConfig,
  patchCaBundle,
  secretCertStore,
  type NamespaceLike,
  type WebhookServer,
} from './webhook/index.ts';

export interface AdmissionOptions {
  kubeConfig: KubeConfig;
  port: number;
  host: string;
  /** Folder with tls.crt and tls.key (the mounted webhook-cert Secret, or cert-manager's). */
  certDir: string;
  /** Self-made CA mode: the Secret the leader keeps the CA and serving cert in. */
  certSecret?: { namespace: string; name: string; service: string; configuration: string };
  injectionConfigFile: string;
  getScope: (namespace: string, name: string) => ModelScope | undefined;
  listScopes: (namespace: string) => readonly ModelScope[];
  registry: Registry;
  log: Logger;
}

const DAY = 86_400_000;
const NAMESPACE_TTL_MS = 10_000;

export class Admission {
  private server: WebhookServer | undefined;
  private rotation: NodeJS.Timeout | undefined;
  private readonly namespaces = new Map<string, { at: number; ns: NamespaceLike | undefined }>();
  private readonly opts: AdmissionOptions;

  constructor(opts: AdmissionOptions) {
    this.opts = opts;
  }

  async start(): Promise<string> {
    const o = this.opts;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(o.injectionConfigFile, 'utf8'));
    } catch (e) {
      throw new Error(
        `cannot read the injection config ${o.injectionConfigFile} (${(e as Error).message}); pass --injection-config (the chart mounts it from its ConfigMap)`,
      );
    }
    const injection = parseInjectionConfig(raw, o.injectionConfigFile);
    const version = await o.kubeConfig.makeApiClient(VersionApi).getCode();
    const core = o.kubeConfig.makeApiClient(CoreV1Api);
    this.server = createWebhookServer({
      port: o.port,
      host: o.host,
      tls: { certFile: join(o.certDir, 'tls.crt'), keyFile: join(o.certDir, 'tls.key') },
      log: o.log,
      metrics: { registry: o.registry },
      deps: {
        serverVersion: { major: version.major, minor: version.minor, gitVersion: version.gitVersion },
        injection,
        getScope: o.getScope,
        listScopes: o.listScopes,
        getNamespace: (name) => this.namespace(core, name),
      },
    });
    return this.server.listen();
  }

  /** Namespace labels change rarely: read through, cached for a few seconds. */
  private async namespace(core: CoreV1Api, name: string): Promise<NamespaceLike | undefined> {
    const hit = this.namespaces.get(name);
    if (hit && Date.now() - hit.at < NAMESPACE_TTL_MS) return hit.ns;
    try {
      const ns = (await core.readNamespace({ name })) as NamespaceLike;
      this.namespaces.set(name, { at: Date.now(), ns });
      return ns;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  /** Leader only: make sure the CA and serving cert are current, bundle first, then serve the new cert. */
  onLeadershipChange(leading: boolean): void {
    clearInterval(this.rotation);
    this.rotation = undefined;
    if (!leading || !this.opts.certSecret) return;
    const run = (): void => {
      this.rotate().catch((e: Error) => {
        this.opts.log.error({ err: e.message }, 'webhook certificate rotation failed; retrying in a minute');
        setTimeout(run, 60_000).unref();
      });
    };
    run();
    this.rotation = setInterval(run, DAY);
    this.rotation.unref();
  }

  async rotate(): Promise<void> {
    const o = this.opts;
    const s = o.certSecret!;
    const store = secretCertStore(o.kubeConfig.makeApiClient(CoreV1Api), s.namespace, s.name);
    const result = await ensureCerts({ serviceName: s.service, namespace: s.namespace, store });
    await patchCaBundle(o.kubeConfig.makeApiClient(AdmissionregistrationV1Api), result.certs.caBundle, {
      name: s.configuration,
      log: o.log,
    });
    this.server?.setCertificate({ cert: result.certs.serving.certPem, key: result.certs.serving.keyPem });
    if (result.changed) o.log.info({ reasons: result.reasons }, 'webhook certificates renewed and the CA bundle patched');
  }

  async stop(): Promise<void> {
    clearInterval(this.rotation);
    await this.server?.close();
  }
}
