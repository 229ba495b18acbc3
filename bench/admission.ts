// Admission webhook work per pod (DESIGN.md §9: webhook p99 <= 10 ms): the injection (mutate a deep
// copy, diff it into a JSON patch) and the validation of the injected pod, in process, without
// the HTTPS round trip. A pod of 3 containers with 20 env vars each, 50 ModelScopes with endpoint
// audiences in its namespace.
// Run: node_modules/.bin/node bench/admission.ts
import type { V1Pod } from '@kubernetes/client-node';
import type { ModelScope } from '@scopekeeper/core';
import {
  applyPatch,
  mutatePod,
  validatePod,
  type AdmissionRequest,
  type InjectionConfig,
  type ValidationDeps,
} from '../packages/operator/src/webhook/index.ts';

const config: InjectionConfig = {
  image: 'ghcr.io/scopekeeper/scopekeeper:0.2.0',
  issuers: ['https://kubernetes.default.svc.cluster.local'],
  upstreamKeySecret: 'anthropic-api-key',
};
const scopes = Array.from({ length: 50 }, (_, i) => ({
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name: `scope-${i}`, namespace: 'team-a' },
  spec: {
    subjects: [{ kind: 'ServiceAccount', name: `bot-${i}` }],
    models: ['claude-sonnet-4-5'],
    endpoints: [{ name: 'crm', url: 'http://crm:8080', auth: { serviceAccountToken: { audience: `aud-${i % 5}` } } }],
  },
})) as ModelScope[];
const pod: V1Pod = {
  metadata: { name: 'agent', namespace: 'team-a', annotations: { 'scopekeeper.dev/inject': 'true' } },
  spec: {
    containers: Array.from({ length: 3 }, (_, i) => ({
      name: `c${i}`,
      image: 'agent:1',
      env: Array.from({ length: 20 }, (_, j) => ({ name: `E${j}`, value: 'v' })),
    })),
  },
};
const deps: Pick<ValidationDeps, 'getNamespace' | 'listScopes' | 'injection'> = {
  getNamespace: (name) => ({ metadata: { name, labels: { 'scopekeeper.dev/enforce': 'true' } } }),
  listScopes: () => scopes,
  injection: config,
};
const request = (object: V1Pod): AdmissionRequest => ({
  uid: 'u',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'team-a',
  operation: 'CREATE',
  userInfo: {},
  object,
});

const mutate: number[] = [];
const validate: number[] = [];
for (let i = 0; i < 6000; i++) {
  const t0 = process.hrtime.bigint();
  const r = mutatePod(pod, { namespace: 'team-a', serverVersion: 'v1.37.2', config, scopes });
  const t1 = process.hrtime.bigint();
  if (!r.allowed) throw new Error(r.message);
  const injected = applyPatch(pod, r.patch);
  const t2 = process.hrtime.bigint();
  const v = await validatePod(request(injected), deps);
  const t3 = process.hrtime.bigint();
  if (!v.allowed) throw new Error(v.message);
  if (i >= 1000) {
    mutate.push(Number(t1 - t0) / 1e6);
    validate.push(Number(t3 - t2) / 1e6);
  }
}
const q = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(a.length * p)]!.toFixed(3);
console.log(
  `admission, 5000 pods after 1000 warm-up: mutatePod p50 ${q(mutate, 0.5)} ms p99 ${q(mutate, 0.99)} ms; validatePod p50 ${q(validate, 0.5)} ms p99 ${q(validate, 0.99)} ms`,
);
