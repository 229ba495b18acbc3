import { readFile, writeFile } from 'node:fs/promises';
import { verifyChain, type ChainHead } from '@scopekeeper/core';
import { AuditLog } from './log.ts';
import { FileSink } from './file-sink.ts';
import { verifyAuditFile } from './verify-file.ts';
import { ev, MemorySink, range, seqs, tempDir } from './test-helpers.ts';
import { until } from '@scopekeeper/kube/testing/until';

const fast = { retry: { minMs: 5, maxMs: 20 } };
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => (tmp = await tempDir()));
afterEach(() => tmp.remove());

const fileLines = async (path: string) => (await readFile(path, 'utf8')).split('\n').slice(0, -1);

class CountingFileSink extends FileSink {
  writes = 0;
  override async write(lines: string[]): Promise<void> {
    this.writes++;
    return super.write(lines);
  }
}

describe('AuditLog with a file sink', () => {
  test.each([true, false])(
    '1,000 concurrent record() calls (required=%s): 1,000 lines, seq 1..1000 in file order, chain intact, written in batches',
    async (required) => {
      const path = tmp.file('audit.jsonl');
      const sink = new CountingFileSink(path);
      let written = 0;
      const log = new AuditLog({ sinks: [sink], required, onWritten: (n) => (written += n) });
      await Promise.all(range(1, 1000).map((i) => log.record(ev(i))));
      await log.close();
      const lines = await fileLines(path);
      expect(lines).toHaveLength(1000);
      expect(seqs(lines)).toEqual(range(1, 1000));
      expect(lines.map((l) => JSON.parse(l).requestId)).toEqual(range(1, 1000).map((i) => `req_${i}`)); // seq follows call order
      expect(verifyChain(lines)).toMatchObject({ ok: true, records: 1000 });
      expect(await verifyAuditFile(path)).toMatchObject({ ok: true, records: 1000 });
      expect(written).toBe(1000);
      expect(sink.writes).toBeLessThan(20); // one write + fdatasync per batch, not per record

      // Removing one line makes verification fail at that line.
      const cut = [...lines.slice(0, 499), ...lines.slice(500)];
      await writeFile(path, cut.join('\n') + '\n');
      expect(await verifyAuditFile(path)).toMatchObject({
        ok: false,
        records: 499,
        firstBad: { line: 500, problem: 'seq jumps from 499 to 501: a record was removed or the records were reordered' },
      });
    },
  );

  test('a restarted log continues the same chain from the file', async () => {
    const path = tmp.file('audit.jsonl');
    const first = new AuditLog({ sinks: [new FileSink(path)], required: true });
    for (let i = 1; i <= 10; i++) await first.record(ev(i));
    const head = first.head as ChainHead;
    await first.close();

    const notices: string[] = [];
    const second = new AuditLog({ sinks: [new FileSink(path)], required: true, onNotice: (_s, m) => notices.push(m) });
    await second.ready();
    expect(second.head).toEqual(head);
    await Promise.all(range(11, 15).map((i) => second.record(ev(i))));
    await second.close();

    const lines = await fileLines(path);
    expect(seqs(lines)).toEqual(range(1, 15));
    expect(JSON.parse(lines[10]!).prevHash).toBe(head.hash);
    expect(await verifyAuditFile(path)).toMatchObject({ ok: true, records: 15 });
    expect(notices.join('\n')).toMatch(/continues after record 10/);
  });

  test('every sink gets the same lines in the same order', async () => {
    const path = tmp.file('audit.jsonl');
    const mem = new MemorySink();
    const log = new AuditLog({ sinks: [new FileSink(path), mem], required: false, maxBatch: 7 });
    for (let i = 1; i <= 100; i++) void log.record(ev(i));
    await log.close();
    expect(mem.lines).toEqual(await fileLines(path));
    expect(seqs(mem.lines)).toEqual(range(1, 100));
    expect(Math.max(...mem.batches)).toBeLessThanOrEqual(7);
  });

  test('a file that cannot be continued is refused and counted; the other sinks carry on', async () => {
    const path = tmp.file('audit.jsonl');
    await writeFile(path, 'not a record\n');
    const mem = new MemorySink();
    const failures: string[] = [];
    const log = new AuditLog({
      sinks: [new FileSink(path), mem],
      required: false,
      ...fast,
      onFailure: (s, e) => failures.push(`${s}: ${e.message}`),
    });
    await log.record(ev(1));
    await until('the line written', () => mem.lines.length === 1);
    expect(log.healthy).toBe(false);
    expect(failures[0]).toMatch(/does not end with a valid audit record .*scopekeeper audit verify/);
    expect(log.status().find((s) => s.name.startsWith('file:'))).toMatchObject({ queued: 1, failing: true });
    await expect(log.close(50)).rejects.toThrow(/not yet written .*file:.*1 records queued/);
    expect(await readFile(path, 'utf8')).toBe('not a record\n'); // left as found
  });
});

