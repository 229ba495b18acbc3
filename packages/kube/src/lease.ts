// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it:
//  - a candidate takes the lease when nobody holds it, or when the holder has not renewed it for
//    leaseDuration (measured on OUR clock, from when we last saw the record change, so clock skew
//    between replicas does not matter);
//  - the leader renews every retryPeriod and stops leading when it could not renew for
//    renewDeadline (< leaseDuration, so it stops before anybody else may start);
//  - stop() hands over: it clears holderIdentity, so a candidate takes over at its next try.
// Writes use the lease's resourceVersion: of two candidates racing, one gets 409 and loses.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { describeError, isConflict, isNotFound } from './errors.ts';
import { silentLogger, type Logger } from './log.ts';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  /** This replica; unique among the candidates (e.g. pod name, or hostname-pid). */
  identity: string;
  /** How long a lease lasts without renewal before others may take it. Default 15. */
  leaseDurationSeconds?: number;
  /** How long the leader keeps trying to renew before it gives up leading. Default 10. */
  renewDeadlineSeconds?: number;
  /** How often candidates try to acquire and the leader renews. Default 2. */
  retryPeriodSeconds?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** The observed holder changed (undefined: nobody holds it). */
  onNewLeader?: (identity: string | undefined) => void;
  log?: Logger;
}

const timeText = (t: unknown): string => (t instanceof Date ? t.toISOString() : t === undefined || t === null ? '' : String(t));

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly opts: LeaderElectionOptions;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private running = false;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private observedRecord = '';
  private observedAt = 0;
  private holder: string | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(opts: LeaderElectionOptions) {
    this.opts = opts;
    this.log = opts.log ?? silentLogger;
    this.leaseMs = (opts.leaseDurationSeconds ?? 15) * 1000;
    this.renewMs = (opts.renewDeadlineSeconds ?? 10) * 1000;
    this.retryMs = (opts.retryPeriodSeconds ?? 2) * 1000;
    if (!(this.leaseMs > this.renewMs && this.renewMs > this.retryMs && this.retryMs > 0)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod > 0');
    }
    this.api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder as last observed. */
  leader(): string | undefined {
    return this.holder;
  }

  /** Stops; a leader releases the lease (clears holderIdentity) so another replica takes over at once. */
  async stop(): Promise<void> {
    this.halt();
    await this.inFlight;
    if (!this.leading) return;
    try {
      await this.release();
    } catch (e) {
      this.log.warn(
        { lease: this.leaseName, err: describeError(e) },
        'could not release the lease; another replica takes over when it expires',
      );
    }
    this.lose();
  }

  /** For tests: stop at once, as a killed process would: no release, no callbacks. */
  crash(): void {
    this.halt();
    this.leading = false;
  }

  private halt(): void {
    this.running = false;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
  }

  private get leaseName(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  private tick(): void {
    if (!this.running) return;
    this.inFlight = this.tryAcquireOrRenew().then(
      (ok) => this.after(ok),
      (e: unknown) => {
        this.log.warn({ lease: this.leaseName, err: describeError(e) }, this.leading ? 'lease renewal failed' : 'lease acquisition failed');
        this.after(false);
      },
    );
  }

  private after(ok: boolean): void {
    if (!this.running) return;
    // Somebody else holds it now (we were cut off longer than the lease): stop at once.
    if (!ok && this.leading && this.holder !== undefined && this.holder !== this.opts.identity) this.lose();
    if (ok) {
      clearTimeout(this.deadline);
      this.deadline = setTimeout(() => {
        this.log.warn(
          { lease: this.leaseName, identity: this.opts.identity },
          `could not renew the lease for ${this.renewMs / 1000}s; stopping leading`,
        );
        this.lose();
      }, this.renewMs);
      if (!this.leading) {
        this.leading = true;
        this.log.info({ lease: this.leaseName, identity: this.opts.identity }, 'became leader');
        this.opts.onStartedLeading();
      }
    }
    // Candidates jitter their tries so that they do not all hit the API at the same instant.
    const wait = this.leading ? this.retryMs : this.retryMs * (1 + 0.2 * Math.random());
    this.timer = setTimeout(() => this.tick(), wait);
  }

  private lose(): void {
    clearTimeout(this.deadline);
    if (!this.leading) return;
    this.leading = false;
    this.log.info({ lease: this.leaseName, identity: this.opts.identity }, 'stopped leading');
    this.opts.onStoppedLeading();
  }

  private observe(spec: V1LeaseSpec | undefined, now: number): void {
    const record = `${spec?.holderIdentity ?? ''}|${timeText(spec?.renewTime)}|${spec?.leaseDurationSeconds ?? ''}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
    const holder = spec?.holderIdentity || undefined;
    if (holder !== this.holder) {
      this.holder = holder;
      this.opts.onNewLeader?.(holder);
    }
  }

  /** One request may not outlast a retry period: a hung connection must not keep a stale leader. */
  private bounded<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`lease request timed out after ${Math.max(1000, this.retryMs)} ms`)),
        Math.max(1000, this.retryMs),
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = Date.now();
    let lease: V1Lease;
    try {
      lease = await this.bounded(this.api.readNamespacedLease({ namespace, name }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const spec: V1LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseMs / 1000,
        acquireTime: new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: 0,
      };
      try {
        await this.bounded(
          this.api.createNamespacedLease({
            namespace,
            body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec },
          }),
        );
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
      this.observe(spec, now);
      return true;
    }
    this.observe(lease.spec, now);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity || undefined;
    const duration = (spec.leaseDurationSeconds ?? this.leaseMs / 1000) * 1000;
    if (holder !== undefined && holder !== identity && this.observedAt + duration > now) return false;
    const next: V1LeaseSpec =
      holder === identity
        ? { ...spec, renewTime: new V1MicroTime(now), leaseDurationSeconds: this.leaseMs / 1000 }
        : {
            holderIdentity: identity,
            leaseDurationSeconds: this.leaseMs / 1000,
            acquireTime: new V1MicroTime(now),
            renewTime: new V1MicroTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
          };
    try {
      await this.bounded(this.api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec: next } }));
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
    this.observe(next, now);
    return true;
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const lease = await this.bounded(this.api.readNamespacedLease({ namespace, name }));
    if (lease.spec?.holderIdentity !== identity) return;
    const now = new V1MicroTime(Date.now());
    const spec: V1LeaseSpec = { leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions };
    await this.bounded(this.api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec } }));
    this.log.info({ lease: this.leaseName, identity }, 'released the lease');
  }
}
