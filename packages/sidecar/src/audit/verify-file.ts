// `scopekeeper audit verify FILE`: checks an audit file's chain, streaming it line by line.
import { open } from 'node:fs/promises';
import { ChainVerifier, formatVerifyResult, type VerifyOptions, type VerifyResult } from '@scopekeeper/core';

export interface VerifyFileOptions extends VerifyOptions {
  /** Longest line accepted (default 1 MiB); a longer one is reported, not buffered. */
  maxLineBytes?: number;
}

const NL = 0x0a;

/**
 * Verifies the audit file at `path` (see verifyChain for the rules). Throws an Error with a
 * readable message when the file cannot be read (the command's "bad usage", exit 2).
 */
export async function verifyAuditFile(path: string, opts: VerifyFileOptions = {}): Promise<VerifyResult> {
  const maxLine = opts.maxLineBytes ?? 1024 * 1024;
  let fh;
  try {
    fh = await open(path, 'r');
    if ((await fh.stat()).isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
  } catch (err) {
    await fh?.close();
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new Error(`cannot read audit file ${path}: ${why}`, { cause: err });
  }
  const v = new ChainVerifier(opts);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const line = (bytes: Buffer): boolean => {
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      v.fail('not valid UTF-8: the line was edited or damaged');
      return false;
    }
    return v.push(text);
  };
  try {
    let carry: Buffer[] = [];
    let carried = 0;
    const stream = fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false });
    read: for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      while (from <= chunk.length) {
        const nl = chunk.indexOf(NL, from);
        const end = nl < 0 ? chunk.length : nl;
        if (carried + (end - from) > maxLine) {
          v.fail(`line longer than ${maxLine} bytes: not an audit record`);
          stream.destroy();
          break read;
        }
        if (nl < 0) {
          if (end > from) {
            carry.push(chunk.subarray(from));
            carried += end - from;
          }
          break;
        }
        const bytes = carried ? Buffer.concat([...carry, chunk.subarray(from, end)]) : chunk.subarray(from, end);
        carry = [];
        carried = 0;
        if (!line(bytes)) {
          stream.destroy();
          break read;
        }
        from = nl + 1;
      }
    }
    if (v.ok) line(carried ? Buffer.concat(carry) : Buffer.alloc(0));
  } finally {
    await fh.close();
  }
  return v.end();
}

/** The command's outcome: exit code 0 (intact), 1 (tampered or damaged), 2 (cannot read), and the message to print. */
export async function runAuditVerify(path: string, opts?: VerifyFileOptions): Promise<{ code: 0 | 1 | 2; message: string }> {
  let r: VerifyResult;
  try {
    r = await verifyAuditFile(path, opts);
  } catch (err) {
    return { code: 2, message: (err as Error).message };
  }
  return { code: r.ok ? 0 : 1, message: `${path}: ${formatVerifyResult(r)}` };
}
