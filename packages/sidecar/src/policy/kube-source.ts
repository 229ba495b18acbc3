// Kubernetes mode: watch ModelScopes and AccessReviews in the sidecar's namespace and compile
// them on every change (debounced a few ms). Through an API outage the last good snapshot stays
// in force (expiry is computed in process by decide(), so a review still stops at its second);
// after maxStaleMs without a working watch the source fails closed: current() is undefined.
import { compilePolicy, type AccessReview, type ApprovalRequest, type ModelScope, type PolicySnapshot } from '@scopekeeper/core';
import {
  accessReviews,
  describeError,
  isConflict,
  loadKubeConfig,
  modelScopes,
  resourceInformer,
  shareConnections,
  type BackoffOptions,
  type Informer,
  type KubeConfig,
  type ResourceClient,
} from '@scopekeeper/kube';
import type { Logger } from '../log.ts';
import type { PolicySource, PolicyStatus } from './source.ts';

export interface KubernetesPolicyOptions {
  namespace: string;
  /** Fail closed after this long without a working watch. */
  maxStaleMs: number;
  log: Logger;
  /** Default: loadFromDefault ($KUBECONFIG, ~/.kube/config, or the pod's service account). */
  kubeConfig?: KubeConfig;
  onChange?: (s: PolicyStatus) => void;
  /** Changes within this window compile once. Default 5 ms. */
  debounceMs?: number;
  /** start() gives up when the first list has not arrived by then. Default 30 s. */
  startTimeoutMs?: number;
  /** Watch restarts after errors (default 250 ms doubling to 10 s). */
  backoff?: BackoffOptions;
}

export class KubernetesPolicySource implements PolicySource {
  private readonly opts: KubernetesPolicyOptions;
  private readonly scopeClient: ResourceClient<ModelScope>;
  private readonly reviewClient: ResourceClient<AccessReview>;
  private readonly scopes: Informer<ModelScope>;
  private readonly reviews: Informer<AccessReview>;
  private snapshot: PolicySnapshot | undefined;
  private invalidMessage: string | undefined;
  private compileTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(opts: KubernetesPolicyOptions) {
    this.opts = opts;
    const kc = opts.kubeConfig ? shareConnections(opts.kubeConfig) : loadKubeConfig();
    this.scopeClient = modelScopes(kc);
    this.reviewClient = accessReviews(kc);
    const informerOpts = { namespace: opts.namespace, backoff: opts.backoff, log: opts.log };
    this.scopes = resourceInformer(this.scopeClient, kc, informerOpts);
    this.reviews = resourceInformer(this.reviewClient, kc, informerOpts);
    for (const inf of [this.scopes, this.reviews] as Informer<ModelScope | AccessReview>[]) {
      inf.on(() => this.schedule());
      inf.onHealth(() => this.healthChanged());
    }
  }

