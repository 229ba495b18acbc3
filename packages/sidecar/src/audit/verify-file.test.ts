import { writeFile } from 'node:fs/promises';
import { AuditChain } from '@scopekeeper/core';
import { runAuditVerify, verifyAuditFile } from './verify-file.ts';
import { ev, range, tempDir } from './test-helpers.ts';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => (tmp = await tempDir()));
afterEach(() => tmp.remove());

const chainLines = (n: number, pad = 0) => {
  const c = new AuditChain();
  return range(1, n).map((i) => c.appendLine({ ...ev(i), reasons: pad ? ['r'.repeat(pad)] : [] }).line);
};

describe('verifyAuditFile / runAuditVerify', () => {
  test('an intact file: exit 0 and a short message', async () => {
    const path = tmp.file('audit.jsonl');
    const lines = chainLines(1000);
    await writeFile(path, lines.join('\n') + '\n');
    const r = await runAuditVerify(path);
    expect(r.code).toBe(0);
    expect(r.message).toMatch(new RegExp(`^${path}: ok: 1000 records, chain intact; last record seq 1000, hash [0-9a-f]{64}$`));
  });

  test('a tampered file: exit 1 and the first bad line', async () => {
    const path = tmp.file('audit.jsonl');
    const lines = chainLines(100);
    lines.splice(56, 1);
    await writeFile(path, lines.join('\n') + '\n');
    expect(await runAuditVerify(path)).toEqual({
      code: 1,
      message: `${path}: line 57: seq jumps from 56 to 58: a record was removed or the records were reordered (56 records before it verified)`,
    });
  });

  test('a file that cannot be read: exit 2', async () => {
    expect(await runAuditVerify(tmp.file('missing.jsonl'))).toEqual({
      code: 2,
      message: `cannot read audit file ${tmp.file('missing.jsonl')}: no such file`,
    });
    expect((await runAuditVerify(tmp.dir)).code).toBe(2);
  });

  test('streams large files: lines across read chunks are joined correctly', async () => {
    const path = tmp.file('big.jsonl');
    const lines = chainLines(3000, 700); // ~3.5 MB, several 1 MiB chunks
    await writeFile(path, lines.join('\n') + '\n');
    expect(await verifyAuditFile(path)).toMatchObject({ ok: true, records: 3000 });
    await writeFile(path, lines.join('\n')); // without the final newline
    expect(await verifyAuditFile(path)).toMatchObject({ ok: true, records: 3000 });
    const bad = [...lines];
    bad[2500] = bad[2500]!.replace('"status":200', '"status":500');
    await writeFile(path, bad.join('\n') + '\n');
    expect(await verifyAuditFile(path)).toMatchObject({
      ok: false,
      records: 2500,
      firstBad: { line: 2501, problem: 'hash mismatch: the record was changed' },
    });
  });

  test('byte-level damage: invalid UTF-8, a byte-order mark, an over-long line, an empty file', async () => {
    const path = tmp.file('audit.jsonl');
    const lines = chainLines(3);
    const raw = Buffer.from(lines.join('\n') + '\n');
    const at = raw.indexOf('support-agent');
    raw[at] = 0xff;
    await writeFile(path, raw);
    expect((await verifyAuditFile(path)).firstBad).toEqual({ line: 1, problem: 'not valid UTF-8: the line was edited or damaged' });
    await writeFile(path, '\ufeff' + lines.join('\n') + '\n');
    expect((await verifyAuditFile(path)).firstBad?.line).toBe(1);
    await writeFile(path, lines[0] + '\n' + 'x'.repeat(5000) + '\n');
    expect((await verifyAuditFile(path, { maxLineBytes: 4096 })).firstBad).toEqual({
      line: 2,
      problem: 'line longer than 4096 bytes: not an audit record',
    });
    await writeFile(path, '');
    expect(await runAuditVerify(path)).toEqual({ code: 0, message: `${path}: ok: 0 records (the log is empty)` });
  });

  test('records cut from the end are caught against an expected head', async () => {
    const path = tmp.file('audit.jsonl');
    const lines = chainLines(10);
    const head = JSON.parse(lines[9]!);
    await writeFile(path, lines.slice(0, 9).join('\n') + '\n');
    expect((await verifyAuditFile(path, { expectHead: { seq: head.seq, hash: head.hash } })).firstBad?.problem).toMatch(
      /records were removed from the end/,
    );
  });
});
