// The soak run of the hardening work: N minutes at R req/s of mixed traffic (JSON, SSE,
// masking, denials, held requests) through a real sidecar process against the stand-in.
// Passes only if no response is other than designed, no audit record is lost (count and
// chain), and the sidecar's RSS stays flat. Bounded in time and count; loopback only.
//
//   npm run soak -- --minutes 10 --rate 1000        (.ci/run runs it when SCOPEKEEPER_SOAK=1)
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { AnthropicStub, LocalIssuer, copyExamples, UPSTREAM_KEY, verifyAuditFile } from '@scopekeeper/sidecar';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, rate: { type: 'string', default: '1000' }, out: { type: 'string' } },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!(minutes > 0 && minutes <= 60 && rate > 0 && rate <= 5000)) {
  console.error('usage: npm run soak -- --minutes 1..60 --rate 1..5000');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
const node = join(root, 'node_modules/.bin/node');
const dir = await mkdtemp(join(tmpdir(), 'scopekeeper-soak-'));
const policy = join(dir, 'policy');
await mkdir(policy);
await copyExamples(policy);
const keyFile = join(dir, 'key');
await writeFile(keyFile, UPSTREAM_KEY);
const auditFile = join(dir, 'audit.jsonl');
const issuer = await LocalIssuer.start();
const stub = await new AnthropicStub({ apiKey: UPSTREAM_KEY, keep: 0 }).start();
const port = 20000 + Math.floor(Math.random() * 20000);
const sidecar = spawn(
  node,
  [
    join(root, 'bin/scopekeeper.js'),
    'sidecar',
    '--policy',
    policy,
    '--namespace',
    'team-a',
    '--issuer',
    issuer.issuer,
    '--upstream',
    stub.url,
    '--upstream-key-file',
    keyFile,
    '--audit',
    `file:${auditFile}`,
    '--audit-required',
    '--listen',
    `127.0.0.1:${port}`,
    '--admin',
    `127.0.0.1:${port + 1}`,
  ],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SCOPEKEEPER_LOG_LEVEL: 'warn' },
  },
);
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${port + 1}/readyz`)).ok) break;
  } catch {
    /* not up yet */
  }
  if (i > 100) throw new Error('sidecar did not become ready');
  await new Promise((r) => setTimeout(r, 100));
}

const tok = async (sa: string) => issuer.mint({ sub: `system:serviceaccount:team-a:${sa}`, ttlSeconds: 3600 });
const tokens = { support: await tok('support-bot'), research: await tok('research-bot'), ops: await tok('ops-bot') };
const SECRET =
  'Mail jane.doe@example.com, card 4111 1111 1111 1111, ticket TCK-123456, and a long enough tail of ordinary prose to be realistic.';
const body = (o: Record<string, unknown>) =>
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 256,
    messages: [{ role: 'user', content: 'Draft a short, friendly reply about a delayed refund.' }],
    ...o,
  });
// Each class: share of the traffic, the request, and the only status it may get.
const classes = [
  { name: 'json', share: 35, token: tokens.support, body: body({}), want: 200 },
  { name: 'sse', share: 25, token: tokens.support, body: body({ stream: true }), want: 200 },
  { name: 'masked-json', share: 10, token: tokens.support, body: body({ messages: [{ role: 'user', content: SECRET }] }), want: 200 },
  {
    name: 'masked-sse',
    share: 10,
    token: tokens.support,
    body: body({ stream: true, messages: [{ role: 'user', content: SECRET }] }),
    want: 200,
  },
  { name: 'deny-expired', share: 8, token: tokens.research, body: body({}), want: 403 },
  { name: 'deny-model', share: 7, token: tokens.support, body: body({ model: 'claude-opus-4-1' }), want: 403 },
  { name: 'held', share: 5, token: tokens.ops, body: body({ model: 'claude-opus-4-1' }), want: 403 },
];
const wheel = classes.flatMap((c) => Array<typeof c>(c.share).fill(c));
const counts = Object.fromEntries(classes.map((c) => [c.name, { ok: 0, unexpected: 0 }]));
let unexpected = 0;
let errors = 0;
let firstProblem = '';
let inFlight = 0;
let completed = 0;
let dropped = 0;
const pool = new Pool(base, { connections: 128, pipelining: 1 });
const rss: { t: number; kb: number }[] = [];
const sampleRss = async () => {
  const status = await readFile(`/proc/${sidecar.pid}/status`, 'utf8');
  rss.push({ t: Date.now(), kb: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) });
};
const rssTimer = setInterval(() => void sampleRss(), 5000);

async function one(i: number): Promise<void> {
  const c = wheel[i % wheel.length]!;
  inFlight++;
  try {
    const r = await pool.request({
      path: '/v1/messages',
      method: 'POST',
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' },
      body: c.body,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await r.body.text();
    const bad =
      r.statusCode !== c.want ||
      (c.want === 200 && c.name.includes('sse') && !text.includes('event: message_stop')) ||
      (c.name.startsWith('masked') && text.includes('jane.doe@example.com'));
    if (bad) {
      unexpected++;
      counts[c.name]!.unexpected++;
      firstProblem ||= `${c.name}: status ${r.statusCode}: ${text.slice(0, 200)}`;
    } else counts[c.name]!.ok++;
  } catch (e) {
    errors++;
    firstProblem ||= `${c.name}: ${(e as Error).message}`;
  } finally {
    inFlight--;
    completed++;
  }
}

const t0 = Date.now();
const end = t0 + minutes * 60_000;
let issued = 0;
await sampleRss();
console.error(`soak: ${minutes} min at ${rate} req/s through ${base} (audit ${auditFile})`);
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = Date.now();
    if (now >= end) return resolve();
    const due = Math.floor(((now - t0) / 1000) * rate);
    while (issued < due) {
      // Open loop, but bounded: beyond 2,000 outstanding the run records drops instead of piling up.
      if (inFlight >= 2000) {
        dropped++;
        issued++;
        continue;
      }
      void one(issued++);
    }
    setTimeout(tick, 1);
  };
  tick();
});
while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
clearInterval(rssTimer);
await sampleRss();
const elapsed = (Date.now() - t0) / 1000;
sidecar.kill('SIGTERM');
const code = await new Promise<number | null>((r) => sidecar.once('exit', r));
await pool.close();
await stub.close();
await issuer.close();

let lines = 0;
for await (const l of createInterface({ input: createReadStream(auditFile) })) if (l) lines++;
const chain = await verifyAuditFile(auditFile);
const answered = completed - errors;
const warm = rss.filter((s) => s.t - t0 > 60_000);
const firstMin = warm.slice(0, 12);
const lastMin = warm.slice(-12);
const avg = (xs: { kb: number }[]) => xs.reduce((a, s) => a + s.kb, 0) / Math.max(1, xs.length);
const growth = firstMin.length && lastMin.length ? avg(lastMin) / avg(firstMin) - 1 : 0;
const result = {
  minutes,
  rate,
  elapsedS: Math.round(elapsed),
  issued,
  completed,
  achievedRps: Math.round(completed / elapsed),
  dropped,
  errors,
  unexpected,
  firstProblem: firstProblem || undefined,
  byClass: counts,
  audit: { lines, answered, chainOk: chain.ok, problem: chain.firstBad },
  sidecarExit: code,
  rssMb: {
    start: rss[0]!.kb / 1024,
    peak: Math.max(...rss.map((s) => s.kb)) / 1024,
    end: rss[rss.length - 1]!.kb / 1024,
    growthAfterWarmupPct: Math.round(growth * 1000) / 10,
  },
};
const pass = errors === 0 && unexpected === 0 && dropped === 0 && chain.ok && lines === answered && code === 0 && growth < 0.2;
console.log(JSON.stringify({ pass, ...result }, null, 2));
if (values.out) await writeFile(values.out, JSON.stringify({ pass, ...result }, null, 2) + '\n');
await rm(dir, { recursive: true, force: true });
process.exit(pass ? 0 : 1);
