// The --audit flag (repeatable): where audit records go.
import { fileURLToPath } from 'node:url';
import { FileSink, type FileSinkOptions } from './file-sink.ts';
import { HttpSink, type HttpSinkOptions } from './http-sink.ts';
import type { AuditSink } from './sink.ts';
import { StdoutSink } from './stdout-sink.ts';

export const AUDIT_FLAG_FORMS =
  '"stdout", "file:PATH" (e.g. file:/var/log/scopekeeper/audit.jsonl; appended, one JSON record per line) ' +
  'or an http:// or https:// URL (batches POSTed as application/x-ndjson)';

export interface AuditFlagOptions {
  file?: FileSinkOptions;
  http?: HttpSinkOptions;
}

/**
 * Parses one --audit value:
 * - `stdout`: one JSON line per record on standard output;
 * - `file:PATH` (or `file:///abs/path`): appended to PATH, fdatasync per batch, the chain continued after a restart;
 * - `http://…` / `https://…`: batches POSTed as NDJSON; credentials in the URL become Basic authorization.
 */
export function parseAuditFlag(value: string): AuditSink {
  return createAuditSink(value);
}

/** parseAuditFlag with options for the sinks it creates. */
export function createAuditSink(value: string, opts: AuditFlagOptions = {}): AuditSink {
  const v = value.trim();
  if (v === 'stdout' || v === '-') return new StdoutSink();
  if (v.startsWith('file:')) {
    let path: string;
    try {
      path = v.startsWith('file://') ? fileURLToPath(v) : v.slice('file:'.length);
    } catch (err) {
      throw new Error(`--audit ${JSON.stringify(value)}: ${(err as Error).message}; accepted forms: ${AUDIT_FLAG_FORMS}`, { cause: err });
    }
    if (!path) throw new Error(`--audit ${JSON.stringify(value)}: the file path is missing; accepted forms: ${AUDIT_FLAG_FORMS}`);
    return new FileSink(path, opts.file);
  }
  if (/^https?:\/\//i.test(v)) {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      // The value is not echoed: it may hold credentials.
      throw new Error(`--audit: not a valid http(s) URL; accepted forms: ${AUDIT_FLAG_FORMS}`);
    }
    if (!url.hostname) throw new Error(`--audit: the URL has no host; accepted forms: ${AUDIT_FLAG_FORMS}`);
    return new HttpSink(url, opts.http);
  }
  const shown = v.includes('@') ? '(value hidden: it may hold credentials)' : JSON.stringify(value);
  throw new Error(`--audit ${shown}: unknown audit sink; accepted forms: ${AUDIT_FLAG_FORMS}`);
}
