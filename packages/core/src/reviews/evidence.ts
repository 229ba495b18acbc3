// What auditors get: every review with its decision, people, times and evidence, what is due
// next, and (given audit records) the access actually used under each review. Pure functions:
// the CLI reads the cluster and the audit log, these shape the rows.
import type { AccessReview, ModelScope } from '../types/generated.ts';
import { reviewValidity } from '../policy/review.ts';
import type { AuditEvent } from '../audit/chain.ts';
import { scopeUsage } from './usage.ts';

export interface ReviewRow {
  namespace: string;
  review: string;
  scope: string;
  type: string;
  decision: string;
  valid: boolean;
  state: string;
  requestedBy: string;
  requestSubject: string;
  requestModel: string;
  requestTools: string;
  requestReason: string;
  reviewer: string;
  reviewedAt: string;
  expiresAt: string;
  createdAt: string;
  justification: string;
  evidence: string;
  requests: number;
  allowed: number;
  denied: number;
  firstUse: string;
  lastUse: string;
  models: string;
  inputTokens: number;
  outputTokens: number;
  /** Periodic reviews, given audit records: the grants used while the review was in force. */
  grantsUsed: string;
  /** Periodic reviews, given audit records: the grants nothing used while the review was in force. */
  grantsUnused: string;
}

export interface DueRow {
  namespace: string;
  scope: string;
  review: string;
  reviewers: string;
  expiresAt: string;
  daysLeft: number;
  state: string;
}

export const REVIEW_COLUMNS: (keyof ReviewRow)[] = [
  'namespace',
  'review',
  'scope',
  'type',
  'decision',
  'valid',
  'state',
  'requestedBy',
  'requestSubject',
  'requestModel',
  'requestTools',
  'requestReason',
  'reviewer',
  'reviewedAt',
  'expiresAt',
  'createdAt',
  'justification',
  'evidence',
  'requests',
  'allowed',
  'denied',
  'firstUse',
  'lastUse',
  'models',
  'inputTokens',
  'outputTokens',
  'grantsUsed',
  'grantsUnused',
];

const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

interface Usage {
  requests: number;
  allowed: number;
  denied: number;
  first?: string;
  last?: string;
  models: Set<string>;
  input: number;
  output: number;
}

/** Sums audit records by the review they were decided under (namespace/review). */
export function usageByReview(records: Iterable<AuditEvent>): Map<string, Usage> {
  const out = new Map<string, Usage>();
  for (const r of records) {
    if (!r.review) continue;
    const k = key(r.namespace, r.review);
    let u = out.get(k);
    if (!u) out.set(k, (u = { requests: 0, allowed: 0, denied: 0, models: new Set(), input: 0, output: 0 }));
    u.requests++;
    if (r.decision === 'allow') u.allowed++;
    else u.denied++;
    if (!u.first || r.time < u.first) u.first = r.time;
    if (!u.last || r.time > u.last) u.last = r.time;
    if (r.model && r.decision === 'allow') u.models.add(r.model);
    u.input += r.usage?.input_tokens ?? 0;
    u.output += r.usage?.output_tokens ?? 0;
  }
  return out;
}

export interface ReviewRowOptions {
  /** Usage by review (usageByReview). */
  usage?: Map<string, Usage>;
  /** Only reviews decided or valid since this instant. */
  since?: number;
  /** The audit records, for the used / unused grants of each Periodic review. */
  records?: AuditEvent[];
}

/** What a Periodic review's grants were used for while it was in force: "used; unused" columns. */
function grantUse(
  r: AccessReview,
  scope: ModelScope | undefined,
  records: AuditEvent[] | undefined,
  now: number,
): { grantsUsed: string; grantsUnused: string } {
  if (!records || !scope || r.spec.type !== 'Periodic' || r.spec.decision !== 'Approved' || !r.spec.reviewedAt)
    return { grantsUsed: '', grantsUnused: '' };
  const until = Math.min(now, Date.parse(r.spec.expiresAt ?? '') || now);
  const u = scopeUsage(records, scope, { since: Date.parse(r.spec.reviewedAt), now: until });
  const used = [
    ...u.models.map((m) => `model:${m.name}`),
    ...u.toolsUsed.map((t) => `tool:${t.name}`),
    ...u.endpoints.map((e) => `endpoint:${e.name.split(' ')[0]}`),
  ];
  return { grantsUsed: [...new Set(used)].join(' '), grantsUnused: u.unused.map((x) => `${x.field}=${x.grant}`).join(' ') };
}

