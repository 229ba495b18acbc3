// Names the webhook writes and reads: annotations, labels, containers, volumes, paths and ports.
// Pods, the chart and the docs use these exact strings (DESIGN.md §3 "Pod opt-in").

/** `"true"` on the pod (template) injects the sidecar; `"false"` opts out. A label of the same name works too. */
export const ANNOTATION_INJECT = 'scopekeeper.dev/inject';
/** Written back as `injected`, so a second pass changes nothing. */
export const ANNOTATION_STATUS = 'scopekeeper.dev/status';
export const STATUS_INJECTED = 'injected';
/** Pins one ModelScope (`--scope`). */
export const ANNOTATION_SCOPE = 'scopekeeper.dev/scope';
/** Set on injected pods so that a PodMonitor and `kubectl get pods -l` can find them. */
export const LABEL_INJECTED = 'scopekeeper.dev/injected';
/** Namespace label: pods there must be injected and may not read the upstream key. */
export const LABEL_ENFORCE = 'scopekeeper.dev/enforce';

export const SIDECAR_NAME = 'scopekeeper-sidecar';
export const DATA_PORT = 15180;
export const ADMIN_PORT = 15181;
export const DATA_PORT_NAME = 'sk-data';
export const ADMIN_PORT_NAME = 'sk-admin';
export const BASE_URL = `http://127.0.0.1:${DATA_PORT}`;

/** The projected service-account token every app container gets (audience `scopekeeper`). */
export const TOKEN_VOLUME = 'scopekeeper-token';
export const TOKEN_DIR = '/var/run/secrets/scopekeeper';
export const TOKEN_PATH = 'token';
export const TOKEN_FILE = `${TOKEN_DIR}/${TOKEN_PATH}`;
export const TOKEN_AUDIENCE = 'scopekeeper';
/** Kubernetes' minimum for a projected token; the kubelet refreshes it at 80 % of its life. */
export const TOKEN_EXPIRATION_SECONDS = 600;
export const TOKEN_FILE_ENV = 'SCOPEKEEPER_TOKEN_FILE';

/** The upstream key Secret, mounted into the sidecar alone. */
export const KEY_VOLUME = 'scopekeeper-upstream-key';
export const KEY_SECRET_KEY = 'api-key';
export const KEY_DIR = '/var/run/scopekeeper/upstream';
export const KEY_FILE = `${KEY_DIR}/key`;

/** API credentials for the sidecar alone, when the pod turns off automountServiceAccountToken. */
export const KUBE_API_VOLUME = 'scopekeeper-kube-api-access';
export const KUBE_API_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Tokens for internal services (`endpoints[].auth.serviceAccountToken.audience`), projected into
 * the sidecar alone; `--endpoint-token <audience>=<file>` tells the sidecar which file is which.
 */
export const ENDPOINT_TOKEN_VOLUME = 'scopekeeper-endpoint-tokens';
export const ENDPOINT_TOKEN_DIR = '/var/run/scopekeeper/endpoint-tokens';

export const SIDECAR_UID = 65532;

export const PATHS = {
  mutatePod: '/mutate-pod',
  mutateAccessReview: '/mutate-accessreview',
  validateAccessReview: '/validate-accessreview',
  validatePod: '/validate-pod',
  healthz: '/healthz',
} as const;

/** The MutatingWebhookConfiguration and ValidatingWebhookConfiguration the chart installs. */
export const WEBHOOK_CONFIGURATION_NAME = 'scopekeeper';
