// Events (events.k8s.io/v1) about our objects. A repeat of the same event (same object, type,
// reason, action and note) within `seriesWindowMs` is not a new Event: the first one gets a
// `series` with the count and the last time it was seen, as client-go's recorder does.
import { EventsV1Api, PatchStrategy, V1MicroTime, setHeaderOptions, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import { describeError, isNotFound } from './errors.ts';
import { silentLogger, type Logger } from './log.ts';

export const REPORTING_CONTROLLER = 'scopekeeper.dev/operator';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. ReviewExpired. */
  reason: string;
  /** What a person reads: what happened and what to do. At most 1 kB. */
  note: string;
  /** What the controller did or observed, CamelCase, e.g. Expire. */
  action: string;
}

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  /** This replica, e.g. the pod name. */
  reportingInstance: string;
  reportingController?: string;
  seriesWindowMs?: number;
  log?: Logger;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
  first: number;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const MAX_REMEMBERED = 4096;

export class EventRecorder {
  private readonly api: EventsV1Api;
  private readonly opts: EventRecorderOptions;
  private readonly log: Logger;
  private readonly seen = new Map<string, Seen>();
  private sequence = 0;

  constructor(opts: EventRecorderOptions) {
    this.opts = opts;
    this.log = opts.log ?? silentLogger;
    this.api = opts.kubeConfig.makeApiClient(EventsV1Api);
  }

  /** Records the event; failures are logged, not thrown (an Event is never worth failing a reconcile). */
  async emit(regarding: ObjectReference, e: EventSpec): Promise<void> {
    const key = [regarding.namespace, regarding.name, regarding.uid, e.type, e.reason, e.action, e.note].join('\u0000');
    const now = Date.now();
    const before = this.seen.get(key);
    try {
      if (before && now - before.first < (this.opts.seriesWindowMs ?? 10 * 60_000)) {
        before.count++;
        const body = { series: { count: before.count, lastObservedTime: new V1MicroTime(now) } };
        try {
          await this.api.patchNamespacedEvent({ namespace: before.namespace, name: before.name, body }, mergePatch);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // The Event was deleted (TTL): start a new one.
        }
      }
      const name = `${regarding.name.slice(0, 200)}.${(BigInt(now) * 1_000_000n + BigInt(this.sequence++ % 1_000_000)).toString(16)}`;
      const body: EventsV1Event = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace: regarding.namespace },
        eventTime: new V1MicroTime(now),
        type: e.type,
        reason: e.reason,
        action: e.action,
        note: e.note.slice(0, 1024),
        regarding,
        reportingController: this.opts.reportingController ?? REPORTING_CONTROLLER,
        reportingInstance: this.opts.reportingInstance,
      };
      await this.api.createNamespacedEvent({ namespace: regarding.namespace, body });
      this.seen.delete(key);
      this.seen.set(key, { namespace: regarding.namespace, name, count: 1, first: now });
      if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    } catch (err) {
      this.log.warn(
        { reason: e.reason, object: `${regarding.namespace}/${regarding.name}`, err: describeError(err) },
        'could not record an Event',
      );
    }
  }
}

/** A reference to one of our objects for `regarding`. */
export function referenceTo(
  o: { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string } },
  kind: string,
): ObjectReference {
  return {
    apiVersion: o.apiVersion ?? 'scopekeeper.dev/v1alpha1',
    kind: o.kind ?? kind,
    namespace: o.metadata.namespace ?? 'default',
    name: o.metadata.name,
    ...(o.metadata.uid ? { uid: o.metadata.uid } : {}),
    ...(o.metadata.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}),
  };
}
