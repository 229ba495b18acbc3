// What the e2e specs that run the admission webhooks in this process share: the chart's webhook
// configurations pointed at a local URL, and the lookups the webhooks make (in the operator they
// are informer caches; here they read the API server directly).
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { ModelScope } from '@scopekeeper/core';
import type { WebhookServerOptions } from '../../packages/operator/src/webhook/index.ts';
import type { Cluster } from './cluster.ts';

type Lookups = Pick<WebhookServerOptions['deps'], 'getScope' | 'listScopes' | 'getNamespace'>;

/** The webhooks' scope and namespace lookups, straight from the API server (as admin). */
export function apiServerLookups(kc: KubeConfig): Lookups {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const where = { group: 'scopekeeper.dev', version: 'v1alpha1', plural: 'modelscopes' };
  return {
    getScope: async (namespace, name) => {
      try {
        return (await custom.getNamespacedCustomObject({ ...where, namespace, name })) as ModelScope;
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
    listScopes: async (namespace) => ((await custom.listNamespacedCustomObject({ ...where, namespace })) as { items: ModelScope[] }).items,
    getNamespace: async (name) => {
      const ns = await core.readNamespace({ name });
      return { metadata: { name, labels: ns.metadata?.labels ?? {} } };
    },
  };
}

/**
 * The chart's MutatingWebhookConfiguration and ValidatingWebhookConfiguration (`helm template`),
 * each webhook's service reference turned into `baseUrl` + its path; with `caBundle` when given.
 */
export async function chartWebhooks(
  c: Cluster,
  o: { release: string; namespace: string; baseUrl: string; caBundle?: string; timeoutSeconds?: number },
): Promise<any[]> {
  const r = await c.helm([
    'template',
    o.release,
    `${c.repoRoot}/charts/scopekeeper`,
    '--namespace',
    o.namespace,
    '--show-only',
    'templates/webhooks.yaml',
  ]);
  const objs = parseAllDocuments(r.stdout)
    .map((d) => d.toJS())
    .filter(Boolean);
  for (const cfg of objs)
    for (const w of cfg.webhooks) {
      w.clientConfig = {
        url: `${o.baseUrl}${w.clientConfig.service.path}`,
        ...(o.caBundle ? { caBundle: Buffer.from(o.caBundle).toString('base64') } : {}),
      };
      if (o.timeoutSeconds) w.timeoutSeconds = o.timeoutSeconds;
    }
  return objs;
}
