// audit verify at its edges: each shape a line can have that is not a record (each told apart,
// since the operator reads the problem to know what happened), logs that continue another
// one, the expected head, and what the streaming verifier reports while it reads.
import { ChainVerifier, checkRecordLine, formatVerifyResult, GENESIS_HASH, verifyChain } from './index.ts';
import { AuditChain } from './chain.ts';
import { event, logLines } from './fixtures.ts';

const H = 'a'.repeat(64);
const NOT_RECORD = 'not an audit record: expected a JSON object with seq, prevHash and hash';
const BAD_SEQ = 'not an audit record: seq is missing or not a positive integer';
const BAD_PREV = 'not an audit record: prevHash is missing or not 64 hex characters';
const BAD_HASH = 'not an audit record: hash is missing or not 64 hex characters';

describe('checkRecordLine: which part of a line is wrong', () => {
  test.each([
    ['null', 'null', NOT_RECORD],
    ['a number', '7', NOT_RECORD],
    ['a string', '"record"', NOT_RECORD],
    ['an array', `[{"seq":1,"prevHash":"${H}","hash":"${H}"}]`, NOT_RECORD],
    ['no seq', `{"prevHash":"${H}","hash":"${H}"}`, BAD_SEQ],
    ['seq as a string', `{"seq":"1","prevHash":"${H}","hash":"${H}"}`, BAD_SEQ],
    ['seq 0', `{"seq":0,"prevHash":"${H}","hash":"${H}"}`, BAD_SEQ],
    ['seq 1.5', `{"seq":1.5,"prevHash":"${H}","hash":"${H}"}`, BAD_SEQ],
    ['seq beyond 2^53', `{"seq":9007199254740993,"prevHash":"${H}","hash":"${H}"}`, BAD_SEQ],
    ['no prevHash', `{"seq":1,"hash":"${H}"}`, BAD_PREV],
    ['prevHash as a number', `{"seq":1,"prevHash":1,"hash":"${H}"}`, BAD_PREV],
    ['prevHash in upper case', `{"seq":1,"prevHash":"${'A'.repeat(64)}","hash":"${H}"}`, BAD_PREV],
    ['no hash', `{"seq":1,"prevHash":"${H}"}`, BAD_HASH],
    ['hash as a number', `{"seq":1,"prevHash":"${H}","hash":7}`, BAD_HASH],
    ['hash 63 characters', `{"seq":1,"prevHash":"${H}","hash":"${H.slice(1)}"}`, BAD_HASH],
  ])('%s', (_name, line, problem) => {
    expect(checkRecordLine(line)).toEqual({ ok: false, problem });
  });

  test('a record of a real chain passes, seq 1 included', () => {
    const [line] = logLines(1);
    expect(checkRecordLine(line!)).toMatchObject({ ok: true, record: { seq: 1, prevHash: GENESIS_HASH } });
  });
});

describe('ChainVerifier while it reads', () => {
  test('push answers false from the first bad line on; ok and records say where it stands', () => {
    const lines = logLines(3);
    const v = new ChainVerifier();
    expect([v.ok, v.records]).toEqual([true, 0]);
    expect(v.push(lines[0]!)).toBe(true);
    expect([v.ok, v.records]).toEqual([true, 1]);
    expect(v.push(lines[2]!)).toBe(false); // seq jumps from 1 to 3
    expect([v.ok, v.records]).toEqual([false, 1]);
    expect(v.push(lines[1]!)).toBe(false);
    expect(v.end().firstBad).toEqual({ line: 2, problem: 'seq jumps from 1 to 3: a record was removed or the records were reordered' });
  });

  test('fail() marks the next line bad once; the first problem is the one reported', () => {
    const v = new ChainVerifier();
    v.push(logLines(1)[0]!);
    v.fail('line 2 is longer than 1 MiB');
    v.fail('a second problem');
    expect(v.end()).toMatchObject({ ok: false, records: 1, firstBad: { line: 2, problem: 'line 2 is longer than 1 MiB' } });
  });

  test('an empty line followed by a record is refused at the empty line', () => {
    const lines = logLines(2);
    const r = verifyChain([lines[0]!, '', lines[1]!]);
    expect(r).toMatchObject({
      ok: false,
      records: 1,
      firstBad: { line: 2, problem: 'empty line: a record was blanked out or a line break was added' },
    });
  });

  test('a verified log has no firstBad at all; end() gives the same answer twice', () => {
    const lines = logLines(2);
    const v = new ChainVerifier();
    for (const l of lines) v.push(l);
    const last = JSON.parse(lines[1]!) as { hash: string };
    expect(v.end()).toStrictEqual({ ok: true, records: 2, head: { seq: 2, hash: last.hash }, start: { seq: 0, hash: GENESIS_HASH } });
    expect(v.end()).toStrictEqual(v.end());
  });
});

