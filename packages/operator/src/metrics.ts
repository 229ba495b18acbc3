// The operator's Prometheus metrics (DESIGN.md §5: names are contract), on its own registry so
// two operators in one process (tests) do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

interface ReviewLabels {
  namespace: string;
  review: string;
  scope: string;
}

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reviewValid = new Gauge({
    name: 'scopekeeper_access_review_valid',
    help: '1 while the AccessReview grants access, 0 otherwise (Pending, Revoked, Expired, ...).',
    labelNames: ['namespace', 'review', 'scope'] as const,
    registers: [this.registry],
  });
  readonly reviewExpiry = new Gauge({
    name: 'scopekeeper_access_review_expiry_timestamp_seconds',
    help: 'When the AccessReview stops being valid (Unix seconds), for reviews that have a deadline.',
    labelNames: ['namespace', 'review', 'scope'] as const,
    registers: [this.registry],
  });
  readonly reconciles = new Counter({
    name: 'scopekeeper_reconcile_total',
    help: 'Reconciles by kind and result (success, error).',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly transitionLateness = new Histogram({
    name: 'scopekeeper_transition_lateness_seconds',
    help: 'From a deadline (expiry, start of the review window) to the status write that shows it.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'scopekeeper_operator_leader',
    help: '1 while this replica leads (and writes).',
    registers: [this.registry],
  });
  private readonly reviews = new Map<string, ReviewLabels>();
  private sources = { queueDepth: () => 0, timers: () => 0 };

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const sources = () => this.sources;
    new Gauge({
      name: 'scopekeeper_operator_queue_depth',
      help: 'Keys queued or being reconciled.',
      registers: [this.registry],
      collect() {
        this.set(sources().queueDepth());
      },
    });
    new Gauge({
      name: 'scopekeeper_operator_timers',
      help: 'Deadlines the operator is waiting for.',
      registers: [this.registry],
      collect() {
        this.set(sources().timers());
      },
    });
  }

  /** Where the queue depth and timer count are read at scrape time. */
  track(sources: { queueDepth: () => number; timers: () => number }): void {
    this.sources = sources;
  }

  setReview(labels: ReviewLabels, valid: boolean, expiresAt: number | undefined): void {
    const key = `${labels.namespace}/${labels.review}`;
    const before = this.reviews.get(key);
    if (before && before.scope !== labels.scope) this.deleteReview(labels.namespace, labels.review);
    this.reviews.set(key, labels);
    this.reviewValid.set(labels, valid ? 1 : 0);
    if (expiresAt === undefined) this.reviewExpiry.remove(labels);
    else this.reviewExpiry.set(labels, expiresAt / 1000);
  }

  deleteReview(namespace: string, review: string): void {
    const key = `${namespace}/${review}`;
    const labels = this.reviews.get(key);
    if (!labels) return;
    this.reviews.delete(key);
    this.reviewValid.remove(labels);
    this.reviewExpiry.remove(labels);
  }

  /** A replica that stops leading stops reporting reviews: the leader's figures are the truth. */
  clearReviews(): void {
    this.reviews.clear();
    this.reviewValid.reset();
    this.reviewExpiry.reset();
  }
}
