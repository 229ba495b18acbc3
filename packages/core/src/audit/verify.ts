// Verification of an audit log, one line at a time (so a file of any size streams through).
//
// A log verifies when every line is a canonical record whose hash matches its content, whose
// seq is one more than the previous record's and whose prevHash is the previous record's hash;
// the first record has seq 1 and the genesis prevHash unless told where the log continues
// from. One empty line at the very end (the final newline) is allowed; any other is not.
import { canonicalWithout } from './canonical.ts';
import { chainHash, GENESIS_HASH, HASH_PATTERN, type ChainedRecord, type ChainHead } from './chain.ts';

export interface VerifyOptions {
  /**
   * Where the log starts: the record just before its first line. Default: a new chain
   * (`{seq: 0, hash: GENESIS_HASH}`). `'any'` accepts whatever the first record links to,
   * for a log that continues another (e.g. a rotated file); the result's `start` says where.
   */
  start?: ChainHead | 'any';
  /**
   * The head the log must end at (e.g. from the HTTP sink's copy or a saved anchor). Without it
   * a log cut short at a line boundary verifies, since nothing after the cut links to it.
   */
  expectHead?: ChainHead;
}

export interface VerifyProblem {
  /** 1-based line number. */
  line: number;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Records verified (before the first bad line, if any). */
  records: number;
  firstBad?: VerifyProblem;
  /** The last verified record. */
  head?: ChainHead;
  /** What the first record links to (its seq - 1 and its prevHash). */
  start?: ChainHead;
}

export type LineCheck = { ok: true; record: ChainedRecord } | { ok: false; problem: string };

/** Checks one line on its own: JSON, shape, canonical form and its own hash (not its links). */
export function checkRecordLine(line: string): LineCheck {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, problem: 'not JSON: the line was truncated or edited' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problem: 'not an audit record: expected a JSON object with seq, prevHash and hash' };
  }
  const rec = value as Record<string, unknown>;
  if (typeof rec.seq !== 'number' || !Number.isSafeInteger(rec.seq) || rec.seq < 1) {
    return { ok: false, problem: 'not an audit record: seq is missing or not a positive integer' };
  }
  if (typeof rec.prevHash !== 'string' || !HASH_PATTERN.test(rec.prevHash)) {
    return { ok: false, problem: 'not an audit record: prevHash is missing or not 64 hex characters' };
  }
  if (typeof rec.hash !== 'string' || !HASH_PATTERN.test(rec.hash)) {
    return { ok: false, problem: 'not an audit record: hash is missing or not 64 hex characters' };
  }
  const canonical = canonicalWithout(rec, 'hash');
  if (chainHash(rec.prevHash, canonical.without) !== rec.hash) {
    return { ok: false, problem: 'hash mismatch: the record was changed' };
  }
  if (canonical.full !== line) {
    return { ok: false, problem: 'the line is not in canonical form: it was edited (spacing, key order, escapes or line ending changed)' };
  }
  return { ok: true, record: rec as unknown as ChainedRecord };
}

/** Verifies a log line by line: `push` each line (without its newline), then `end`. */
export class ChainVerifier {
  #line = 0;
  #records = 0;
  #prev: ChainHead | undefined;
  #start: ChainHead | undefined;
  #lastRecordLine = 0;
  #pendingBlank = 0;
  #bad: VerifyProblem | undefined;
  #expectHead: ChainHead | undefined;
  #ended: VerifyResult | undefined;

  constructor(opts: VerifyOptions = {}) {
    if (opts.start !== 'any') this.#prev = opts.start ?? { seq: 0, hash: GENESIS_HASH };
    this.#expectHead = opts.expectHead;
  }

  /** False once the log is known to be bad (further lines are ignored). */
  get ok(): boolean {
    return this.#bad === undefined;
  }

  /** Records verified so far. */
  get records(): number {
    return this.#records;
  }