export function reviewRows(reviews: AccessReview[], scopes: ModelScope[], now: number, opts: ReviewRowOptions = {}): ReviewRow[] {
  const { usage = new Map<string, Usage>(), since, records } = opts;
  const scopeOf = new Map(scopes.map((s) => [key(s.metadata.namespace, s.metadata.name), s]));
  return reviews
    .filter(
      (r) =>
        since === undefined ||
        Date.parse(r.spec.reviewedAt ?? r.metadata.creationTimestamp ?? '') >= since ||
        Date.parse(r.spec.expiresAt ?? '') >= since,
    )
    .map((r) => {
      const scope = scopeOf.get(key(r.metadata.namespace, r.spec.scopeRef.name));
      const v = reviewValidity(r, scope, now);
      const u = usage.get(key(r.metadata.namespace, r.metadata.name));
      const subject = r.spec.request?.subject;
      return {
        namespace: r.metadata.namespace ?? '',
        review: r.metadata.name,
        scope: r.spec.scopeRef.name,
        type: r.spec.type,
        decision: r.spec.decision,
        valid: v.valid,
        state: v.valid ? (v.expiringSoon ? 'ExpiringSoon' : 'Valid') : v.reason,
        requestedBy: r.spec.requestedBy ?? '',
        requestSubject: subject
          ? `${subject.kind}/${subject.namespace ? `${subject.namespace}/` : ''}${subject.name}${subject.issuer ? ` (issuer ${subject.issuer})` : ''}`
          : '',
        requestModel: r.spec.request?.model ?? '',
        requestTools: (r.spec.request?.tools ?? []).join(' '),
        requestReason: r.spec.request?.reason ?? '',
        reviewer: r.spec.reviewer ?? '',
        reviewedAt: r.spec.reviewedAt ?? '',
        expiresAt: v.expiresAt !== undefined ? new Date(v.expiresAt).toISOString() : (r.spec.expiresAt ?? ''),
        createdAt: r.metadata.creationTimestamp ?? '',
        justification: r.spec.justification ?? '',
        evidence: (r.spec.evidence ?? []).join(' '),
        requests: u?.requests ?? 0,
        allowed: u?.allowed ?? 0,
        denied: u?.denied ?? 0,
        firstUse: u?.first ?? '',
        lastUse: u?.last ?? '',
        models: [...(u?.models ?? [])].sort().join(' '),
        inputTokens: u?.input ?? 0,
        outputTokens: u?.output ?? 0,
        ...grantUse(r, scope, records, now),
      };
    })
    .sort(
      (a, b) =>
        a.namespace.localeCompare(b.namespace) ||
        a.scope.localeCompare(b.scope) ||
        (a.reviewedAt || a.createdAt).localeCompare(b.reviewedAt || b.createdAt) ||
        a.review.localeCompare(b.review),
    );
}

/** Valid Periodic reviews that expire within `windowMs`, and scopes with no valid review at all. */
export function dueRows(reviews: AccessReview[], scopes: ModelScope[], now: number, windowMs: number): DueRow[] {
  const rows: DueRow[] = [];
  for (const s of scopes) {
    const ns = s.metadata.namespace ?? '';
    const reviewers = (s.spec.review?.reviewers ?? []).map((r) => `${r.kind}:${r.name}`).join(' ');
    const mine = reviews.filter(
      (r) => r.spec.type === 'Periodic' && r.spec.scopeRef.name === s.metadata.name && (r.metadata.namespace ?? '') === ns,
    );
    let best: { r: AccessReview; exp: number } | undefined;
    for (const r of mine) {
      const v = reviewValidity(r, s, now);
      if (v.valid && (!best || v.expiresAt! > best.exp)) best = { r, exp: v.expiresAt! };
    }
    if (!best) {
      rows.push({ namespace: ns, scope: s.metadata.name, review: '', reviewers, expiresAt: '', daysLeft: 0, state: 'NoValidReview' });
    } else if (best.exp - now <= windowMs) {
      rows.push({
        namespace: ns,
        scope: s.metadata.name,
        review: best.r.metadata.name,
        reviewers,
        expiresAt: new Date(best.exp).toISOString(),
        daysLeft: Math.floor((best.exp - now) / 86_400_000),
        state: 'ExpiringSoon',
      });
    }
  }
  return rows.sort(
    (a, b) =>
      (a.expiresAt || '0').localeCompare(b.expiresAt || '0') || a.namespace.localeCompare(b.namespace) || a.scope.localeCompare(b.scope),
  );
}

/** RFC 4180 CSV: quoted when needed, CRLF line ends, a header row. */
export function toCsv<T extends object>(rows: T[], columns: (keyof T)[]): string {
  const cell = (v: unknown) => {
    const s = v === undefined || v === null ? '' : String(v);
    // A leading =, +, - or @ would run as a formula in a spreadsheet: neutralise it.
    const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return [columns.map(String).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
