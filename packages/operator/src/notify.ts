// Notifications for people who do not watch dashboards: review due, review expired, review
// revoked and approval requested, POSTed as JSON to one configured URL, retried with backoff.
// A bounded queue: a receiver that is down for long loses the oldest notifications (counted).
import type { Logger } from '@scopekeeper/kube';

export type NotificationType = 'review-due' | 'review-expired' | 'review-revoked' | 'approval-requested';

export interface Notification {
  type: NotificationType;
  time: string;
  namespace: string;
  review: string;
  scope: string;
  /** Who should act: the scope's reviewers or approvers, "Kind:name". */
  reviewers: string[];
  expiresAt?: string;
  message: string;
  request?: { subject: string; model?: string; tools?: string[]; reason?: string };
}

export interface NotifierOptions {
  url: string;
  log: Logger;
  /** Attempts per notification (first try included). Default 6. */
  attempts?: number;
  baseDelayMs?: number;
  maxQueue?: number;
  timeoutMs?: number;
  onResult?: (result: 'sent' | 'failed' | 'dropped') => void;
}

export class WebhookNotifier {
  private readonly queue: { n: Notification; attempt: number }[] = [];
  private running = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: Required<Omit<NotifierOptions, 'onResult'>> & Pick<NotifierOptions, 'onResult'>;

  constructor(opts: NotifierOptions) {
    const u = new URL(opts.url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`--notify-url must be http(s) (got ${u.protocol})`);
    this.opts = { attempts: 6, baseDelayMs: 500, maxQueue: 10_000, timeoutMs: 5_000, ...opts };
  }

  notify(n: Notification): void {
    if (this.stopped) return;
    if (this.queue.length >= this.opts.maxQueue) {
      this.queue.shift();
      this.opts.onResult?.('dropped');
      this.opts.log.warn({ dropped: 1 }, 'notification queue full: dropped the oldest');
    }
    this.queue.push({ n, attempt: 0 });
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running || this.timer) return;
    this.running = true;
    try {
      while (this.queue.length && !this.stopped) {
        const item = this.queue[0]!;
        item.attempt++;
        try {
          const res = await fetch(this.opts.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': 'scopekeeper-operator' },
            body: JSON.stringify(item.n),
            signal: AbortSignal.timeout(this.opts.timeoutMs),
          });
          await res.arrayBuffer().catch(() => undefined);
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          this.queue.shift();
          this.opts.onResult?.('sent');
        } catch (e) {
          if (item.attempt >= this.opts.attempts) {
            this.queue.shift();
            this.opts.onResult?.('failed');
            this.opts.log.warn(
              { type: item.n.type, review: `${item.n.namespace}/${item.n.review}`, err: (e as Error).message },
              'notification failed after every retry',
            );
            continue;
          }
          const delay = Math.min(30_000, this.opts.baseDelayMs * 2 ** (item.attempt - 1)) * (0.5 + Math.random() / 2);
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.pump();
          }, delay);
          this.timer.unref();
          return;
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Tests: resolves when everything queued was sent or given up. */
  async drained(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this.queue.length || this.running) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
