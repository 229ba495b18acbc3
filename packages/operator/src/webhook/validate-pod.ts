// /validate-pod: pods in namespaces labelled scopekeeper.dev/enforce=true must carry the sidecar
// exactly as injected; in those namespaces and in every injected pod elsewhere, nothing else may
// reach the sidecar's credentials (pod-guard.ts), at creation, through an update or an ephemeral
// container. An update may not change the sidecar, nor drop the marks by which the webhook
// configuration finds injected pods.
import type { V1Pod } from '@kubernetes/client-node';
import { allow, deny, type AdmissionRequest, type Verdict } from './admission.ts';
import { ANNOTATION_INJECT, ANNOTATION_STATUS, LABEL_ENFORCE, LABEL_INJECTED, SIDECAR_NAME, STATUS_INJECTED } from './constants.ts';
import { describePod, endpointAudiences, optIn, podPlan } from './inject.ts';
import { canonicalJson } from './jsonpatch.ts';
import { describeExposures, exposureKey, podExposures } from './pod-guard.ts';
import { comparableContainer, findSidecar, sidecarMismatch } from './sidecar.ts';
import type { ValidationDeps } from './validate.ts';

const NEVER_ENFORCED = new Set(['kube-system']);
const CREDENTIALS =
  'Only the scopekeeper sidecar may hold the upstream key and its service tokens; the app calls http://127.0.0.1:15180 (ANTHROPIC_BASE_URL) with the token in $SCOPEKEEPER_TOKEN_FILE instead.';

/** Whether the pod is (or claims to be) injected: the marks the injection writes, or our container's name. */
export function looksInjected(pod: V1Pod | undefined): boolean {
  if (!pod) return false;
  return (
    pod.metadata?.labels?.[LABEL_INJECTED] === 'true' ||
    pod.metadata?.annotations?.[ANNOTATION_STATUS] === STATUS_INJECTED ||
    findSidecar(pod) !== undefined
  );
}

function sidecarChange(old: V1Pod, pod: V1Pod): string | undefined {
  const a = findSidecar(old);
  const b = findSidecar(pod);
  if (!a && !b) return undefined;
  if (!a || !b) return a ? `it removes container ${SIDECAR_NAME}` : `it adds a container named ${SIDECAR_NAME}`;
  if (a.list !== b.list || a.index !== b.index) return `it moves container ${SIDECAR_NAME}`;
  const x = JSON.parse(comparableContainer(a.container)) as Record<string, unknown>;
  const y = JSON.parse(comparableContainer(b.container)) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => canonicalJson(x[k]) !== canonicalJson(y[k])).sort();
  return fields.length ? `it changes ${fields.join(', ')} of container ${SIDECAR_NAME}` : undefined;
}

export async function validatePod(
  req: AdmissionRequest,
  deps: Pick<ValidationDeps, 'getNamespace' | 'listScopes' | 'injection'>,
): Promise<Verdict> {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
  // Status writes come from the kubelet and cannot change the spec.
  if (req.subResource === 'status') return allow();
  const pod = req.object as V1Pod | undefined;
  const old = req.operation === 'UPDATE' ? (req.oldObject as V1Pod | undefined) : undefined;
  if (!pod?.spec) return deny('the Pod has no spec', 400);
  const ns = req.namespace || pod.metadata?.namespace || '';
  if (NEVER_ENFORCED.has(ns)) return allow();
  const namespace = await deps.getNamespace(ns);
  if (!namespace) {
    return deny(
      `namespace ${ns} is not known to the scopekeeper webhook yet (its cache has not seen it), so whether it enforces injection cannot be checked. Retry in a few seconds.`,
    );
  }
  const enforced = namespace.metadata?.labels?.[LABEL_ENFORCE] === 'true';
  const injected = looksInjected(pod) || looksInjected(old);
  if (!enforced && !injected) return allow();

  const who = describePod(pod, ns);
  const why = enforced ? `namespace ${ns} is labelled ${LABEL_ENFORCE}=true` : 'the pod is injected with the scopekeeper sidecar';
  const scopes = (await deps.listScopes?.(ns)) ?? [];
  const audiences = endpointAudiences(scopes);
  const problems: string[] = [];

  if (old) {
    const change = sidecarChange(old, pod);
    if (change) {
      problems.push(
        `${who}: an update may not change the scopekeeper sidecar (${change}); it holds the upstream key. ` +
          `Leave container ${SIDECAR_NAME} as injected; to run another sidecar, change the operator's injection config and re-create the pod.`,
      );
    }
    if (
      looksInjected(old) &&
      (pod.metadata?.labels?.[LABEL_INJECTED] !== old.metadata?.labels?.[LABEL_INJECTED] ||
        pod.metadata?.annotations?.[ANNOTATION_STATUS] !== old.metadata?.annotations?.[ANNOTATION_STATUS])
    ) {
      problems.push(
        `${who}: an update may not change the label ${LABEL_INJECTED} or the annotation ${ANNOTATION_STATUS} of an injected pod: the webhooks find injected pods by them. Put them back as they were.`,
      );
    }
    const before = new Set(podExposures(old, deps.injection, audiences).map(exposureKey));
    const added = podExposures(pod, deps.injection, audiences).filter((e) => !before.has(exposureKey(e)));
    if (added.length)
      problems.push(
        `${who}: this ${req.subResource ? `${req.subResource} ` : ''}update would expose the scopekeeper sidecar's credentials (${why}): ${describeExposures(added)}. ${CREDENTIALS}`,
      );
    return problems.length ? deny(problems.join(' Also: ')) : allow();
  }

  const mismatch = findSidecar(pod) ? sidecarMismatch(pod, deps.injection, podPlan(pod, scopes)) : undefined;
  const isOurs =
    pod.metadata?.annotations?.[ANNOTATION_STATUS] === STATUS_INJECTED && findSidecar(pod) !== undefined && mismatch === undefined;
  if (mismatch) {
    problems.push(
      `${who} carries a container named ${SIDECAR_NAME} that is not the sidecar scopekeeper injects (${mismatch}) and ${why}. ` +
        `Remove that container (and the injected volumes) from the pod spec and let the webhook inject the sidecar.`,
    );
  } else if (enforced && !isOurs) {
    const opt = optIn(pod);
    if (opt.value === 'false') {
      problems.push(
        `${who} opts out of the scopekeeper sidecar (${ANNOTATION_INJECT}: "false"), but ${why}: every pod there must run it. ` +
          `Set ${ANNOTATION_INJECT}: "true" on the pod (for a Deployment: spec.template.metadata.annotations).`,
      );
    } else if (opt.value === 'true') {
      problems.push(
        `${who} asks for the scopekeeper sidecar but does not carry it, and ${why}: the injection webhook did not run. ` +
          `Check that the scopekeeper operator is running and its MutatingWebhookConfiguration "scopekeeper" is installed, then create the pod again.`,
      );
    } else {
      problems.push(
        `${who} is not injected with the scopekeeper sidecar, and ${why}: every pod there must run it. ` +
          `Add the annotation ${ANNOTATION_INJECT}: "true" to the pod (for a Deployment: spec.template.metadata.annotations).`,
      );
    }
  }
  const exposures = podExposures(pod, deps.injection, audiences);
  if (exposures.length)
    problems.push(`${who} would expose the scopekeeper sidecar's credentials (${why}): ${describeExposures(exposures)}. ${CREDENTIALS}`);
  return problems.length ? deny(problems.join(' Also: ')) : allow();
}
