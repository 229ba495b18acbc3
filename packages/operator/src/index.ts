// The operator package (see docs/ARCHITECTURE.md): review lifecycle into status conditions,
// Events and metrics; leader election; the next review opened when the window opens.
export { Operator, DEFAULT_ADMIN, DEFAULT_LEASE_NAME, type OperatorOptions, type LeaderElectionSettings } from './operator.ts';
export {
  reconcileReview,
  reconcileScope,
  bestValidPeriodic,
  nextReviewName,
  VALID,
  EXPIRING_SOON,
  READY,
  LABEL_SCOPE,
  LABEL_MANAGED_BY,
  ANNOTATION_PREVIOUS,
  ANNOTATION_PREVIOUS_EXPIRES,
  type ReviewInput,
  type ReviewResult,
  type ScopeInput,
  type ScopeResult,
} from './reconcile.ts';
export { setCondition, findCondition, rfc3339, rfc3339Seconds, sameJson, type Condition } from './conditions.ts';
export { TimerHeap, type TimerClock } from './timers.ts';
export { WorkQueue, type WorkQueueOptions } from './queue.ts';
export { OperatorMetrics } from './metrics.ts';
export { startAdminServer, type AdminServer } from './admin.ts';
export { createLogger } from './log.ts';
export { WebhookNotifier, type Notification, type NotificationType, type NotifierOptions } from './notify.ts';
export { Admission, type AdmissionOptions } from './admission.ts';
export { PrometheusUsageSource, parseUsageFrom, summarize, ANNOTATION_USAGE, type UsageSource } from './usage-source.ts';