describe('AuditLog delivery guarantees', () => {
  test('required=true: record() resolves only after every sink wrote it', async () => {
    const slow = new MemorySink('slow');
    slow.delayMs = 30;
    const log = new AuditLog({ sinks: [new MemorySink('fast'), slow], required: true });
    await log.record(ev(1));
    expect(slow.lines).toHaveLength(1);
    await log.close();
  });

  test('required=true and a failing sink: record() rejects (fail closed), the failure is counted, and the record is still delivered later', async () => {
    const sink = new MemorySink('collector');
    const failures: [string, string][] = [];
    let written = 0;
    const log = new AuditLog({
      sinks: [sink],
      required: true,
      ...fast,
      onFailure: (s, e) => failures.push([s, e.message]),
      onWritten: (n) => (written += n),
    });
    await log.record(ev(1));
    sink.down = new Error('connection refused');
    await expect(log.record(ev(2))).rejects.toThrow(
      /audit sink collector failed: connection refused; record 2 is queued and will be retried/,
    );
    expect(log.healthy).toBe(false);
    expect(failures[0]).toEqual(['collector', 'connection refused']);
    // While the sink is failing, a new record fails at once instead of waiting for the retry.
    await expect(log.record(ev(3))).rejects.toThrow(/audit sink collector is failing \(connection refused\); record 3 is queued/);
    sink.down = undefined;
    await log.flush();
    expect(log.healthy).toBe(true);
    expect(seqs(sink.lines)).toEqual([1, 2, 3]);
    expect(written).toBe(3);
    await log.record(ev(4));
    await log.close();
    expect(verifyChain(sink.lines).ok).toBe(true);
  });

  test('required=false: record() resolves at once; a failing sink is retried with backoff and gets every record, in order, once', async () => {
    const sink = new MemorySink();
    sink.down = new Error('503');
    let failures = 0;
    const log = new AuditLog({ sinks: [sink], required: false, ...fast, onFailure: () => failures++ });
    for (let i = 1; i <= 50; i++) await log.record(ev(i));
    await until('three failures', () => failures >= 3);
    expect(sink.lines).toHaveLength(0);
    expect(log.healthy).toBe(false);
    sink.down = undefined;
    await log.flush();
    expect(seqs(sink.lines)).toEqual(range(1, 50));
    expect(log.healthy).toBe(true);
    await log.close();
  });

  test('backoff grows between retries', async () => {
    const sink = new MemorySink();
    sink.down = new Error('down');
    const times: number[] = [];
    const log = new AuditLog({ sinks: [sink], required: false, retry: { minMs: 10, maxMs: 80 }, onFailure: () => times.push(Date.now()) });
    void log.record(ev(1));
    await until('five tries', () => times.length >= 5);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[3]!).toBeGreaterThan(gaps[0]! * 2);
    sink.down = undefined;
    await log.close();
  });

  test('a full queue drops records for that sink only, each counted as a failure; the sink’s chain shows the gap', async () => {
    const bad = new MemorySink('bad');
    const good = new MemorySink('good');
    bad.down = new Error('down');
    const failures: string[] = [];
    const log = new AuditLog({
      sinks: [bad, good],
      required: false,
      maxQueue: 5,
      ...fast,
      onFailure: (s, e) => failures.push(`${s}: ${e.message}`),
    });
    for (let i = 1; i <= 8; i++) {
      await log.record(ev(i));
      await until('the healthy sink to write it', () => good.lines.length === i); // the healthy sink keeps up; only the dead one overflows
    }
    expect(failures.filter((f) => /queue of bad is full/.test(f))).toHaveLength(3);
    expect(log.status().find((s) => s.name === 'bad')).toMatchObject({ queued: 5, dropped: 3, failing: true });
    bad.down = undefined;
    await log.flush();
    for (let i = 9; i <= 10; i++) await log.record(ev(i));
    await log.close();
    expect(seqs(good.lines)).toEqual(range(1, 10));
    expect(seqs(bad.lines)).toEqual([1, 2, 3, 4, 5, 9, 10]);
    expect(verifyChain(bad.lines).firstBad?.problem).toMatch(/seq jumps from 5 to 9/);
  });

  test('a queue filled with refusals keeps a quarter of its room for records of allowed requests (before: a flood of refusals dropped them)', async () => {
    const sink = new MemorySink('slow');
    sink.down = new Error('down');
    const failures: string[] = [];
    const log = new AuditLog({ sinks: [sink], required: false, maxQueue: 8, ...fast, onFailure: (_s, e) => failures.push(e.message) });
    const refused = (i: number) => ({ ...ev(i), decision: 'deny' as const, reasons: ['Unauthenticated:missing_token'] });
    for (let i = 1; i <= 10; i++) await log.record(refused(i));
    expect(log.status()[0]).toMatchObject({ queued: 6, dropped: 4 });
    expect(failures.at(-1)).toBe(
      'audit queue of slow is full (6 records, the quarter left kept for records of allowed requests): record 10 was dropped for this sink',
    );
    await log.record(ev(11)); // allowed: served while the refusals piled up
    await log.record(ev(12));
    await log.record(ev(13)); // the queue is full now, for every record
    expect(log.status()[0]).toMatchObject({ queued: 8, dropped: 5 });
    sink.down = undefined;
    await log.close();
    expect(seqs(sink.lines)).toEqual([1, 2, 3, 4, 5, 6, 11, 12]);
  });

  test('the queue is bounded in characters too: records a caller made large are dropped past it, counted, and the count frees as lines are written', async () => {
    // A caller fills the capped fields: 40 tool names of 250 characters, ~10 KB per line.
    const big = (i: number) => ({ ...ev(i), tools: Array.from({ length: 40 }, (_, k) => `t${k}`.padEnd(250, 'x')) });
    const sink = new MemorySink('bad');
    sink.down = new Error('down');
    const failures: string[] = [];
    const log = new AuditLog({
      sinks: [sink],
      required: false,
      maxQueueChars: 35_000,
      ...fast,
      onFailure: (_s, e) => failures.push(e.message),
    });
    for (let i = 1; i <= 5; i++) await log.record(big(i));
    expect(log.status()[0]).toMatchObject({ queued: 3, dropped: 2 });
    expect(failures.filter((f) => /is full \(3\d{4} of at most 35000 characters\): record [45] was dropped/.test(f))).toHaveLength(2);
    sink.down = undefined;
    await log.flush();
    expect(seqs(sink.lines)).toEqual([1, 2, 3]);
    for (let i = 6; i <= 8; i++) await log.record(big(i)); // room again: nothing queued
    await log.close();
    expect(seqs(sink.lines)).toEqual([1, 2, 3, 6, 7, 8]);
    expect(log.status()[0]).toMatchObject({ dropped: 2 });
  });

  test('required=true and a full queue: the dropped record is refused', async () => {
    const sink = new MemorySink();
    sink.down = new Error('down');
    const log = new AuditLog({ sinks: [sink], required: true, maxQueue: 1, retry: { minMs: 1000, maxMs: 1000 } });
    const first = log.record(ev(1)).catch((e: Error) => e.message);
    await until('a write', () => sink.writes > 0);
    await expect(log.record(ev(2))).rejects.toThrow(/is full/);
    expect(await first).toMatch(/failed: down/);
    sink.down = undefined;
    await log.close();
    expect(seqs(sink.lines)).toEqual([1]);
  });

  test('close() delivers what is queued, then refuses new records; a dead sink makes close() say what was not written', async () => {
    const sink = new MemorySink('m');
    const log = new AuditLog({ sinks: [sink], required: false, batchMs: 50 });
    void log.record(ev(1));
    await log.close();
    expect(sink.lines).toHaveLength(1);
    await expect(log.record(ev(2))).rejects.toThrow(/audit log is closed/);

    const dead = new MemorySink('dead');
    dead.down = new Error('gone');
    const log2 = new AuditLog({ sinks: [dead], required: false, ...fast });
    void log2.record(ev(1));
    await expect(log2.close(100)).rejects.toThrow(/dead: 1 records queued, last error: gone/);
  });

  test('hooks that throw do not break delivery; no sinks at all is allowed', async () => {
    const sink = new MemorySink();
    const log = new AuditLog({
      sinks: [sink],
      required: true,
      onWritten: () => {
        throw new Error('x');
      },
    });
    await log.record(ev(1));
    await log.close();
    let n = 0;
    const none = new AuditLog({ sinks: [], required: true, onWritten: (k) => (n += k) });
    await none.record(ev(1));
    await none.close();
    expect(n).toBe(1);
  });

  test('resumeFrom continues a given chain; a sink configured twice is refused', async () => {
    const sink = new MemorySink();
    const log = new AuditLog({ sinks: [sink], required: true, resumeFrom: { seq: 41, hash: 'a'.repeat(64) } });
    await log.record(ev(1));
    await log.close();
    expect(JSON.parse(sink.lines[0]!)).toMatchObject({ seq: 42, prevHash: 'a'.repeat(64) });
    expect(verifyChain(sink.lines, { start: { seq: 41, hash: 'a'.repeat(64) } }).ok).toBe(true);
    expect(() => new AuditLog({ sinks: [new MemorySink('x'), new MemorySink('x')], required: false })).toThrow(/configured twice/);
    expect(() => new AuditLog({ sinks: [], required: false, resumeFrom: { seq: 1, hash: 'nope' } })).toThrow(/64 lowercase hex/);
  });
});

