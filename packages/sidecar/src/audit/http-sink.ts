// Audit batches POSTed as NDJSON (one record per line) to an HTTP(S) collector.
//
// A batch succeeds on a 2xx answer; anything else, a network error or a timeout is a failure.
// The sink retries a few times quickly itself (transient resets), then rejects and AuditLog
// retries with backoff. Delivery is at least once: a batch whose answer was lost is sent
// again, so a collector deduplicates by `seq` (header x-scopekeeper-audit-seq gives the range).
// Credentials in the URL (https://user:password@host/…) are sent as Basic authorization and
// never appear in the sink's name, its errors or logs.
import type { AuditSink } from './sink.ts';

export interface HttpSinkOptions {
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number;
  /** Quick retries inside one write (default 2). */
  retries?: number;
  /** First quick-retry delay, doubled each time (default 100 ms). */
  retryDelayMs?: number;
  /** Extra request headers (e.g. authorization for the collector). */
  headers?: Record<string, string>;
}

export class HttpSink implements AuditSink {
  readonly name: string;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #closing = new AbortController();

  constructor(url: string | URL, opts: HttpSinkOptions = {}) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new Error(`HTTP audit sink: the URL must start with http:// or https://, not ${u.protocol}`);
    this.#headers = { 'content-type': 'application/x-ndjson', ...opts.headers };
    if (u.username || u.password) {
      const user = decodeURIComponent(u.username);
      const pass = decodeURIComponent(u.password);
      this.#headers.authorization ??= 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
      u.username = '';
      u.password = '';
    }
    this.#url = u.href;
    this.name = redactedName(u, Boolean(this.#headers.authorization));
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#retries = opts.retries ?? 2;
    this.#retryDelayMs = opts.retryDelayMs ?? 100;
  }

  async write(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const body = lines.join('\n') + '\n';
    const headers: Record<string, string> = { ...this.#headers, 'x-scopekeeper-audit-records': String(lines.length) };
    const range = seqRange(lines);
    if (range) headers['x-scopekeeper-audit-seq'] = range;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (this.#closing.signal.aborted) break;
      if (attempt > 0) await sleep(this.#retryDelayMs * 2 ** (attempt - 1), this.#closing.signal);
      try {
        const res = await fetch(this.#url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#closing.signal]),
        });
        if (res.ok) {
          await res.body?.cancel().catch(() => undefined);
          return;
        }
        const text = (await res.text().catch(() => '')).trim().slice(0, 200);
        lastError = new Error(
          `POST ${this.name} answered ${res.status}${res.statusText ? ' ' + res.statusText : ''}${text ? `: ${text}` : ''}`,
        );
        // A client error other than a timeout or rate limit will not change on a quick retry.
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) break;
      } catch (err) {
        lastError = new Error(`POST ${this.name} failed: ${describe(err, this.#timeoutMs)}`);
      }
    }
    throw lastError ?? new Error(`POST ${this.name} failed: the sink is closed`);
  }

  async close(): Promise<void> {
    this.#closing.abort();
  }
}

function redactedName(u: URL, hasAuth: boolean): string {
  const query = u.search ? '?…' : '';
  return `${u.protocol}//${hasAuth ? '***@' : ''}${u.host}${u.pathname}${query}`;
}

/** "first-last" seq of a batch, read from its first and last line. */
function seqRange(lines: string[]): string | undefined {
  const seq = (line: string) => /"seq":(\d+)/.exec(line)?.[1];
  const a = seq(lines[0]!);
  const b = seq(lines[lines.length - 1]!);
  return a && b ? `${a}-${b}` : undefined;
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e?.name === 'AbortError') return 'the sink was closed';
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message} (${cause})` : String(e?.message ?? err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