describe('a log that continues another', () => {
  // records 6.. of a chain, verified against the head of record 5
  const chain = new AuditChain();
  const all = Array.from({ length: 8 }, (_, i) => chain.appendLine(event(i + 1)).line);
  const head5 = { seq: 5, hash: (JSON.parse(all[4]!) as { hash: string }).hash };

  test('from a given head: a gap right after it is a jump, not "the first record"', () => {
    const r = verifyChain([all[6]!], { start: head5 });
    expect(r.firstBad).toEqual({ line: 1, problem: 'seq jumps from 5 to 7: a record was removed or the records were reordered' });
    expect(verifyChain([all[5]!, all[6]!], { start: head5 })).toMatchObject({ ok: true, records: 2, start: head5 });
  });

  test('from a given head: a first record that does not link to it', () => {
    const other = { seq: 5, hash: H };
    expect(verifyChain([all[5]!], { start: other }).firstBad).toEqual({
      line: 1,
      problem: 'prevHash does not match the previous record: a record was removed or reordered, or a forged record was inserted',
    });
  });

  test("'any' start: the first record says where the log starts", () => {
    const r = verifyChain(all.slice(5), { start: 'any' });
    expect(r).toMatchObject({ ok: true, records: 3, start: head5 });
    expect(formatVerifyResult(r)).toBe(
      `ok: 3 records, chain intact; last record seq 8, hash ${r.head!.hash}; continues a chain after seq 5`,
    );
  });
});

describe('the expected head', () => {
  const lines = logLines(3);
  const last = JSON.parse(lines[2]!) as { seq: number; hash: string };

  test('the right head verifies', () => {
    expect(verifyChain(lines, { expectHead: { seq: 3, hash: last.hash } }).ok).toBe(true);
  });

  test.each([
    ['a later seq', { seq: 4, hash: last.hash }],
    ['the same seq, another hash', { seq: 3, hash: H }],
  ])('%s: records were removed from the end, or it is another log', (_name, want) => {
    expect(verifyChain(lines, { expectHead: want }).firstBad).toEqual({
      line: 4,
      problem: `the log ends at seq 3 (hash ${last.hash}) but should end at seq ${want.seq} (hash ${want.hash}): records were removed from the end, or this is a different log`,
    });
  });

  test('an empty log against a head: it has no records', () => {
    expect(verifyChain([], { expectHead: { seq: 1, hash: H } }).firstBad).toEqual({
      line: 1,
      problem: `the log has no records but should end at seq 1 (hash ${H}): records were removed from the end, or this is a different log`,
    });
  });
});

describe('formatVerifyResult', () => {
  test('a failure after one record, after none, and without a reported line', () => {
    expect(formatVerifyResult({ ok: false, records: 1, firstBad: { line: 2, problem: 'p' } })).toBe(
      'line 2: p (1 record before it verified)',
    );
    expect(formatVerifyResult({ ok: false, records: 0, firstBad: { line: 1, problem: 'p' } })).toBe(
      'line 1: p (0 records before it verified)',
    );
    expect(formatVerifyResult({ ok: false, records: 0 })).toBe('line 0: unknown problem (0 records before it verified)');
  });

  test('an ok result without a head, and one that starts at genesis', () => {
    expect(formatVerifyResult({ ok: true, records: 2 })).toBe('ok: 2 records, chain intact');
    expect(formatVerifyResult({ ok: true, records: 1, head: { seq: 1, hash: H }, start: { seq: 0, hash: GENESIS_HASH } })).toBe(
      `ok: 1 record, chain intact; last record seq 1, hash ${H}`,
    );
  });
});
