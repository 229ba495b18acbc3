// Audit lines appended to a file: one write and one fdatasync per batch.
//
// On open, an existing file is continued: its last line must be a valid record, and the chain
// resumes after it, so a restarted sidecar extends the same chain. A final line without its
// newline is a write torn by a crash (never acknowledged, since a batch is acknowledged only
// after its fdatasync): its bytes are copied to `<path>.torn-<time>` and cut from the log, and
// the sink reports a notice. A file whose last complete line is not a valid record is refused
// with a message that says what to do; nothing in it is changed.
//
// A failed write is undone before the retry (the file is truncated back to its last good
// size), so a retried batch never leaves a partial copy behind. One process writes a file.
import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { checkRecordLine } from '@scopekeeper/core';
import type { AuditSink, SinkOpenResult } from './sink.ts';

export interface FileSinkOptions {
  /** fdatasync after every batch (default true). Off only for tests and benchmarks of the rest. */
  sync?: boolean;
}

const NL = 0x0a;
const CHUNK = 64 * 1024;
/** The longest last line read back on open; a longer one is not a record this code wrote. */
const MAX_TAIL = 16 * 1024 * 1024;

export class FileSink implements AuditSink {
  readonly name: string;
  readonly path: string;
  readonly #sync: boolean;
  #fh: FileHandle | undefined;
  #opening: Promise<SinkOpenResult> | undefined;
  /** Bytes known to be good (end of the last complete batch). */
  #size = 0;
  /** A write failed part-way: cut the file back to #size before the next write. */
  #dirty = false;

  constructor(path: string, opts: FileSinkOptions = {}) {
    if (!path) throw new Error('file sink: the path is empty; use file:PATH, e.g. file:/var/log/scopekeeper/audit.jsonl');
    this.path = resolve(path);
    this.name = `file:${this.path}`;
    this.#sync = opts.sync ?? true;
  }

  open(): Promise<SinkOpenResult> {
    if (this.#fh) return Promise.resolve({});
    this.#opening ??= this.#open().finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  async write(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    if (!this.#fh) await this.open();
    const fh = this.#fh!;
    if (this.#dirty) {
      try {
        await fh.truncate(this.#size);
      } catch (err) {
        // The descriptor may be unusable: reopen next time (open repairs a torn tail).
        this.#fh = undefined;
        await fh.close().catch(() => undefined);
        throw err;
      }
      this.#dirty = false;
    }
    const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');
    try {
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
      if (this.#sync) await fh.datasync();
    } catch (err) {
      this.#dirty = true;
      throw err;
    }
    this.#size += buf.length;
  }

  async close(): Promise<void> {
    if (this.#opening) await this.#opening.catch(() => undefined);
    const fh = this.#fh;
    this.#fh = undefined;
    if (!fh) return;
    if (this.#dirty) await fh.truncate(this.#size).catch(() => undefined);
    await fh.close();
  }

  async #open(): Promise<SinkOpenResult> {
    await mkdir(dirname(this.path), { recursive: true });
    let created = false;
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'a+');
    } catch (err) {
      throw new Error(`cannot open audit file ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      let size = (await fh.stat()).size;
      created = size === 0;
      const result: SinkOpenResult = {};
      if (size > 0 && (await byteAt(fh, size - 1)) !== NL) {
        // The last line has no newline: a complete record that lost it, or a torn write.
        const torn = await lastLine(fh, size, this.path);
        if (checkRecordLine(torn.text).ok) {
          await fh.write(Buffer.from('\n'));
          if (this.#sync) await fh.datasync();
          size += 1;
          result.notice = `audit file ${this.path}: its last record had no final newline; one was added`;
        } else {
          const aside = `${this.path}.torn-${new Date().toISOString().replace(/[:.]/g, '-')}`;
          await saveDurably(aside, torn.bytes);
          await fh.truncate(torn.start);
          if (this.#sync) await fh.datasync();
          size = torn.start;
          result.notice = `audit file ${this.path}: a write torn by a crash (${torn.bytes.length} bytes without a final newline) was moved to ${aside}; the chain continues after the last complete record`;
        }
      }
      if (size > 0) {
        const last = await lastLine(fh, size - 1, this.path);
        const check = checkRecordLine(last.text);
        if (!check.ok) {
          throw new Error(
            `audit file ${this.path} does not end with a valid audit record (last line: ${check.problem}), so its chain cannot be continued. ` +
              `Check it with "scopekeeper audit verify ${this.path}"; to start a new chain, move the file aside.`,
          );
        }
        result.resumeFrom = { seq: check.record.seq, hash: check.record.hash };
      }
      if (created) await syncDir(dirname(this.path));
      this.#fh = fh;
      this.#size = size;
      this.#dirty = false;
      return result;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }
}

async function byteAt(fh: FileHandle, pos: number): Promise<number> {
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, pos);
  return b[0]!;
}

/** The line that ends at byte `end` (exclusive): its start offset, bytes and text. */
async function lastLine(fh: FileHandle, end: number, path: string): Promise<{ start: number; bytes: Buffer; text: string }> {
  const parts: Buffer[] = [];
  let pos = end;
  let start = 0;
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, pos - len);
    const nl = buf.lastIndexOf(NL);
    if (nl >= 0) {
      parts.unshift(buf.subarray(nl + 1));
      start = pos - len + nl + 1;
      break;
    }
    parts.unshift(buf);
    pos -= len;
    if (end - pos > MAX_TAIL)
      throw new Error(
        `audit file ${path}: its last line is longer than ${MAX_TAIL} bytes, so it is not an audit record; move the file aside to start a new chain`,
      );
  }
  const bytes = Buffer.concat(parts);
  return { start, bytes, text: bytes.toString('utf8') };
}

async function saveDurably(path: string, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await syncDir(dirname(path));
}

async function syncDir(dir: string): Promise<void> {
  // Makes a newly created file's directory entry durable; not possible everywhere, so best effort.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}
