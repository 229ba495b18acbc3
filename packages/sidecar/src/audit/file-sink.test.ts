import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { AuditChain, verifyChain } from '@scopekeeper/core';
import { FileSink } from './file-sink.ts';
import { AuditLog } from './log.ts';
import { ev, range, seqs, tempDir } from './test-helpers.ts';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => (tmp = await tempDir()));
afterEach(() => tmp.remove());

const chainLines = (n: number) => {
  const c = new AuditChain();
  return range(1, n).map((i) => c.appendLine(ev(i)).line);
};

describe('FileSink', () => {
  test('a new file: no resume point; lines are appended with a newline each; the folder is created', async () => {
    const path = tmp.file('nested/dir/audit.jsonl');
    const sink = new FileSink(path);
    expect(sink.name).toBe(`file:${path}`);
    expect(await sink.open()).toEqual({});
    await sink.write(['a', 'b']);
    await sink.write(['c']);
    await sink.close();
    expect(await readFile(path, 'utf8')).toBe('a\nb\nc\n');
  });

  test('an existing log: resumes after its last record', async () => {
    const path = tmp.file('audit.jsonl');
    const lines = chainLines(3);
    await writeFile(path, lines.join('\n') + '\n');
    const sink = new FileSink(path);
    const last = JSON.parse(lines[2]!);
    expect(await sink.open()).toEqual({ resumeFrom: { seq: 3, hash: last.hash } });
    await sink.close();
  });

  test('a write torn by a crash is set aside (kept, not lost) and the chain continues after the last complete record', async () => {
    const path = tmp.file('audit.jsonl');
    const lines = chainLines(4);
    const torn = lines[3]!.slice(0, 57);
    await writeFile(path, lines.slice(0, 3).join('\n') + '\n' + torn);
    const notices: string[] = [];
    const log = new AuditLog({ sinks: [new FileSink(path)], required: true, onNotice: (_s, m) => notices.push(m) });
    await log.record(ev(4));
    await log.close();
    const text = await readFile(path, 'utf8');
    expect(seqs(text.split('\n').slice(0, -1))).toEqual([1, 2, 3, 4]);
    expect(verifyChain(text.split('\n')).ok).toBe(true);
    const aside = (await readdir(tmp.dir)).filter((f) => f.startsWith('audit.jsonl.torn-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(tmp.file(aside[0]!), 'utf8')).toBe(torn);
    expect(notices.join('\n')).toMatch(/torn by a crash \(57 bytes without a final newline\) was moved to .*audit\.jsonl\.torn-/);
  });

  test('a complete last record that only lost its newline gets the newline back', async () => {
    const path = tmp.file('audit.jsonl');
    const lines = chainLines(2);
    await writeFile(path, lines.join('\n'));
    const sink = new FileSink(path);
    const r = await sink.open();
    expect(r.resumeFrom?.seq).toBe(2);
    expect(r.notice).toMatch(/no final newline; one was added/);
    await sink.close();
    expect(await readFile(path, 'utf8')).toBe(lines.join('\n') + '\n');
  });

  test('a file whose last line is not a valid record is refused, untouched, with what to do', async () => {
    const path = tmp.file('audit.jsonl');
    const lines = chainLines(3);
    const edited = [...lines.slice(0, 2), lines[2]!.replace('"status":200', '"status":201')].join('\n') + '\n';
    await writeFile(path, edited);
    await expect(new FileSink(path).open()).rejects.toThrow(
      `audit file ${path} does not end with a valid audit record (last line: hash mismatch: the record was changed), so its chain cannot be continued. Check it with "scopekeeper audit verify ${path}"; to start a new chain, move the file aside.`,
    );
    expect(await readFile(path, 'utf8')).toBe(edited);
  });

  test('a long file: the last line is found across read chunks', async () => {
    const path = tmp.file('audit.jsonl');
    const c = new AuditChain();
    const big = range(1, 300).map((i) => c.appendLine({ ...ev(i), reasons: ['x'.repeat(i === 300 ? 200_000 : 100)] }).line);
    await writeFile(path, big.join('\n') + '\n');
    const sink = new FileSink(path);
    expect((await sink.open()).resumeFrom).toEqual(c.head);
    await sink.close();
  });

  test('a failed write is undone before the retry: a retried batch is never written twice', async () => {
    const path = tmp.file('audit.jsonl');
    const probe = await open(tmp.file('probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const real = proto.datasync;
    let failNext = 0;
    proto.datasync = function (this: unknown) {
      if (failNext > 0) {
        failNext--;
        return Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      }
      return real.call(this);
    };
    try {
      const failures: string[] = [];
      const log = new AuditLog({
        sinks: [new FileSink(path)],
        required: true,
        retry: { minMs: 5, maxMs: 10 },
        onFailure: (_s, e) => failures.push(e.message),
      });
      await log.record(ev(1));
      failNext = 1; // the bytes of record 2 reach the file, then fdatasync fails
      await expect(log.record(ev(2))).rejects.toThrow(/EIO/);
      await log.flush();
      await log.record(ev(3));
      await log.close();
      const lines = (await readFile(path, 'utf8')).split('\n');
      expect(seqs(lines.slice(0, -1))).toEqual([1, 2, 3]);
      expect(verifyChain(lines).ok).toBe(true);
      expect(failures).toEqual(['EIO: i/o error, fdatasync']);
    } finally {
      proto.datasync = real;
    }
  });

  test('an unopenable path says so', async () => {
    await writeFile(tmp.file('plain'), 'x');
    await expect(new FileSink(tmp.file('plain/audit.jsonl')).open()).rejects.toThrow(/plain/);
    expect(() => new FileSink('')).toThrow(/path is empty/);
  });
});
