// What a scope's grants were actually used for, from audit records: the evidence a reviewer
// needs to answer "do these permissions still match the job?". Pure: the CLI reads and verifies
// the audit log, these functions count.
import type { ModelScope } from '../types/generated.ts';
import type { AuditEvent } from '../audit/chain.ts';
import { matchName, matchPath } from '../util/glob.ts';

export interface Counted {
  name: string;
  count: number;
  lastUse: string;
}

export interface CallerUsage {
  subject: string;
  requests: number;
  allowed: number;
  denied: number;
  held: number;
  lastUse: string;
}

export interface HeldRequest {
  approval: string;
  subject: string;
  model: string;
  tools: string[];
  time: string;
  /** `used` when a later request was allowed under that JustInTime review; else `not used` (pending, refused or expired unused). */
  outcome: 'used' | 'not used';
}

export interface UnusedGrant {
  /** The ModelScope field the grant sits in, e.g. spec.models or spec.endpoints[crm].paths. */
  field: string;
  grant: string;
  why: string;
}

export interface ScopeUsage {
  namespace: string;
  scope: string;
  since?: string;
  until: string;
  requests: number;
  allowed: number;
  denied: number;
  held: number;
  callers: CallerUsage[];
  models: Counted[];
  toolsOffered: Counted[];
  toolsUsed: Counted[];
  /** `<endpoint> <METHOD> <path>` of /services requests that were allowed. */
  endpoints: Counted[];
  masked: Counted[];
  blocked: Counted[];
  /** Denials by reason code. */
  denials: Counted[];
  holds: HeldRequest[];
  unused: UnusedGrant[];
}

export interface UsageOptions {
  /** Only records at or after this instant (ms since the epoch). */
  since?: number;
  /** The end of the window (ms since the epoch); records after it are left out. */
  now: number;
}

class Counter {
  readonly #m = new Map<string, Counted>();
  add(name: string, time: string, n = 1): void {
    const c = this.#m.get(name);
    if (!c) this.#m.set(name, { name, count: n, lastUse: time });
    else {
      c.count += n;
      if (time > c.lastUse) c.lastUse = time;
    }
  }
  get(name: string): Counted | undefined {
    return this.#m.get(name);
  }
  list(): Counted[] {
    return [...this.#m.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  }
}

const isHeld = (r: AuditEvent) => r.decision === 'approval-required';
const isAllowed = (r: AuditEvent) => r.decision === 'allow';

/** `/services/<endpoint>/<rest>` → endpoint and `/<rest>` (without the query). */
export function servicePath(path: string): { endpoint: string; path: string } | undefined {
  const m = /^\/services\/([^/?]+)(\/[^?]*)?/.exec(path);
  return m ? { endpoint: m[1]!, path: m[2] ?? '/' } : undefined;
}

/** The records of one scope within the window, in time order. */
export function scopeRecords(records: Iterable<AuditEvent>, namespace: string, scope: string, o: UsageOptions): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const r of records) {
    if (r.scope !== scope || (r.namespace !== undefined && r.namespace !== namespace)) continue;
    const t = Date.parse(r.time);
    if (Number.isNaN(t) || t > o.now || (o.since !== undefined && t < o.since)) continue;
    out.push(r);
  }
  return out.sort((a, b) => a.time.localeCompare(b.time));
}

