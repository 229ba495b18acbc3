// The operator: informers for both kinds feed one work queue; a worker reconciles a key with the
// pure functions of reconcile.ts and performs what they ask for (status writes, Events, the next
// review, metrics); one timer heap wakes a key at its next deadline. Only the leader queues and
// writes; every replica keeps its caches warm, so a new leader resyncs everything at once.
import { hostname } from 'node:os';
import type { NotificationType, WebhookNotifier } from './notify.ts';
import { ANNOTATION_USAGE, type UsageSource } from './usage-source.ts';
import type { AccessReview, ModelScope } from '@scopekeeper/core';
import {
  EventRecorder,
  LeaderElector,
  accessReviews,
  describeError,
  isConflict,
  loadKubeConfig,
  modelScopes,
  referenceTo,
  resourceInformer,
  shareConnections,
  silentLogger,
  splitKey,
  writeStatus,
  type BackoffOptions,
  type EventSpec,
  type Informer,
  type KubeConfig,
  type Logger,
  type ObjectReference,
  type ResourceClient,
} from '@scopekeeper/kube';
import { startAdminServer, type AdminServer } from './admin.ts';
import { findCondition, type Condition } from './conditions.ts';
import { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';
import { EXPIRING_SOON, VALID, reconcileReview, reconcileScope } from './reconcile.ts';
import { TimerHeap } from './timers.ts';

export const DEFAULT_ADMIN = { host: '127.0.0.1', port: 15182 };
export const DEFAULT_LEASE_NAME = 'scopekeeper-operator';

export interface LeaderElectionSettings {
  namespace: string;
  name?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

export interface OperatorOptions {
  /** Default: loadFromDefault ($KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeConfig?: KubeConfig;
  /** Watch one namespace; default all. */
  namespace?: string;
  /** Admin server (/metrics, /healthz, /readyz); false for none. Default 127.0.0.1:15182. */
  admin?: { host: string; port: number } | false;
  /** Lease-based leader election; false: this replica always leads. */
  leaderElection?: LeaderElectionSettings | false;
  /** This replica, for the lease and Events. Default hostname-pid. */
  identity?: string;
  /** Keys reconciled at the same time (they mostly wait on the API server). Default 16. */
  workers?: number;
  informerBackoff?: BackoffOptions;
  queueBackoff?: BackoffOptions;
  /** process_* and nodejs_* metrics. Default true. */
  defaultMetrics?: boolean;
  log?: Logger;
  /** Receives review-due, expired, revoked and approval-requested notifications (leader only). */
  notifier?: Pick<WebhookNotifier, 'notify' | 'stop'>;
  /** Where the next Pending Periodic review gets its usage summary annotation from (optional). */
  usageSource?: UsageSource;
  /** Called when this replica starts or stops leading (e.g. to rotate webhook certificates). */
  onLeadershipChange?: (leading: boolean) => void;
}

const NOTIFY_ON: Record<string, NotificationType> = {
  ReviewExpiringSoon: 'review-due',
  ReviewExpired: 'review-expired',
  ReviewRevoked: 'review-revoked',
};

type Kind = 'AccessReview' | 'ModelScope';
const REVIEW: Kind = 'AccessReview';
const SCOPE: Kind = 'ModelScope';

const queueKey = (kind: Kind, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;
function parseKey(key: string): { kind: Kind; namespace: string; name: string } {
  const [kind, namespace, ...rest] = key.split('/');
  return { kind: kind as Kind, namespace: namespace!, name: rest.join('/') };
}

export class Operator {
  readonly metrics: OperatorMetrics;
  readonly identity: string;
  private readonly opts: OperatorOptions;
  private readonly log: Logger;
  private readonly kc: KubeConfig;
  private readonly scopeClient: ResourceClient<ModelScope>;
  private readonly reviewClient: ResourceClient<AccessReview>;
  private readonly scopes: Informer<ModelScope>;
  private readonly reviews: Informer<AccessReview>;
  private readonly recorder: EventRecorder;
  private readonly elector: LeaderElector | undefined;
  private readonly queue: WorkQueue;
  private readonly timers: TimerHeap;
  private admin: AdminServer | undefined;
  private leading = false;
  private running = false;
  private readonly pendingEvents = new Set<Promise<void>>();
  /** "ns/scope" → names of the reviews whose scopeRef names it. */
  private readonly reviewsByScope = new Map<string, Set<string>>();
  /** "ns/review" → the scope it names and the generation last seen. */
  private readonly reviewIndex = new Map<string, { scope: string; generation: number | undefined }>();

  constructor(opts: OperatorOptions = {}) {
    this.opts = opts;
    this.log = opts.log ?? silentLogger;
    this.identity = opts.identity ?? `${hostname()}-${process.pid}`;
    this.kc = opts.kubeConfig ? shareConnections(opts.kubeConfig) : loadKubeConfig();
    this.metrics = new OperatorMetrics({ defaultMetrics: opts.defaultMetrics });
    this.scopeClient = modelScopes(this.kc);
    this.reviewClient = accessReviews(this.kc);
    const informerOpts = { namespace: opts.namespace, backoff: opts.informerBackoff, log: this.log };
    this.scopes = resourceInformer(this.scopeClient, this.kc, informerOpts);
    this.reviews = resourceInformer(this.reviewClient, this.kc, informerOpts);
    this.recorder = new EventRecorder({ kubeConfig: this.kc, reportingInstance: this.identity, log: this.log });
    this.queue = new WorkQueue({
      process: (key) => this.reconcile(key),
      concurrency: opts.workers ?? 16,
      backoff: opts.queueBackoff,
      onError: (key, err, retryInMs) =>
        this.log.warn({ key, err: describeError(err), retryInMs }, 'reconcile failed; retrying after a backoff'),
    });
    this.timers = new TimerHeap((key) => this.queue.add(key));
    this.metrics.track({ queueDepth: () => this.queue.length, timers: () => this.timers.size });
    if (opts.leaderElection !== false && opts.leaderElection !== undefined) {
      const le = opts.leaderElection;
      this.elector = new LeaderElector({
        kubeConfig: this.kc,
        namespace: le.namespace,
        name: le.name ?? DEFAULT_LEASE_NAME,
        identity: this.identity,
        leaseDurationSeconds: le.leaseDurationSeconds,
        renewDeadlineSeconds: le.renewDeadlineSeconds,
        retryPeriodSeconds: le.retryPeriodSeconds,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
        onNewLeader: (id) => this.log.info({ leader: id ?? '(none)' }, 'leader observed'),
        log: this.log,
      });
    }
    this.reviews.on((type, r) => this.onReview(type, r));
    this.scopes.on((type, s) => this.onScope(type, s));
    for (const inf of [this.reviews, this.scopes]) {
      inf.onHealth((h) => {
        // Back after an outage: whatever failed to write, and any deadline met meanwhile, now.
        if (h.connected && h.restarts > 0 && this.leading) {
          this.queue.retryNow();
          this.resync();
        }
      });
    }
  }

  /** Starts the caches, the admin server and the election (or leads at once without one). */
  async start(): Promise<{ admin?: string }> {
    const admin = this.opts.admin === undefined ? DEFAULT_ADMIN : this.opts.admin;
    if (admin) {
      // First: a port in use fails the start before anything else runs.
      this.admin = await startAdminServer(admin, {
        registry: this.metrics.registry,
        healthy: () => this.running,
        ready: () => this.readiness(),
      });
      this.log.info({ admin: this.admin.url }, 'admin server listening (/metrics, /healthz, /readyz)');
    }
    this.running = true;
    this.reviews.start();
    this.scopes.start();
    if (this.elector) this.elector.start();
    else this.startLeading();
    return this.admin ? { admin: this.admin.url } : {};
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Resolves when both caches hold their first list. */
  async synced(): Promise<void> {
    await Promise.all([this.reviews.waitForSync(), this.scopes.waitForSync()]);
  }

  /** Resolves when no key is queued or being reconciled, and no Event is on its way (tests). */
  async idle(): Promise<void> {
    await this.queue.idle();
    await Promise.all(this.pendingEvents);
  }

  readiness(): { ok: boolean; detail: string } {
    const r = this.reviews.health();
    const s = this.scopes.health();
    const ok = r.synced && s.synced;
    const role = this.leading ? 'leader' : 'standby';
    const detail = ok
      ? `ok (${role})`
      : `waiting for the first list of ${[r.synced ? '' : 'accessreviews', s.synced ? '' : 'modelscopes'].filter(Boolean).join(' and ')}${r.lastError || s.lastError ? `: ${r.lastError ?? s.lastError}` : ''}`;
    return { ok, detail };
  }

  /** SIGTERM: finish what is in flight, hand the lease over, stop watching. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopLeading();
    await this.queue.shutdown();
    await Promise.all(this.pendingEvents);
    await this.elector?.stop();
    await Promise.all([this.reviews.stop(), this.scopes.stop()]);
    await this.admin?.close();
    this.opts.notifier?.stop();
    this.log.info({ identity: this.identity }, 'operator stopped');
  }

  /** For tests: halt as a killed process would, without releasing the lease. */
  crash(): void {
    this.running = false;
    this.leading = false;
    this.elector?.crash();
    this.timers.clear();
    void this.queue.shutdown();
    void this.reviews.stop();
    void this.scopes.stop();
    void this.admin?.close();
  }

  /** The cached ModelScope (the admission webhooks read scopes from here). */
  getScope(namespace: string, name: string): ModelScope | undefined {
    return this.scopes.get(namespace, name);
  }

  /** The cached ModelScopes of a namespace (the injection reads their endpoint audiences). */
  listScopes(namespace: string): readonly ModelScope[] {
    return [...this.scopes.list(namespace)];
  }

  private startLeading(): void {
    if (this.leading || !this.running) return;
    this.leading = true;
    this.metrics.leader.set(1);
    this.opts.onLeadershipChange?.(true);
    // A new leader trusts nothing the last one did or did not do: every key, once the caches are in.
    void this.synced().then(() => {
      if (this.leading) this.resync();
    });
  }

  private stopLeading(): void {
    if (!this.leading) return;
    this.leading = false;
    this.metrics.leader.set(0);
    this.opts.onLeadershipChange?.(false);
    this.queue.clear();
    this.timers.clear();
    this.metrics.clearReviews();
  }

  private resync(): void {
    for (const s of this.scopes.list()) this.queue.add(queueKey(SCOPE, s.metadata.namespace!, s.metadata.name));
    for (const r of this.reviews.list()) this.queue.add(queueKey(REVIEW, r.metadata.namespace!, r.metadata.name));
    this.log.info({ scopes: this.scopes.list().length, reviews: this.reviews.list().length }, 'resync: every object queued');
  }

  private onReview(type: 'add' | 'update' | 'delete', r: AccessReview): void {
    const ns = r.metadata.namespace!;
    const rk = `${ns}/${r.metadata.name}`;
    const scope = `${ns}/${r.spec.scopeRef.name}`;
    const before = this.reviewIndex.get(rk);
    if (before && (before.scope !== scope || type === 'delete')) this.reviewsByScope.get(before.scope)?.delete(r.metadata.name);
    if (type === 'delete') this.reviewIndex.delete(rk);
    else {
      this.reviewIndex.set(rk, { scope, generation: r.metadata.generation });
      let set = this.reviewsByScope.get(scope);
      if (!set) this.reviewsByScope.set(scope, (set = new Set()));
      set.add(r.metadata.name);
    }
    if (!this.leading) return;
    if (type === 'add' && r.spec.type === 'JustInTime' && r.spec.decision === 'Pending' && !r.status) this.notifyApprovalRequested(r);
    // Our own status writes come back as updates of the same generation: nothing to do for them.
    if (type === 'update' && before && before.scope === scope && before.generation === r.metadata.generation) return;
    this.queue.add(queueKey(REVIEW, ns, r.metadata.name));
    // A Periodic decision changes which review of the scope counts: its siblings' conditions too.
    if (r.spec.type === 'Periodic') for (const name of this.reviewsByScope.get(scope) ?? []) this.queue.add(queueKey(REVIEW, ns, name));
    this.queue.add(queueKey(SCOPE, ns, r.spec.scopeRef.name));
    if (before && before.scope !== scope) {
      const old = splitKey(before.scope);
      this.queue.add(queueKey(SCOPE, old.namespace, old.name));
    }
  }

  private onScope(_type: 'add' | 'update' | 'delete', s: ModelScope): void {
    if (!this.leading) return;
    const ns = s.metadata.namespace!;
    this.queue.add(queueKey(SCOPE, ns, s.metadata.name));
    for (const name of this.reviewsByScope.get(`${ns}/${s.metadata.name}`) ?? []) this.queue.add(queueKey(REVIEW, ns, name));
  }

  private reviewsOf(namespace: string, scope: string): AccessReview[] {
    const out: AccessReview[] = [];
    for (const name of this.reviewsByScope.get(`${namespace}/${scope}`) ?? []) {
      const r = this.reviews.get(namespace, name);
      if (r) out.push(r);
    }
    return out;
  }

  private async reconcile(key: string): Promise<void> {
    // Before both caches hold their first list a review's scope may just not be there yet: wait
    // (startLeading resyncs everything once they do).
    if (!this.leading || !this.reviews.health().synced || !this.scopes.health().synced) return;
    const { kind, namespace, name } = parseKey(key);
    try {
      if (kind === REVIEW) await this.reconcileReview(key, namespace, name);
      else await this.reconcileScope(key, namespace, name);
      this.metrics.reconciles.inc({ kind, result: 'success' });
    } catch (e) {
      this.metrics.reconciles.inc({ kind, result: 'error' });
      throw e;
    }
  }

  private async reconcileReview(key: string, namespace: string, name: string): Promise<void> {
    const cached = this.reviews.get(namespace, name);
    if (!cached) {
      this.timers.cancel(key);
      this.metrics.deleteReview(namespace, name);
      return;
    }
    const scopeName = cached.spec.scopeRef.name;
    const scope = this.scopes.get(namespace, scopeName);
    const siblings = () => this.reviewsOf(namespace, scopeName);
    const before = cached.status?.conditions;
    const res = await writeStatus(this.reviewClient, cached, (review) => reconcileReview({ review, scope, siblings, now: Date.now() }));
    if (!this.leading) return;
    if (!res) {
      this.timers.cancel(key);
      this.metrics.deleteReview(namespace, name);
      return;
    }
    const d = res.decision;
    const v = d.validity;
    if (res.written) {
      this.observeLateness(before, res.object.status?.conditions, v.expiresAt, v.expiringSoonAt);
      this.log.debug({ review: `${namespace}/${name}`, valid: v.valid, reason: v.reason }, 'status written');
      this.emit(referenceTo(res.object, 'AccessReview'), d.events);
    }
    if (d.create && !this.reviews.get(namespace, d.create.metadata.name)) {
      try {
        await this.reviewClient.create(scope ? await this.withUsage(d.create, scope) : d.create);
        this.log.info({ review: `${namespace}/${d.create.metadata.name}`, previous: name }, 'opened the next periodic review');
      } catch (e) {
        if (!isConflict(e)) throw e; // AlreadyExists: opened before (by us or another replica)
      }
    }
    this.metrics.setReview({ namespace, review: name, scope: scopeName }, v.valid, v.expiresAt);
    if (d.requeueAt !== undefined) this.timers.schedule(key, d.requeueAt);
    else this.timers.cancel(key);
  }

  /** The review with a usage summary annotation; a source that fails is logged and the review opened without it. */
  private async withUsage(review: AccessReview, scope: ModelScope): Promise<AccessReview> {
    if (!this.opts.usageSource) return review;
    try {
      const summary = await this.opts.usageSource.summary(scope);
      return {
        ...review,
        metadata: { ...review.metadata, annotations: { ...review.metadata.annotations, [ANNOTATION_USAGE]: summary.slice(0, 4096) } },
      };
    } catch (e) {
      this.log.warn(
        { scope: `${scope.metadata.namespace}/${scope.metadata.name}`, err: (e as Error).message },
        'usage summary unavailable; opening the review without it',
      );
      return review;
    }
  }

  private notifyApprovalRequested(r: AccessReview): void {
    const ns = r.metadata.namespace!;
    const scope = this.scopes.get(ns, r.spec.scopeRef.name);
    const req = r.spec.request;
    this.opts.notifier?.notify({
      type: 'approval-requested',
      time: new Date().toISOString(),
      namespace: ns,
      review: r.metadata.name,
      scope: r.spec.scopeRef.name,
      reviewers: (scope?.spec.approval?.approvers ?? []).map((a) => `${a.kind}:${a.name}`),
      message: `${req?.subject.kind} ${req?.subject.name} asks for ${[req?.model, ...(req?.tools ?? [])].filter(Boolean).join(', ')}; approve with: scopekeeper reviews approve ${r.metadata.name} -n ${ns}`,
      request: req
        ? {
            subject: `${req.subject.kind}/${req.subject.namespace ? `${req.subject.namespace}/` : ''}${req.subject.name}`,
            model: req.model,
            tools: req.tools,
            reason: req.reason,
          }
        : undefined,
    });
  }

  /** Events go out beside the queue: a burst of expiries is not held up by their Events. */
  private emit(regarding: ObjectReference, events: readonly EventSpec[]): void {
    for (const e of events) {
      const type = NOTIFY_ON[e.reason];
      if (type && regarding.kind === 'AccessReview' && this.opts.notifier) {
        const r = this.reviews.get(regarding.namespace ?? '', regarding.name);
        const scope = r && this.scopes.get(regarding.namespace ?? '', r.spec.scopeRef.name);
        this.opts.notifier.notify({
          type,
          time: new Date().toISOString(),
          namespace: regarding.namespace ?? '',
          review: regarding.name,
          scope: r?.spec.scopeRef.name ?? '',
          reviewers: (scope?.spec.review?.reviewers ?? []).map((x) => `${x.kind}:${x.name}`),
          expiresAt: r?.status?.expiresAt ?? r?.spec.expiresAt,
          message: e.note,
        });
      }
      const p = this.recorder.emit(regarding, e).finally(() => this.pendingEvents.delete(p));
      this.pendingEvents.add(p);
    }
  }

  /** How long after its deadline a clock-driven flip reached the API server. */
  private observeLateness(
    before: readonly Condition[] | undefined,
    after: readonly Condition[] | undefined,
    expiresAt?: number,
    soonAt?: number,
  ): void {
    const now = Date.now();
    if (findCondition(after, VALID)?.reason === 'Expired' && findCondition(before, VALID)?.status === 'True' && expiresAt !== undefined) {
      this.metrics.transitionLateness.observe(Math.max(0, now - expiresAt) / 1000);
    }
    if (
      findCondition(after, EXPIRING_SOON)?.status === 'True' &&
      findCondition(before, EXPIRING_SOON)?.status === 'False' &&
      soonAt !== undefined
    ) {
      this.metrics.transitionLateness.observe(Math.max(0, now - soonAt) / 1000);
    }
  }

  private async reconcileScope(key: string, namespace: string, name: string): Promise<void> {
    const cached = this.scopes.get(namespace, name);
    if (!cached) {
      this.timers.cancel(key);
      return;
    }
    const reviews = this.reviewsOf(namespace, name);
    const res = await writeStatus(this.scopeClient, cached, (scope) => reconcileScope({ scope, reviews, now: Date.now() }));
    if (!this.leading || !res) return;
    if (res.written) this.emit(referenceTo(res.object, 'ModelScope'), res.decision.events);
    if (res.decision.requeueAt !== undefined) this.timers.schedule(key, res.decision.requeueAt);
    else this.timers.cancel(key);
  }
}
