// The admission webhooks (DESIGN.md §3 "Pod opt-in", §6): sidecar injection, AccessReview
// decision checks and stamping, enforced namespaces, the HTTPS server and its certificates.
export * from './constants.ts';
export { applyPatch, canonicalJson, escapePointer, type JsonPatchOp } from './jsonpatch.ts';
export { allow, deny, toAdmissionReview, type AdmissionRequest, type AdmissionResponse, type AdmissionReview, type AdmissionUserInfo, type Verdict } from './admission.ts';
export {
  DEFAULT_SIDECAR_RESOURCES,
  describePod,
  findSidecar,
  hasOurSidecar,
  injectedVolumes,
  isOurSidecar,
  mutatePod,
  optIn,
  parseInjectionConfig,
  parseServerVersion,
  podScope,
  sidecarArgs,
  sidecarContainer,
  upstreamKeyReads,
  useNativeSidecar,
  type InjectionConfig,
  type InjectionContext,
  type InjectionResult,
  type KeyRead,
  type MutationResult,
  type ServerVersion,
} from './inject.ts';
export { isDecision, mutateAccessReview, validate, validateAccessReview, validatePod, type NamespaceLike, type ValidationDeps } from './validate.ts';
export { createWebhookServer, injectionsCounter, type WebhookDeps, type WebhookServer, type WebhookServerOptions, type WebhookTls } from './server.ts';
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