/** Counts what the records of one scope used; grants of `scope` that nothing used are listed as unused. */
export function scopeUsage(records: Iterable<AuditEvent>, scope: ModelScope, o: UsageOptions, minUses = 1): ScopeUsage {
  const namespace = scope.metadata.namespace ?? 'default';
  const rs = scopeRecords(records, namespace, scope.metadata.name, o);
  const callers = new Map<string, CallerUsage>();
  const c = {
    models: new Counter(),
    offered: new Counter(),
    used: new Counter(),
    endpoints: new Counter(),
    masked: new Counter(),
    blocked: new Counter(),
    denials: new Counter(),
  };
  const holds = new Map<string, HeldRequest>();
  const out = { requests: 0, allowed: 0, denied: 0, held: 0 };
  for (const r of rs) {
    out.requests++;
    const who = r.subject ?? '(unauthenticated)';
    const caller = callers.get(who) ?? { subject: who, requests: 0, allowed: 0, denied: 0, held: 0, lastUse: r.time };
    callers.set(who, caller);
    caller.requests++;
    caller.lastUse = r.time;
    if (isHeld(r)) {
      out.held++;
      caller.held++;
      if (r.approval && !holds.has(r.approval))
        holds.set(r.approval, {
          approval: r.approval,
          subject: who,
          model: r.model ?? '',
          tools: r.tools ?? [],
          time: r.time,
          outcome: 'not used',
        });
      continue;
    }
    if (r.decision === 'deny') {
      out.denied++;
      caller.denied++;
      for (const code of r.reasons) c.denials.add(code, r.time);
    }
    if (!isAllowed(r)) continue;
    out.allowed++;
    caller.allowed++;
    if (r.model) c.models.add(r.model, r.time);
    for (const t of r.tools ?? []) c.offered.add(t, r.time);
    for (const t of r.toolsUsed ?? []) c.used.add(t, r.time);
    const svc = servicePath(r.path);
    if (svc) c.endpoints.add(`${svc.endpoint} ${r.method} ${svc.path}`, r.time);
    for (const [k, n] of Object.entries(r.masked ?? {})) c.masked.add(k, r.time, n);
    if (r.blocked) c.blocked.add(r.blocked, r.time);
    const hold = r.review ? holds.get(`${namespace}/${r.review}`) : undefined;
    if (hold && r.reasons.includes('ApprovedJustInTime')) hold.outcome = 'used';
  }
  const usage: ScopeUsage = {
    namespace,
    scope: scope.metadata.name,
    since: o.since !== undefined ? new Date(o.since).toISOString() : undefined,
    until: new Date(o.now).toISOString(),
    ...out,
    callers: [...callers.values()].sort((a, b) => b.requests - a.requests || a.subject.localeCompare(b.subject)),
    models: c.models.list(),
    toolsOffered: c.offered.list(),
    toolsUsed: c.used.list(),
    endpoints: c.endpoints.list(),
    masked: c.masked.list(),
    blocked: c.blocked.list(),
    denials: c.denials.list(),
    holds: [...holds.values()],
    unused: [],
  };
  usage.unused = unusedGrants(scope, usage, minUses);
  return usage;
}

const enough = (c: Counted, minUses: number) => c.count >= minUses;

/** Every grant of the scope that no (or too little) use in the window needed. */
export function unusedGrants(scope: ModelScope, u: ScopeUsage, minUses = 1): UnusedGrant[] {
  const spec = scope.spec;
  const out: UnusedGrant[] = [];
  const window = u.since ? `since ${u.since.slice(0, 10)}` : 'in the audit log';
  const few = minUses > 1 ? ` ${minUses} or more times` : '';
  const models = u.models.filter((m) => enough(m, minUses));
  for (const g of spec.models) {
    if (!models.some((m) => matchName(g, m.name)))
      out.push({ field: 'spec.models', grant: g, why: `no allowed request used a model matching ${g}${few} ${window}` });
  }
  const used = u.toolsUsed.filter((t) => enough(t, minUses));
  for (const g of spec.tools?.allow ?? []) {
    if (used.some((t) => matchName(g, t.name))) continue;
    const offered = u.toolsOffered.filter((t) => matchName(g, t.name)).reduce((n, t) => n + t.count, 0);
    out.push({
      field: 'spec.tools.allow',
      grant: g,
      why: offered
        ? `offered to the model in ${offered} request${offered === 1 ? '' : 's'} but never invoked${few} ${window}`
        : `no request offered or invoked a tool matching ${g} ${window}`,
    });
  }
  for (const ep of spec.endpoints ?? []) {
    const hits = u.endpoints.filter((e) => e.name.startsWith(`${ep.name} `) && enough(e, minUses));
    if (!hits.length) {
      out.push({ field: 'spec.endpoints', grant: ep.name, why: `no allowed request reached endpoint ${ep.name}${few} ${window}` });
      continue;
    }
    const paths = hits.map((h) => h.name.split(' ').slice(2).join(' '));
    const methods = new Set(hits.map((h) => h.name.split(' ')[1]!));
    for (const p of ep.paths ?? [])
      if (!paths.some((x) => matchPath(p, x)))
        out.push({
          field: `spec.endpoints[${ep.name}].paths`,
          grant: p,
          why: `no allowed request reached a path matching ${p}${few} ${window}`,
        });
    for (const m of ep.methods ?? [])
      if (!methods.has(m))
        out.push({ field: `spec.endpoints[${ep.name}].methods`, grant: m, why: `no allowed ${m} request${few} ${window}` });
  }
  return out;
}
