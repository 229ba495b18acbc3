import fc from 'fast-check';
import { AuditChain, ChainVerifier, checkRecordLine, formatVerifyResult, GENESIS_HASH, verifyChain } from './index.ts';
import { event, logLines } from './fixtures.ts';

const text = (lines: string[]) => lines.join('\n') + '\n';
const verifyText = (t: string, opts?: Parameters<typeof verifyChain>[1]) => verifyChain(t.split('\n'), opts);
const headOf = (lines: string[]) => {
  const last = JSON.parse(lines[lines.length - 1]!);
  return { seq: last.seq as number, hash: last.hash as string };
};

describe('verifyChain', () => {
  test('a valid log verifies, with or without the final newline', () => {
    const lines = logLines(10);
    const r = verifyText(text(lines));
    expect(r).toEqual({ ok: true, records: 10, head: headOf(lines), start: { seq: 0, hash: GENESIS_HASH } });
    expect(verifyChain(lines).ok).toBe(true);
    expect(formatVerifyResult(r)).toBe(`ok: 10 records, chain intact; last record seq 10, hash ${headOf(lines).hash}`);
  });

  test('an empty log verifies with 0 records', () => {
    expect(verifyText('')).toEqual({ ok: true, records: 0 });
    expect(formatVerifyResult(verifyText(''))).toBe('ok: 0 records (the log is empty)');
  });

  test('a changed field: hash mismatch at that line', () => {
    const lines = logLines(10);
    lines[4] = lines[4]!.replace('"decision":"deny"', '"decision":"allow"');
    const r = verifyText(text(lines));
    expect(r.ok).toBe(false);
    expect(r.records).toBe(4);
    expect(r.firstBad).toEqual({ line: 5, problem: 'hash mismatch: the record was changed' });
    expect(formatVerifyResult(r)).toBe('line 5: hash mismatch: the record was changed (4 records before it verified)');
  });

  test('a changed record whose own hash was recomputed: the next record no longer links to it', () => {
    const lines = logLines(10);
    const rec = JSON.parse(lines[4]!);
    expect(rec.decision).toBe('deny');
    const forged = new AuditChain(rec.prevHash, rec.seq - 1).appendLine({ ...rec, status: 200, decision: 'allow', reasons: [] }).line;
    expect(checkRecordLine(forged).ok).toBe(true);
    lines[4] = forged;
    expect(verifyText(text(lines)).firstBad).toEqual({
      line: 6,
      problem: expect.stringMatching(/^prevHash does not match the previous record/),
    });
  });

  test('a removed record: seq jumps', () => {
    const lines = logLines(10);
    lines.splice(4, 1); // seq 5
    expect(verifyText(text(lines)).firstBad).toEqual({
      line: 5,
      problem: 'seq jumps from 4 to 6: a record was removed or the records were reordered',
    });
  });

  test('two swapped records', () => {
    const lines = logLines(10);
    [lines[5], lines[6]] = [lines[6]!, lines[5]!];
    expect(verifyText(text(lines)).firstBad).toEqual({
      line: 6,
      problem: 'seq jumps from 5 to 7: a record was removed or the records were reordered',
    });
    const far = logLines(10);
    [far[1], far[8]] = [far[8]!, far[1]!];
    expect(verifyText(text(far)).firstBad?.line).toBe(2);
  });

  test('a truncated last line: not JSON', () => {
    const lines = logLines(10);
    const t = text(lines);
    const cut = t.slice(0, t.length - 40);
    expect(verifyText(cut).firstBad).toEqual({ line: 10, problem: 'not JSON: the line was truncated or edited' });
  });

  test('an inserted forged record with a recomputed hash but the wrong prevHash', () => {
    const lines = logLines(10);
    const forged = new AuditChain('a'.repeat(64), 4).appendLine(event(99)).line;
    expect(checkRecordLine(forged).ok).toBe(true);
    lines.splice(4, 0, forged);
    expect(verifyText(text(lines)).firstBad).toEqual({
      line: 5,
      problem: 'prevHash does not match the previous record: a record was removed or reordered, or a forged record was inserted',
    });
  });

  test('an inserted forged record that links correctly: the record after it repeats its seq', () => {
    const lines = logLines(10);
    const prev = JSON.parse(lines[3]!);
    lines.splice(4, 0, new AuditChain(prev.hash, prev.seq).appendLine(event(99)).line);
    expect(verifyText(text(lines)).firstBad).toEqual({
      line: 6,
      problem: 'seq goes from 5 back to 5: records were reordered or a record was duplicated',
    });
  });

  test('the first record removed: detected, unless the log is declared a continuation', () => {
    const lines = logLines(10).slice(1);
    expect(verifyText(text(lines)).firstBad).toEqual({ line: 1, problem: expect.stringMatching(/^the first record has seq 2, not 1/) });
    const r = verifyText(text(lines), { start: 'any' });
    expect(r.ok).toBe(true);
    expect(r.start?.seq).toBe(1);
    expect(formatVerifyResult(r)).toMatch(/continues a chain after seq 1$/);
    const first = JSON.parse(logLines(1)[0]!);
    expect(verifyText(text(lines), { start: { seq: 1, hash: first.hash } }).ok).toBe(true);
    expect(verifyText(text(lines), { start: { seq: 1, hash: 'b'.repeat(64) } }).firstBad?.problem).toMatch(/^prevHash does not match/);
  });

  test('a first record with seq 1 but a non-genesis prevHash', () => {
    const forged = new AuditChain('c'.repeat(64), 0).appendLine(event(1)).line;
    expect(verifyText(forged).firstBad?.problem).toMatch(/^prevHash of the first record is not the genesis hash/);
  });

  test('records removed from the end: only visible against the expected head', () => {
    const lines = logLines(10);
    const head = headOf(lines);
    expect(verifyText(text(lines.slice(0, 8))).ok).toBe(true);
    const r = verifyText(text(lines.slice(0, 8)), { expectHead: head });
    expect(r.ok).toBe(false);
    expect(r.firstBad).toEqual({
      line: 9,
      problem: expect.stringMatching(/^the log ends at seq 8 .* but should end at seq 10 .*records were removed from the end/),
    });
    expect(verifyText(text(lines), { expectHead: head }).ok).toBe(true);
    expect(verifyText('', { expectHead: head }).firstBad?.problem).toMatch(/^the log has no records/);
  });

  test('formatting edits are tampering too: spacing, key order, CRLF', () => {
    const lines = logLines(3);
    const spaced = [...lines];
    spaced[1] = JSON.stringify(JSON.parse(lines[1]!), null, 1).replace(/\n/g, '');
    expect(verifyText(text(spaced)).firstBad).toEqual({ line: 2, problem: expect.stringMatching(/^the line is not in canonical form/) });
    const reordered = [...lines];
    const { hash, ...rest } = JSON.parse(lines[1]!);
    reordered[1] = JSON.stringify({ hash, ...rest });
    expect(verifyText(text(reordered)).firstBad?.problem).toMatch(/not in canonical form/);
    expect(verifyText(lines.join('\r\n') + '\r\n').firstBad).toEqual({ line: 1, problem: expect.stringMatching(/not in canonical form/) });
  });

  test('empty lines inside the log are refused; only the final newline is allowed', () => {
    const lines = logLines(4);
    expect(verifyText(lines.slice(0, 2).join('\n') + '\n\n' + lines.slice(2).join('\n') + '\n').firstBad).toEqual({
      line: 3,
      problem: expect.stringMatching(/^empty line/),
    });
    expect(verifyText(text(lines) + '\n').firstBad).toEqual({ line: 5, problem: expect.stringMatching(/^empty line/) });
  });

  test('lines that are JSON but not records', () => {
    const good = logLines(1)[0]!;
    const rec = JSON.parse(good);
    expect(checkRecordLine('[1]')).toEqual({ ok: false, problem: expect.stringMatching(/expected a JSON object/) });
    expect(checkRecordLine(JSON.stringify({ ...rec, seq: 0 }))).toEqual({ ok: false, problem: expect.stringMatching(/seq is missing/) });
    expect(checkRecordLine(JSON.stringify({ ...rec, prevHash: 'x' }))).toEqual({
      ok: false,
      problem: expect.stringMatching(/prevHash is missing/),
    });
    const { hash: _h, ...noHash } = rec;
    expect(checkRecordLine(JSON.stringify(noHash))).toEqual({ ok: false, problem: expect.stringMatching(/hash is missing/) });
  });

  test('the streaming verifier stops at the first problem and reports lines it was told about', () => {
    const lines = logLines(5);
    const v = new ChainVerifier();
    expect(v.push(lines[0]!)).toBe(true);
    v.fail('line longer than 1048576 bytes: not an audit record');
    expect(v.push(lines[1]!)).toBe(false);
    expect(v.ok).toBe(false);
    expect(v.end()).toMatchObject({ ok: false, records: 1, firstBad: { line: 2, problem: expect.stringMatching(/longer than/) } });
  });
});

