// The rule every refusal test follows (docs/testing.md): a refusal is proven by what did NOT
// happen, so the test waits until the request is finished — its audit record exists — and only
// then checks that the upstream (the model API, or an internal service) received nothing.
// Checking right after the answer would pass even if the sidecar forwarded the request a moment
// later, or in parallel with its 403.
import { readFile } from 'node:fs/promises';

/** Something that counts the requests it received: the Anthropic stand-in, a test service. */
export interface Upstream {
  readonly total: number;
}

/** Counts requests for a plain node:http test service: `server.on('request', counter.hit)`. */
export function requestCounter(): Upstream & { hit: () => void } {
  const c = { total: 0, hit: () => void c.total++ };
  return c;
}

export interface AuditRecord {
  requestId: string;
  decision?: string;
  reasons?: string[];
  status?: number;
  [k: string]: unknown;
}

/** A response of any client: fetch's Response, or a raw one with a header map. */
type Answer = { status: number; headers: Headers | Record<string, string | string[] | undefined> };

function requestIdOf(res: Answer): string | undefined {
  const h = res.headers;
  const v = h instanceof Headers ? h.get('x-scopekeeper-request-id') : h['x-scopekeeper-request-id'];
  return Array.isArray(v) ? v[0] : (v ?? undefined);
}

/** Waits (deadline `timeoutMs`, generous) for the audit record of `requestId` and returns it. */
export function auditRecord(auditFile: string, requestId: string, timeoutMs = 10_000): Promise<AuditRecord> {
  return auditRecordWhere(auditFile, (r) => r.requestId === requestId, `request ${requestId}`, timeoutMs, requestId);
}

/** Waits (deadline `timeoutMs`, generous) for the first audit record `match` accepts. */
export async function auditRecordWhere(
  auditFile: string,
  match: (r: AuditRecord) => boolean,
  what: string,
  timeoutMs = 10_000,
  /** a string the record's line must contain: skips parsing the others */
  contains = '',
): Promise<AuditRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(auditFile, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes(contains)) continue;
      try {
        const r = JSON.parse(line) as AuditRecord;
        if (match(r)) return r;
      } catch {
        // an empty line, or one still being written
      }
    }
    if (Date.now() > deadline) throw new Error(`no audit record of ${what} in ${auditFile} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Call before sending a request that must be refused; after the answer, `await
 * refused(res)`: it waits for the request's audit record, then asserts that none of the
 * upstreams received anything since the mark. Returns the audit record.
 */
export function expectRefusal(
  auditFile: string,
  ...upstreams: Upstream[]
): { refused(res: Answer): Promise<AuditRecord>; checkNow(): void } {
  const marks = upstreams.map((u) => u.total);
  return {
    /** For answers the sidecar writes no audit record for (unknown routes): the answer ends them. */
    checkNow() {
      expect(upstreams.map((u, i) => u.total - marks[i]!)).toEqual(upstreams.map(() => 0));
    },
    async refused(res) {
      const id = requestIdOf(res);
      if (id === undefined)
        throw new Error(`the answer (${res.status}) carries no x-scopekeeper-request-id: it did not come from the sidecar's data path`);
      const record = await auditRecord(auditFile, id);
      expect(upstreams.map((u, i) => u.total - marks[i]!)).toEqual(upstreams.map(() => 0));
      return record;
    },
  };
}

/**
 * For refusals of requests the test does not send itself (an agent SDK's own calls): call before
 * the SDK runs; `refused(match, what)` waits for the audit record `match` selects, then asserts
 * that none of the upstreams received anything since the mark. Returns the audit record.
 */
export function expectRefusalWhere(
  auditFile: string,
  ...upstreams: Upstream[]
): { refused(match: (r: AuditRecord) => boolean, what: string): Promise<AuditRecord> } {
  const marks = upstreams.map((u) => u.total);
  return {
    async refused(match, what) {
      const record = await auditRecordWhere(auditFile, match, what);
      expect(upstreams.map((u, i) => u.total - marks[i]!)).toEqual(upstreams.map(() => 0));
      return record;
    },
  };
}

/**
 * For answers that never reach the sidecar's code (node's HTTP parser refuses them: no
 * request id, no audit record): once the connection is closed, nothing can follow.
 */
export function expectNothingForwarded(...upstreams: Upstream[]): { check(): void } {
  const marks = upstreams.map((u) => u.total);
  return { check: () => expect(upstreams.map((u, i) => u.total - marks[i]!)).toEqual(upstreams.map(() => 0)) };
}
