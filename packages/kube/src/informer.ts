// An informer that keeps going. client-node's ListWatch lists, watches, re-lists after 410 Gone,
// and reconnects after a watch closes normally, but it stops for good on any other error (a
// refused connection, a 403, a 500). This wrapper restarts it after an exponential backoff
// with jitter, capped, and says whether the watch works right now (`health()`), which the
// sidecar needs to fail closed and the operator to resync after an outage.
import { ListWatch, Watch, type KubeConfig, type KubernetesObject, type ListPromise } from '@kubernetes/client-node';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { describeError } from './errors.ts';
import { silentLogger, type Logger } from './log.ts';
import type { KubeObject, ObjectList } from './resources.ts';

export type InformerEventType = 'add' | 'update' | 'delete';

export interface InformerHealth {
  /** The first list has arrived (the cache is usable). */
  synced: boolean;
  /** The last list/watch attempt succeeded and no error came since. */
  connected: boolean;
  /** Since when the watch has been failing (ms since epoch); undefined while connected. */
  failingSince?: number;
  lastError?: string;
  /** How many times the watch was restarted after an error. */
  restarts: number;
}

export interface InformerOptions<T> {
  kubeConfig: KubeConfig;
  /** The collection's URL path, e.g. ResourceClient.path(namespace). */
  path: string;
  list: () => Promise<ObjectList<T>>;
  /** For logs, e.g. "accessreviews". */
  name?: string;
  labelSelector?: string;
  /** Delay between restarts after errors. Default 250 ms doubling to 10 s, half jittered. */
  backoff?: BackoffOptions;
  log?: Logger;
}

export class Informer<T extends KubeObject> {
  private readonly lw: ListWatch<KubernetesObject>;
  private readonly opts: InformerOptions<T>;
  private readonly log: Logger;
  private readonly handlers: ((type: InformerEventType, obj: T) => void)[] = [];
  private readonly healthHandlers: ((h: InformerHealth) => void)[] = [];
  private state: InformerHealth = { synced: false, connected: false, restarts: 0 };
  private consecutiveFailures = 0;
  private errors = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private syncWaiters: (() => void)[] = [];

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.log = opts.log ?? silentLogger;
    const list = opts.list as unknown as ListPromise<KubernetesObject>;
    this.lw = new ListWatch(opts.path, new Watch(opts.kubeConfig), list, false, opts.labelSelector);
    for (const type of ['add', 'update', 'delete'] as const) {
      this.lw.on(type, (obj) => {
        for (const h of this.handlers) h(type, obj as unknown as T);
      });
    }
    this.lw.on('error', (err) => this.failed(err));
  }

  /** Object events: add (also for each item of the first list), update, delete. */
  on(handler: (type: InformerEventType, obj: T) => void): void {
    this.handlers.push(handler);
  }

  /** Called when health() changes (connected ↔ failing, first sync). */
  onHealth(handler: (h: InformerHealth) => void): void {
    this.healthHandlers.push(handler);
  }

  get(namespace: string, name: string): T | undefined {
    return this.lw.get(name, namespace) as unknown as T | undefined;
  }

  /** The cached objects of one namespace, or of all. */
  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace) as unknown as readonly T[];
  }

  health(): InformerHealth {
    return { ...this.state };
  }

  /** Starts listing and watching in the background; see waitForSync(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  /** Resolves at the first successful list (at once if that happened already). */
  waitForSync(): Promise<void> {
    if (this.state.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.lw.stop();
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const before = this.errors;
    try {
      // Resolves once the list (when needed) is in and the watch request is answered, or after
      // the 'error' callback fired.
      await this.lw.start();
    } catch (e) {
      this.failed(e);
      return;
    }
    if (this.stopped || this.errors !== before) return;
    const recovered = this.state.failingSince !== undefined;
    this.consecutiveFailures = 0;
    this.update({ synced: true, connected: true, failingSince: undefined, lastError: undefined });
    if (recovered) this.log.info({ informer: this.name }, 'watch restored');
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private failed(err: unknown): void {
    this.errors++;
    if (this.stopped) return;
    const message = describeError(err);
    this.update({ connected: false, failingSince: this.state.failingSince ?? Date.now(), lastError: message });
    if (this.retryTimer) return;
    const delay = backoffDelay(this.consecutiveFailures++, this.opts.backoff);
    this.log.warn({ informer: this.name, err: message, retryInMs: delay }, 'list/watch failed; restarting after a backoff');
    this.retryTimer = setTimeout(() => {
      this.state.restarts++;
      void this.connect();
    }, delay);
  }

  private get name(): string {
    return this.opts.name ?? this.opts.path;
  }

  private update(change: Partial<InformerHealth>): void {
    const before = this.state;
    this.state = { ...before, ...change };
    if (before.connected !== this.state.connected || before.synced !== this.state.synced) {
      for (const h of this.healthHandlers) h(this.health());
    }
  }
}

/** An informer for one kind of ours, in one namespace or all (namespace undefined). */
export function resourceInformer<T extends KubeObject>(
  client: { path(namespace?: string): string; list(namespace?: string): Promise<ObjectList<T>>; info: { plural: string } },
  kubeConfig: KubeConfig,
  opts: { namespace?: string; backoff?: BackoffOptions; log?: Logger } = {},
): Informer<T> {
  return new Informer<T>({
    kubeConfig,
    path: client.path(opts.namespace),
    list: () => client.list(opts.namespace),
    name: opts.namespace === undefined ? client.info.plural : `${client.info.plural} in ${opts.namespace}`,
    backoff: opts.backoff,
    log: opts.log,
  });
}
