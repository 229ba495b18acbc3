// The injection config: what the operator injects into every pod (chart values → the ConfigMap
// `<release>-injection`, key injection.json → --injection-config). Its shape is a JSON schema,
// checked with ajv, so a wrong field is named with the path and the rule it breaks.
import AjvModule, { type ErrorObject } from 'ajv';
import type { V1ResourceRequirements } from '@kubernetes/client-node';

/** What the operator is configured with (chart values → operator flags) for every injected pod. */
export interface InjectionConfig {
  /** The one scopekeeper image (the sidecar runs `scopekeeper sidecar …` from it). */
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** `--issuer` values: the cluster's service-account issuer, and any OIDC issuer callers use. At least one. */
  issuers: string[];
  /** `--issuer-ca`: a PEM bundle file inside the sidecar to trust for issuer discovery (e.g. the kube API CA). */
  issuerCAFile?: string;
  /** `--service-account-issuer`: the one issuer whose tokens can be ServiceAccounts, when it is not the first of `issuers`. */
  serviceAccountIssuer?: string;
  /** `--groups-claim`: the token claim holding a caller's groups (default `groups`). */
  groupsClaim?: string;
  /** SAML assertions as callers' credentials: the IdPs' metadata (`--saml-idp-metadata`, URLs or files in the image), `--saml-audience`, `--saml-groups-attribute`. */
  saml?: { idpMetadata: string[]; audience?: string; groupsAttribute?: string };
  /** Name of the Secret (in the pod's namespace) whose key `api-key` holds the upstream API key. */
  upstreamKeySecret: string;
  /** `--upstream`, when not the sidecar's default (https://api.anthropic.com). */
  upstream?: string;
  /** `--audit` sinks; default `stdout`. */
  audit?: string[];
  resources?: V1ResourceRequirements;
  /** `auto` (default): a native sidecar from Kubernetes 1.29 on; `always` / `never` override it. */
  nativeSidecar?: 'auto' | 'always' | 'never';
  /**
   * Node directories a hostPath volume of an injected pod may neither be nor contain nor lie
   * inside: they hold the key Secret's files (the kubelet's pod directories) or reach into other
   * containers (/proc, the runtime's state), besides DEFAULT_PROTECTED_HOST_PATHS (e.g. a kubelet
   * --root-dir elsewhere).
   */
  protectedHostPaths?: string[];
  /**
   * Node directories a hostPath volume of an injected pod may be or lie inside; every other
   * hostPath is refused. The node follows symlinks in a hostPath, so no check of the path's text
   * tells what it reaches (a pod that writes /tmp/kl -> /var/lib/kubelet turns hostPath /tmp/kl
   * into the key Secret's directory): list only directories no pod can write.
   */
  allowedHostPaths?: string[];
}

/** Where a node keeps what would give a hostPath mount the sidecar's key file. */
export const DEFAULT_PROTECTED_HOST_PATHS: readonly string[] = [
  '/var/lib/kubelet',
  '/proc',
  '/run/containerd',
  '/var/run/containerd',
  '/var/lib/containerd',
  '/run/crio',
  '/var/run/crio',
  '/run/containers',
  '/var/lib/containers',
  '/var/lib/docker',
  '/run/docker.sock',
  '/var/run/docker.sock',
  '/run/cri-dockerd.sock',
  '/var/run/cri-dockerd.sock',
  '/run/k3s',
  '/var/lib/rancher',
];

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const nonEmpty = { type: 'string', minLength: 1 } as const;
const quantities = { type: 'object', additionalProperties: { type: ['string', 'number'] } } as const;

export const INJECTION_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['image', 'issuers', 'upstreamKeySecret'],
  properties: {
    image: nonEmpty,
    imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    issuers: { type: 'array', minItems: 1, items: nonEmpty },
    issuerCAFile: nonEmpty,
    serviceAccountIssuer: nonEmpty,
    groupsClaim: nonEmpty,
    saml: {
      type: 'object',
      additionalProperties: false,
      required: ['idpMetadata'],
      properties: { idpMetadata: { type: 'array', minItems: 1, items: nonEmpty }, audience: nonEmpty, groupsAttribute: nonEmpty },
    },
    upstreamKeySecret: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN },
    upstream: nonEmpty,
    audit: { type: 'array', minItems: 1, items: nonEmpty },
    resources: { type: 'object', additionalProperties: false, properties: { requests: quantities, limits: quantities } },
    nativeSidecar: { enum: ['auto', 'always', 'never'] },
    protectedHostPaths: { type: 'array', items: { type: 'string', pattern: '^/' } },
    allowedHostPaths: { type: 'array', items: { type: 'string', pattern: '^/' } },
  },
} as const;

// ajv is CommonJS: its default export is module.exports itself.
const ajv = new AjvModule.default({ allErrors: true, strict: true, allowUnionTypes: true });
const check = ajv.compile(INJECTION_CONFIG_SCHEMA);

function describe(e: ErrorObject): string {
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
  if (e.keyword === 'additionalProperties')
    return `unknown field ${at ? `${at}.` : ''}${(e.params as { additionalProperty: string }).additionalProperty}`;
  if (e.keyword === 'required') return `${at ? `${at}.` : ''}${(e.params as { missingProperty: string }).missingProperty} is required`;
  if (e.keyword === 'enum') return `${at} must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'pattern' && at === 'upstreamKeySecret') return 'upstreamKeySecret is not a valid Secret name';
  return `${at} ${e.message}`;
}

/** Reads an InjectionConfig from parsed JSON; throws naming every field that breaks the schema. */
export function parseInjectionConfig(raw: unknown, source = 'the injection config'): InjectionConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source} must be a JSON object`);
  if (!check(raw)) throw new Error(`${source}: ${(check.errors ?? []).map(describe).join('; ')}`);
  return raw as InjectionConfig;
}