describe('AuditLog batch window', () => {
  /** A sink whose writes finish when the test says so. */
  class GatedSink extends MemorySink {
    readonly gates: (() => void)[] = [];
    override async write(lines: string[]): Promise<void> {
      await new Promise<void>((r) => this.gates.push(r));
      return super.write(lines);
    }
  }
  const ticks = async (n = 20) => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };

  test('records that arrive during a write wait for the next window instead of being written at once', async () => {
    const sink = new GatedSink();
    const log = new AuditLog({ sinks: [sink], required: false, batchMs: 30 });
    void log.record(ev(1));
    await until('the first write', () => sink.gates.length === 1);
    void log.record(ev(2));
    void log.record(ev(3));
    sink.gates[0]!();
    await ticks();
    // the write of record 1 is done; 2 and 3 are queued but not yet being written
    expect(sink.batches).toEqual([1]);
    expect(sink.gates).toHaveLength(1);
    expect(log.status()[0]).toMatchObject({ queued: 2 });
    await until('the second write', () => sink.gates.length === 2); // the window passed
    sink.gates[1]!();
    await until('two batches', () => sink.batches.length === 2);
    expect(sink.batches).toEqual([1, 2]);
    expect(seqs(sink.lines)).toEqual([1, 2, 3]);
    const closing = log.close();
    await closing;
  });

  test('a write takes at most maxBatchChars characters of lines (one line at least), and what is left follows at once', async () => {
    // Lines of ~10,400 characters (40 tool names of 250), 25,000 per write: two lines a write.
    const big = (i: number) => ({ ...ev(i), tools: Array.from({ length: 40 }, (_, k) => `t${k}`.padEnd(250, 'x')) });
    const sink = new MemorySink();
    const log = new AuditLog({ sinks: [sink], required: false, batchMs: 60_000, maxBatchChars: 25_000 });
    for (let i = 1; i <= 5; i++) void log.record(big(i));
    await log.flush();
    expect(sink.batches).toEqual([2, 2, 1]);
    expect(sink.lines.every((l) => l.length > 10_000 && l.length < 12_500)).toBe(true);
    // A line longer than maxBatchChars is still written, alone.
    const small = new AuditLog({ sinks: [sink], required: false, batchMs: 60_000, maxBatchChars: 10, resumeFrom: log.head });
    for (let i = 6; i <= 7; i++) void small.record(ev(i));
    await small.flush();
    expect(sink.batches.slice(3)).toEqual([1, 1]);
    expect(seqs(sink.lines)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await log.close();
    await small.close();
  });

  test('a full batch and flush() do not wait for the window; a smaller remainder does', async () => {
    const sink = new GatedSink();
    const log = new AuditLog({ sinks: [sink], required: false, batchMs: 60_000, maxBatch: 2 });
    void log.record(ev(1));
    const first = log.flush(); // starts the write at once, without the (minute-long) window
    await until('the first write', () => sink.gates.length === 1);
    for (let i = 2; i <= 4; i++) void log.record(ev(i));
    sink.gates[0]!();
    await first;
    // 3 queued, a full batch of 2 among them: written at once
    await until('the second write', () => sink.gates.length === 2);
    sink.gates[1]!();
    await until('two batches', () => sink.batches.length === 2);
    await ticks();
    // the remaining record waits for the window
    expect(sink.gates).toHaveLength(2);
    const second = log.flush();
    await until('the third write', () => sink.gates.length === 3);
    sink.gates[2]!();
    await second;
    expect(sink.batches).toEqual([1, 2, 1]);
    // flush() called while a write is under way: what queued meanwhile follows it at once
    void log.record(ev(5));
    void log.flush();
    await until('the fourth write', () => sink.gates.length === 4);
    void log.record(ev(6));
    const third = log.flush();
    sink.gates[3]!();
    await until('the fifth write', () => sink.gates.length === 5);
    sink.gates[4]!();
    await third;
    expect(sink.batches).toEqual([1, 2, 1, 1, 1]);
    expect(seqs(sink.lines)).toEqual([1, 2, 3, 4, 5, 6]);
    await log.close();
  });
});
