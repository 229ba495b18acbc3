// The admission webhooks (DESIGN.md §3 "Pod opt-in", §6): sidecar injection, AccessReview
// decision checks and stamping, enforced namespaces, the HTTPS server and its certificates.
export * from './constants.ts';
export { applyPatch, canonicalJson, diffPatch, escapePointer, type JsonPatchOp } from './jsonpatch.ts';
export {
  allow,
  deny,
  toAdmissionReview,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
  type AdmissionUserInfo,
  type Verdict,
} from './admission.ts';
export { DEFAULT_PROTECTED_HOST_PATHS, INJECTION_CONFIG_SCHEMA, parseInjectionConfig, type InjectionConfig } from './config.ts';
export {
  DEFAULT_SIDECAR_RESOURCES,
  comparableContainer,
  comparableVolume,
  findSidecar,
  injectedVolumes,
  podScope,
  sidecarArgs,
  sidecarContainer,
  sidecarMismatch,
  type PodPlan,
} from './sidecar.ts';
export {
  describePod,
  endpointAudiences,
  mutatePod,
  optIn,
  parseServerVersion,
  podPlan,
  useNativeSidecar,
  type InjectionContext,
  type InjectionResult,
  type MutationResult,
  type ServerVersion,
} from './inject.ts';
export { coversProtectedPath, describeExposures, podExposures, type Exposure } from './pod-guard.ts';
export { validate, type NamespaceLike, type ValidationDeps } from './validate.ts';
export { looksInjected, validatePod } from './validate-pod.ts';
export { isDecision, mutateAccessReview, serviceAccountOf, subjectMatch, validateAccessReview } from './validate-review.ts';
export {
  createWebhookServer,
  injectionsCounter,
  type WebhookDeps,
  type WebhookServer,
  type WebhookServerOptions,
  type WebhookTls,
} from './server.ts';
export {
  CA_ROTATE_BEFORE_MS,
  ROTATE_BEFORE_MS,
  SECRET_KEYS,
  certExpiry,
  covers,
  dirCertStore,
  ensureCerts,
  generateCA,
  issueServingCert,
  keyMatches,
  needsRotation,
  patchCaBundle,
  secretCertStore,
  serviceDnsNames,
  signedBy,
  splitPem,
  type CertPair,
  type CertStore,
  type EnsureCertsOptions,
  type EnsureCertsResult,
  type SecretApi,
  type WebhookCerts,
  type WebhookConfigApi,
} from './certs.ts';