  /** Marks the next line bad for a reason found outside (e.g. a line too long to read). */
  fail(problem: string): void {
    if (this.#bad) return;
    this.#line++;
    this.#bad = { line: this.#line, problem };
  }

  /** Checks the next line; returns false once a problem has been found. */
  push(line: string): boolean {
    if (this.#bad) return false;
    this.#line++;
    if (line === '') {
      if (this.#pendingBlank) return this.#fail(this.#pendingBlank, 'empty line: a record was blanked out or a line break was added');
      this.#pendingBlank = this.#line;
      return true;
    }
    if (this.#pendingBlank) return this.#fail(this.#pendingBlank, 'empty line: a record was blanked out or a line break was added');
    const check = checkRecordLine(line);
    if (!check.ok) return this.#fail(this.#line, check.problem);
    const rec = check.record;
    const prev = this.#prev;
    if (prev === undefined) {
      this.#start = { seq: rec.seq - 1, hash: rec.prevHash };
    } else {
      if (this.#start === undefined) this.#start = prev;
      const first = this.#records === 0;
      if (rec.seq > prev.seq + 1) {
        return this.#fail(
          this.#line,
          first && prev.seq === 0
            ? `the first record has seq ${rec.seq}, not 1: records before it were removed (or this log continues another one)`
            : `seq jumps from ${prev.seq} to ${rec.seq}: a record was removed or the records were reordered`,
        );
      }
      if (rec.seq <= prev.seq) {
        return this.#fail(this.#line, `seq goes from ${prev.seq} back to ${rec.seq}: records were reordered or a record was duplicated`);
      }
      if (rec.prevHash !== prev.hash) {
        return this.#fail(
          this.#line,
          first && prev.seq === 0
            ? 'prevHash of the first record is not the genesis hash (64 zeros): records before it were removed (or this log continues another one)'
            : 'prevHash does not match the previous record: a record was removed or reordered, or a forged record was inserted',
        );
      }
    }
    this.#prev = { seq: rec.seq, hash: rec.hash };
    this.#records++;
    this.#lastRecordLine = this.#line;
    return true;
  }

  end(): VerifyResult {
    if (this.#ended) return this.#ended;
    const head = this.#records > 0 ? this.#prev : undefined;
    if (!this.#bad && this.#expectHead) {
      const want = this.#expectHead;
      const got = this.#prev;
      if (!got || got.seq !== want.seq || got.hash !== want.hash) {
        const ends = head ? `ends at seq ${head.seq} (hash ${head.hash})` : 'has no records';
        this.#bad = {
          line: this.#lastRecordLine + 1,
          problem: `the log ${ends} but should end at seq ${want.seq} (hash ${want.hash}): records were removed from the end, or this is a different log`,
        };
      }
    }
    const result: VerifyResult = { ok: !this.#bad, records: this.#records };
    if (this.#bad) result.firstBad = this.#bad;
    if (head) result.head = { ...head };
    if (this.#start) result.start = { ...this.#start };
    this.#ended = result;
    return result;
  }

  #fail(line: number, problem: string): false {
    this.#bad = { line, problem };
    return false;
  }
}

/** Verifies a whole log given as lines (e.g. `text.split('\n')`). Stops at the first bad line. */
export function verifyChain(lines: Iterable<string>, opts?: VerifyOptions): VerifyResult {
  const v = new ChainVerifier(opts);
  for (const line of lines) if (!v.push(line)) break;
  return v.end();
}

/** A message a person can act on: "ok: 1000 records, chain intact …" or "line 57: …". */
export function formatVerifyResult(r: VerifyResult): string {
  if (r.ok) {
    if (r.records === 0) return 'ok: 0 records (the log is empty)';
    const head = r.head ? `; last record seq ${r.head.seq}, hash ${r.head.hash}` : '';
    const start = r.start && r.start.seq > 0 ? `; continues a chain after seq ${r.start.seq}` : '';
    return `ok: ${r.records === 1 ? '1 record' : `${r.records} records`}, chain intact${head}${start}`;
  }
  const bad = r.firstBad ?? { line: 0, problem: 'unknown problem' };
  const before = r.records === 1 ? '1 record before it verified' : `${r.records} records before it verified`;
  return `line ${bad.line}: ${bad.problem} (${before})`;
}
