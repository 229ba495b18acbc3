// The upstream credential, read from --upstream-key-file and re-read when the file changes
// (a rotated Secret updates its mounted file in place via a symlink swap).
import { readFileSync, statSync } from 'node:fs';

export class UpstreamKey {
  private value: string | undefined;
  private mtimeMs = -1;
  private checkedAt = 0;
  private readonly file: string | undefined;

  constructor(file: string | undefined) {
    this.file = file;
  }

  /** The key, re-read at most once a second; throws a message that says what to fix. */
  get(now = Date.now()): string {
    if (!this.file) throw new Error('no upstream key: pass --upstream-key-file (the Secret mounted into the sidecar)');
    if (this.value !== undefined && now - this.checkedAt < 1000) return this.value;
    this.checkedAt = now;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch {
      if (this.value !== undefined) return this.value;
      throw new Error(`the upstream key file ${this.file} cannot be read; check --upstream-key-file and the Secret mount`);
    }
    if (mtimeMs !== this.mtimeMs || this.value === undefined) {
      const key = readFileSync(this.file, 'utf8').trim();
      if (!key) throw new Error(`the upstream key file ${this.file} is empty; put the API key in it`);
      this.value = key;
      this.mtimeMs = mtimeMs;
    }
    return this.value;
  }
}
