// Inputs built to make a backtracking matcher go quadratic or worse. Each must finish, and
// 4x the input must cost roughly 4x the time (asserted loosely: quadratic would be 16x).
// Speed itself is measured in bench/masking.ts, not asserted here.

import { compileMasking, BUILTIN_CATEGORIES } from './index.ts';
import { newTally } from './engine.ts';
import { buildEngine } from './policy.ts';
import { TextStream } from './text-stream.ts';

const policy = {
  mask: [...BUILTIN_CATEGORIES],
  custom: [
    { name: 'ticket-id', pattern: 'TCK-[0-9]{6}' },
    { name: 'nested', pattern: '(?:[a-z]{1,8}\\.){1,8}[a-z]{2,6}@' },
  ],
};
const masking = compileMasking(policy);

const INPUTS: Record<string, (n: number) => string> = {
  'a…a@': (n) => 'a'.repeat(n) + '@',
  'a@a@…': (n) => 'a@'.repeat(n / 2),
  'x.x.…@': (n) => 'x.'.repeat(n / 2) + '@',
  'a@b.b.b…': (n) => 'a@' + 'b.'.repeat(n / 2),
  digits: (n) => '1'.repeat(n),
  '1 1 1 …': (n) => '1 '.repeat(n / 2),
  '4111 4111 …': (n) => '4111 '.repeat(n / 5),
  '1.1.1.…': (n) => '1.'.repeat(n / 2),
  '+1 +1 …': (n) => '+1 '.repeat(n / 3),
  '+111…': (n) => '+' + '1'.repeat(n),
  '-----…': (n) => '-'.repeat(n),
  'BEGIN headers': (n) => '-----BEGIN PRIVATE KEY-----'.repeat(n / 27),
  'BEGIN + endless body': (n) => '-----BEGIN PRIVATE KEY-----\n' + 'A'.repeat(n),
  'Bearer Bearer …': (n) => 'Bearer '.repeat(n / 7),
  'Bearer a1a1…': (n) => 'Bearer ' + 'a1'.repeat(n / 2),
  'eyJeyJ…': (n) => 'eyJ'.repeat(n / 3),
  'eyJa.eyJb.…': (n) => 'eyJa.eyJb.'.repeat(n / 10),
  'sk-sk-…': (n) => 'sk-'.repeat(n / 3),
  'sk-aaaa…': (n) => 'sk-' + 'a'.repeat(n),
  ':::…': (n) => ':'.repeat(n),
  'a:a:…': (n) => 'a:'.repeat(n / 2),
  'ff::ff::…': (n) => 'ff::'.repeat(n / 4),
  'DE89 DE89 …': (n) => 'DE89 '.repeat(n / 5),
  'AKIAAKIA…': (n) => 'AKIA'.repeat(n / 4),
  'ghp_ghp_…': (n) => 'ghp_'.repeat(n / 4),
  'TCK-TCK-…': (n) => 'TCK-'.repeat(n / 4),
  'abc.abc.…(custom)': (n) => 'abc.'.repeat(n / 4),
};

/** CPU milliseconds of this process (not wall time: a busy machine delays us, it does not add CPU). */
function timeIt(f: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = process.cpuUsage();
    f();
    const d = process.cpuUsage(t0);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

describe('linear time on adversarial 0.5 MB / 2 MB inputs', () => {
  it.each(Object.entries(INPUTS))('%s', (_name, make) => {
    const small = make(500_000);
    const big = make(2_000_000);
    expect(big.length).toBeGreaterThanOrEqual(1_900_000);
    const t1 = timeIt(() => masking.maskText(small));
    const t2 = timeIt(() => masking.maskText(big));
    // Fast in absolute terms, or scaling linearly (a quadratic scan would be ~16x). A linear scan of
    // 2 MB takes ~20-40 ms here; a quadratic one, even at a nanosecond a step, would take minutes, so
    // the absolute bound leaves room for a loaded CI machine (60 ms failed once beside other tests)
    // without letting a quadratic scan pass.
    expect(t2 < 250 || t2 / t1 < 8).toBe(true);
  });
});

describe('linear time when streamed in small pieces', () => {
  const engine = buildEngine(policy);
  const stream = (s: string) => {
    const ts = new TextStream(engine, newTally());
    for (let i = 0; i < s.length; i += 16) ts.push(s.slice(i, i + 16));
    ts.finish();
  };
  it.each([
    ['base64 blob', (n: number) => 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo'.repeat(n / 35)],
    ['one long email-alphabet run', (n: number) => 'a.b-c_d'.repeat(n / 7)],
    ['JWT-like run', (n: number) => 'eyJ' + 'x'.repeat(n)],
    ['key body without footer', (n: number) => '-----BEGIN PRIVATE KEY-----\n' + 'QUJD\n'.repeat(n / 5)],
    ['digits and spaces', (n: number) => '12 34 '.repeat(n / 6)],
  ])('%s', (_name, make) => {
    const small = make(100_000);
    const big = make(400_000);
    const t1 = timeIt(() => stream(small));
    const t2 = timeIt(() => stream(big));
    expect(t2 < 60 || t2 / t1 < 8).toBe(true);
  });
});
