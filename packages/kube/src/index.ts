// The kube package: a thin layer over @kubernetes/client-node (see docs/ARCHITECTURE.md).
//  - resources.ts  typed clients for ModelScope and AccessReview
//  - informer.ts   list + watch that restarts itself after errors, with health
//  - status.ts     status writes through the status subresource, retried on conflict
//  - events.ts     events.k8s.io/v1 Events, repeats folded into a series
//  - lease.ts      Lease-based leader election
export { KubeConfig, loadKubeConfig, shareConnections } from './config.ts';
export { backoffDelay, type BackoffOptions } from './backoff.ts';
export { describeError, httpStatus, isConflict, isNotFound } from './errors.ts';
export { silentLogger, type Logger } from './log.ts';
export {
  ACCESS_REVIEW,
  API_VERSION,
  GROUP,
  MODEL_SCOPE,
  VERSION,
  ResourceClient,
  accessReviews,
  keyOf,
  modelScopes,
  splitKey,
  type KindInfo,
  type KubeObject,
  type ObjectList,
} from './resources.ts';
export { Informer, resourceInformer, type InformerEventType, type InformerHealth, type InformerOptions } from './informer.ts';
export { statusMergePatch, writeStatus, type StatusDecision, type StatusWriteResult } from './status.ts';
export {
  EventRecorder,
  REPORTING_CONTROLLER,
  referenceTo,
  type EventRecorderOptions,
  type EventSpec,
  type ObjectReference,
} from './events.ts';
export { LeaderElector, type LeaderElectionOptions } from './lease.ts';
export { whoAmI, type Me } from './whoami.ts';