describe('property: any single-line change of a valid log is detected', () => {
  const logs = fc.integer({ min: 2, max: 25 }).map((n) => logLines(n));

  test('replacing a line with any other text', () => {
    fc.assert(
      fc.property(logs, fc.nat(), fc.string({ unit: 'binary', maxLength: 200 }), (lines, i, s) => {
        const at = i % lines.length;
        fc.pre(s !== lines[at]);
        const changed = [...lines];
        changed[at] = s;
        return !verifyText(text(changed)).ok;
      }),
      { numRuns: 300 },
    );
  });

  test('changing one character of a line (or deleting it, or inserting one)', () => {
    fc.assert(
      fc.property(
        logs,
        fc.nat(),
        fc.nat(),
        fc.constantFrom('replace', 'delete', 'insert'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
        (lines, i, p, op, ch) => {
          const at = i % lines.length;
          const line = lines[at]!;
          const pos = p % line.length;
          const mutated =
            op === 'delete'
              ? line.slice(0, pos) + line.slice(pos + 1)
              : op === 'insert'
                ? line.slice(0, pos) + ch + line.slice(pos)
                : line.slice(0, pos) + ch + line.slice(pos + 1);
          fc.pre(mutated !== line);
          const changed = [...lines];
          changed[at] = mutated;
          return !verifyText(text(changed)).ok;
        },
      ),
      { numRuns: 500 },
    );
  });

  test('replacing a line with another valid record of the same log, or with a forged one (the last one only against the expected head)', () => {
    fc.assert(
      fc.property(logs, fc.nat(), fc.nat(), fc.boolean(), (lines, i, j, forge) => {
        const at = i % lines.length;
        const changed = [...lines];
        if (forge) {
          const rec = JSON.parse(lines[at]!);
          changed[at] = new AuditChain(rec.prevHash, rec.seq - 1).appendLine(event(1000 + at)).line;
        } else {
          fc.pre(j % lines.length !== at);
          changed[at] = lines[j % lines.length]!;
        }
        const plain = verifyText(text(changed));
        const anchored = verifyText(text(changed), { expectHead: headOf(lines) });
        return !anchored.ok && (!plain.ok || (forge && at === lines.length - 1));
      }),
      { numRuns: 300 },
    );
  });

  test('deleting a line (the last one only against the expected head)', () => {
    fc.assert(
      fc.property(logs, fc.nat(), (lines, i) => {
        const at = i % lines.length;
        const changed = lines.filter((_, k) => k !== at);
        const plain = verifyText(text(changed));
        const anchored = verifyText(text(changed), { expectHead: headOf(lines) });
        return !anchored.ok && (at === lines.length - 1 || !plain.ok);
      }),
      { numRuns: 300 },
    );
  });

  test('swapping two lines', () => {
    fc.assert(
      fc.property(logs, fc.nat(), fc.nat(), (lines, i, j) => {
        const a = i % lines.length;
        const b = j % lines.length;
        fc.pre(a !== b);
        const changed = [...lines];
        [changed[a], changed[b]] = [changed[b]!, changed[a]!];
        const r = verifyText(text(changed));
        return !r.ok && r.firstBad!.line === Math.min(a, b) + 1;
      }),
      { numRuns: 300 },
    );
  });
});