  async start(): Promise<void> {
    this.started = true;
    this.scopes.start();
    this.reviews.start();
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const outcome = await Promise.race([Promise.all([this.scopes.waitForSync(), this.reviews.waitForSync()]), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const why = this.scopes.health().lastError ?? this.reviews.health().lastError ?? 'no answer';
      await this.stop();
      throw new Error(
        `could not list ModelScopes and AccessReviews in namespace ${this.opts.namespace} within ${timeoutMs / 1000}s (${why}); check the API server address and that the sidecar's service account may list and watch them`,
      );
    }
    this.compile();
  }

  current(): PolicySnapshot | undefined {
    const since = this.staleSince();
    if (since !== undefined && Date.now() - since > this.opts.maxStaleMs) return undefined;
    return this.snapshot;
  }

  status(): PolicyStatus {
    const staleSince = this.staleSince();
    const watchError = this.scopes.health().lastError ?? this.reviews.health().lastError;
    const stale = staleSince !== undefined && Date.now() - staleSince > this.opts.maxStaleMs;
    const lastError =
      staleSince !== undefined
        ? `the watch of ModelScopes/AccessReviews in ${this.opts.namespace} fails since ${new Date(staleSince).toISOString()} (${watchError})${
            stale
              ? `; failing closed: no policy older than ${this.opts.maxStaleMs / 1000}s is used`
              : '; deciding with the last known policy'
          }`
        : this.invalidMessage;
    return {
      ready: this.current() !== undefined,
      ...(lastError ? { lastError } : {}),
      ...(staleSince !== undefined ? { staleSince } : {}),
      scopes: this.snapshot?.scopes.length ?? 0,
      invalidScopes: this.snapshot?.invalid.length ?? 0,
    };
  }

  /** Records the held request as a Pending JustInTime AccessReview; one per fingerprint. */
  async requestApproval(a: ApprovalRequest, reason: string | undefined): Promise<string> {
    const base = `${a.scope}-jit-${a.fingerprint}`;
    // One Pending review per request shape: reuse it while it waits. Once it was decided (and
    // perhaps its grant ran out) the same shape needs a new review, numbered after the first.
    for (let n = 0; n < 100; n++) {
      const name = n === 0 ? base : `${base}-${n + 1}`;
      const existing = this.reviews.get(a.namespace, name) ?? (await this.reviewClient.get(a.namespace, name));
      if (existing) {
        if (existing.spec.decision === 'Pending') return `${a.namespace}/${name}`;
        continue;
      }
      const review: AccessReview = {
        apiVersion: 'scopekeeper.dev/v1alpha1',
        kind: 'AccessReview',
        metadata: { name, namespace: a.namespace, labels: { 'scopekeeper.dev/fingerprint': a.fingerprint } },
        spec: {
          scopeRef: { name: a.scope },
          type: 'JustInTime',
          decision: 'Pending',
          requestedBy: a.subject.name,
          request: {
            subject: a.subject,
            ...(a.model !== undefined ? { model: a.model } : {}),
            tools: a.tools,
            ...(reason ? { reason: reason.slice(0, 1024) } : {}),
            fingerprint: a.fingerprint,
          },
        },
      };
      try {
        await this.reviewClient.create(review);
        this.opts.log.info(
          { review: `${a.namespace}/${name}`, scope: a.scope },
          'held a request: created a Pending JustInTime AccessReview',
        );
      } catch (e) {
        // AlreadyExists: another replica (or a parallel request) created it a moment ago.
        if (!isConflict(e)) throw new Error(`could not create AccessReview ${a.namespace}/${name}: ${describeError(e)}`);
      }
      return `${a.namespace}/${name}`;
    }
    throw new Error(
      `held request of ${a.subject.name} in ModelScope ${a.scope}: 100 reviews of this shape exist already; delete the old ones`,
    );
  }

  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.compileTimer);
    clearTimeout(this.staleTimer);
    await Promise.all([this.scopes.stop(), this.reviews.stop()]);
  }

  /** Since when one of the two watches has been failing, if it is. */
  private staleSince(): number | undefined {
    const times = [this.scopes.health().failingSince, this.reviews.health().failingSince].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  private schedule(): void {
    if (!this.started || this.compileTimer) return;
    this.compileTimer = setTimeout(() => this.compile(), this.opts.debounceMs ?? 5);
  }

  private compile(): void {
    this.compileTimer = undefined;
    if (!this.scopes.health().synced || !this.reviews.health().synced) return;
    const ns = this.opts.namespace;
    this.snapshot = compilePolicy([...this.scopes.list(ns)], [...this.reviews.list(ns)], { namespace: ns });
    const message = this.snapshot.invalid.length
      ? this.snapshot.invalid.map((i) => `ModelScope ${i.namespace}/${i.name} grants nothing: ${i.problems.join('; ')}`).join('\n')
      : undefined;
    if (message && message !== this.invalidMessage) this.opts.log.warn({ namespace: ns }, message);
    this.invalidMessage = message;
    this.opts.onChange?.(this.status());
  }

  private healthChanged(): void {
    clearTimeout(this.staleTimer);
    const since = this.staleSince();
    if (since === undefined) {
      this.opts.log.info({ namespace: this.opts.namespace }, 'policy watch working');
    } else {
      this.opts.log.warn(
        { namespace: this.opts.namespace, err: this.status().lastError },
        'policy watch failing; deciding with the last known policy',
      );
      this.armStaleNotice();
    }
    this.opts.onChange?.(this.status());
  }

  /**
   * Says so when the source starts failing closed. A timer runs on the event loop's clock, which a
   * long loop iteration leaves behind Date.now(), so it can fire before current() (Date.now())
   * fails closed: it is then set again for the rest, never reported as still ready.
   */
  private armStaleNotice(): void {
    const since = this.staleSince();
    if (since === undefined) return;
    this.staleTimer = setTimeout(
      () => {
        if (this.current() !== undefined) return this.armStaleNotice();
        this.opts.log.error({ namespace: this.opts.namespace, err: this.status().lastError }, 'policy is stale: failing closed');
        this.opts.onChange?.(this.status());
      },
      Math.max(0, since + this.opts.maxStaleMs - Date.now()) + 1,
    );
  }
}
