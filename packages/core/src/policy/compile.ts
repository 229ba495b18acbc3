// Compiles ModelScopes and AccessReviews into a snapshot indexed by subject, so a decision
// touches only the scopes that name the caller, however many scopes exist.
import type { AccessReview, ModelScope, ModelScopeSpecEndpoint } from '../types/generated.ts';
import { subjectKey } from './identity.ts';
import { globProblem } from '../util/glob.ts';
import { serverEntryProblem } from '../util/server-url.ts';
import { parseDuration } from '../util/duration.ts';
import { countingPeriodic, reviewTimeline, type ReviewTimeline } from './review.ts';
import { DataRulesCache } from './data-rules.ts';
import { compileMasking } from '../masking/index.ts';
import { parseJsonPath } from '../masking/jsonpath.ts';

export interface CompiledScope {
  /** Position in the snapshot: with several matching scopes the first that allows wins. */
  order: number;
  /**
   * Scopes with the same shape (the spec without subjects, review and data) fit every request
   * alike, so decide() checks the fit once per shape: one group named by hundreds of
   * identical scopes costs one fit, not hundreds.
   */
  shape: number;
  name: string;
  namespace: string;
  scope: ModelScope;
  endpoints: Map<string, ModelScopeSpecEndpoint>;
  periodic: TimedReview[];
  /** The Periodic review that decides access: the newest decided one (review.ts countingPeriodic). */
  counting?: TimedReview;
  justInTime: TimedReview[];
}

export interface TimedReview {
  review: AccessReview;
  timeline: ReviewTimeline;
}

export interface PolicySnapshot {
  namespace?: string;
  scopes: CompiledScope[];
  bySubject: Map<string, CompiledScope[]>;
  /** Scopes that failed to compile, with why; they grant nothing. */
  invalid: { name: string; namespace: string; problems: string[] }[];
  /** The data rules of each set of scopes naming a caller, compiled once (data-rules.ts). */
  dataRules: DataRulesCache;
  /** Scope lists of callers found under several keys (or pinned), merged once; bounded. */
  merged: Map<string, CompiledScope[]>;
}

/** Problems that make a scope unusable; empty when it compiles. Shared with the operator's Ready condition. */
export function scopeProblems(scope: ModelScope): string[] {
  const problems: string[] = [];
  const spec = scope.spec;
  const globs: [string, string[] | undefined][] = [
    ['spec.models', spec.models],
    ['spec.tools.allow', spec.tools?.allow],
    ['spec.tools.deny', spec.tools?.deny],
    ['spec.approval.requiredFor.models', spec.approval?.requiredFor?.models],
    ['spec.approval.requiredFor.tools', spec.approval?.requiredFor?.tools],
  ];
  for (const [field, list] of globs) {
    list?.forEach((g, i) => {
      const p = globProblem(g);
      if (p) problems.push(`${field}[${i}] "${g}" ${p}`);
    });
  }
  spec.tools?.mcpServers?.forEach((g, i) => {
    const p = serverEntryProblem(g);
    if (p) problems.push(`spec.tools.mcpServers[${i}] "${g}" ${p}`);
  });
  for (const [field, value] of [
    ['spec.review.period', spec.review?.period],
    ['spec.review.expiringSoonWindow', spec.review?.expiringSoonWindow],
    ['spec.approval.grantDuration', spec.approval?.grantDuration],
  ] as const) {
    if (value === undefined) continue;
    try {
      parseDuration(value);
    } catch (e) {
      problems.push(`${field}: ${(e as Error).message}`);
    }
  }
  if (!spec.review?.reviewers?.length)
    problems.push('spec.review.reviewers is empty: name at least one User or Group who may approve reviews of this scope');
  if (spec.approval?.requiredFor && !spec.approval.approvers?.length)
    problems.push('spec.approval.approvers is empty: name who may approve held requests');
  if (spec.data) {
    try {
      compileMasking(spec.data);
    } catch (e) {
      problems.push(`spec.data: ${(e as Error).message}`);
    }
  }
  const names = new Set<string>();
  for (const ep of spec.endpoints ?? []) {
    ep.maskFields?.forEach((f, i) => {
      try {
        parseJsonPath(f, `spec.endpoints[${ep.name}].maskFields[${i}]`);
      } catch (e) {
        problems.push((e as Error).message);
      }
    });
    if (names.has(ep.name)) problems.push(`spec.endpoints: the name "${ep.name}" is used twice; endpoint names must be unique`);
    names.add(ep.name);
    try {
      const u = new URL(ep.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`spec.endpoints[${ep.name}].url must be http or https`);
    } catch {
      problems.push(`spec.endpoints[${ep.name}].url "${ep.url}" is not a URL`);
    }
  }
  return problems;
}

function byExpiryDesc(a: TimedReview, b: TimedReview): number {
  return (b.timeline.expiresAt ?? 0) - (a.timeline.expiresAt ?? 0);
}

export function compilePolicy(scopes: ModelScope[], reviews: AccessReview[], opts: { namespace?: string } = {}): PolicySnapshot {
  const inNamespace = <T extends { metadata: { namespace?: string } }>(o: T) =>
    opts.namespace === undefined || (o.metadata.namespace ?? opts.namespace) === opts.namespace;
  const snapshot: PolicySnapshot = {
    namespace: opts.namespace,
    scopes: [],
    bySubject: new Map(),
    invalid: [],
    dataRules: new DataRulesCache(),
    merged: new Map(),
  };
  const byName = new Map<string, CompiledScope>();
  const shapes = new Map<string, number>();
  for (const scope of scopes.filter(inNamespace)) {
    const namespace = scope.metadata.namespace ?? opts.namespace ?? 'default';
    const problems = scopeProblems(scope);
    if (problems.length) {
      snapshot.invalid.push({ name: scope.metadata.name, namespace, problems });
      continue;
    }
    const { subjects: _subjects, review: _review, data: _data, ...fitting } = scope.spec;
    const shapeKey = JSON.stringify(fitting);
    let shape = shapes.get(shapeKey);
    if (shape === undefined) shapes.set(shapeKey, (shape = shapes.size));
    const compiled: CompiledScope = {
      order: snapshot.scopes.length,
      shape,
      name: scope.metadata.name,
      namespace,
      scope,
      endpoints: new Map((scope.spec.endpoints ?? []).map((e) => [e.name, e])),
      periodic: [],
      justInTime: [],
    };
    snapshot.scopes.push(compiled);
    byName.set(`${namespace}/${compiled.name}`, compiled);
    for (const subject of scope.spec.subjects) {
      const key = subjectKey(subject, namespace);
      const list = snapshot.bySubject.get(key);
      if (list) {
        if (list[list.length - 1] !== compiled) list.push(compiled);
      } else snapshot.bySubject.set(key, [compiled]);
    }
  }
  for (const review of reviews.filter(inNamespace)) {
    const namespace = review.metadata.namespace ?? opts.namespace ?? 'default';
    const target = byName.get(`${namespace}/${review.spec.scopeRef.name}`);
    if (!target) continue;
    (review.spec.type === 'JustInTime' ? target.justInTime : target.periodic).push({
      review,
      timeline: reviewTimeline(review, target.scope),
    });
  }
  for (const s of snapshot.scopes) {
    s.counting = countingPeriodic(s.periodic, (t) => t.review);
    s.periodic.sort(byExpiryDesc);
    s.justInTime.sort(byExpiryDesc);
  }
  return snapshot;
}
