// Typed clients for the two kinds (group scopekeeper.dev, version v1alpha1). The objects are the
// plain JSON the API server sends, typed with the generated interfaces of @scopekeeper/core.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { AccessReview, ModelScope } from '@scopekeeper/core';
import { isNotFound } from './errors.ts';

export const GROUP = 'scopekeeper.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface KindInfo {
  kind: 'ModelScope' | 'AccessReview';
  plural: 'modelscopes' | 'accessreviews';
}
export const MODEL_SCOPE: KindInfo = { kind: 'ModelScope', plural: 'modelscopes' };
export const ACCESS_REVIEW: KindInfo = { kind: 'AccessReview', plural: 'accessreviews' };

/** The fields every object of ours has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
  };
  status?: object;
}

export interface ObjectList<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class ResourceClient<T extends KubeObject> {
  readonly info: KindInfo;
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig, info: KindInfo) {
    this.info = info;
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  private base(namespace: string) {
    return { group: GROUP, version: VERSION, plural: this.info.plural, namespace };
  }

  /** The URL path of the collection (all namespaces when `namespace` is undefined), as watches use it. */
  path(namespace?: string): string {
    return namespace === undefined
      ? `/apis/${GROUP}/${VERSION}/${this.info.plural}`
      : `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${this.info.plural}`;
  }

  /** One namespace, or all when `namespace` is undefined. */
  list(namespace?: string): Promise<ObjectList<T>> {
    if (namespace === undefined)
      return this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: this.info.plural }) as Promise<ObjectList<T>>;
    return this.api.listNamespacedCustomObject(this.base(namespace)) as Promise<ObjectList<T>>;
  }

  /** The object, or undefined when it does not exist. */
  async get(namespace: string, name: string): Promise<T | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...this.base(namespace), name })) as T;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  create(obj: T): Promise<T> {
    const namespace = obj.metadata.namespace;
    if (!namespace) throw new Error(`${this.info.kind} ${obj.metadata.name} has no metadata.namespace`);
    return this.api.createNamespacedCustomObject({
      ...this.base(namespace),
      body: { apiVersion: API_VERSION, kind: this.info.kind, ...obj },
    }) as Promise<T>;
  }

  /** A JSON merge patch of the object (spec, metadata); the status subresource ignores it. */
  patch(namespace: string, name: string, patch: object): Promise<T> {
    return this.api.patchNamespacedCustomObject({ ...this.base(namespace), name, body: patch }, mergePatch) as Promise<T>;
  }

  /**
   * A JSON merge patch of `status` through the status subresource. With `resourceVersion` the
   * write only succeeds against that version (409 Conflict otherwise): optimistic concurrency.
   */
  patchStatus(namespace: string, name: string, status: object, resourceVersion?: string): Promise<T> {
    const body = resourceVersion ? { metadata: { resourceVersion }, status } : { status };
    return this.api.patchNamespacedCustomObjectStatus({ ...this.base(namespace), name, body }, mergePatch) as Promise<T>;
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({ ...this.base(namespace), name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export const modelScopes = (kc: KubeConfig): ResourceClient<ModelScope> => new ResourceClient<ModelScope>(kc, MODEL_SCOPE);
export const accessReviews = (kc: KubeConfig): ResourceClient<AccessReview> => new ResourceClient<AccessReview>(kc, ACCESS_REVIEW);

/** "namespace/name", the key informers, queues and timers use. */
export const keyOf = (o: { metadata: { name: string; namespace?: string } }): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
