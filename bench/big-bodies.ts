// What large request bodies cost the sidecar in memory: its RSS high-water mark (VmHWM) after
// bodies of a given shape, size and number in flight at once, each case in a fresh sidecar started
// as the injected container starts it (the heap bounds of SIDECAR_NODE_OPTIONS). What the injected
// container's memory limit (DEFAULT_SIDECAR_RESOURCES) and --max-buffered-bytes are sized by
// (docs/operations.md). Not part of `npm run bench`; ~1 min.
//
//   node_modules/.bin/node bench/big-bodies.ts [--cases text:15:1,wide:15:1,text:7:3,wide:7:3,text:2:12,objects:5:1]
//   shape: text (one long ASCII string), wide (one long string of 2-byte UTF-8 characters, a
//   two-byte string in V8), objects (`{},` repeated); MiB per body; bodies sent at once
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setupScopekeeper, startSidecar, REPO } from './lib/scopekeeper.ts';
import { freePort, stop } from './lib/proc.ts';

const { values: args } = parseArgs({
  options: { cases: { type: 'string', default: 'text:15:1,wide:15:1,text:7:3,wide:7:3,text:2:12,objects:5:1' } },
});

const ANSWER =
  '{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hi"}],"model":"claude-sonnet-4-5","stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}';

function body(shape: string, mib: number): string {
  const head = '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"metadata":';
  const bytes = mib * 1024 * 1024;
  if (shape === 'objects') return `${head}[${'{},'.repeat(Math.floor(bytes / 3))}{}]}`;
  if (shape === 'wide') return `${head}"${'Ā'.repeat(bytes / 2)}"}`;
  if (shape === 'text') return `${head}"${'a'.repeat(bytes)}"}`;
  throw new Error(`unknown shape ${shape}: text, wide or objects`);
}

// The compiled sidecar, as the image runs it (npm run build first); SCOPEKEEPER_BENCH_ENTRY for another build.
process.env.SCOPEKEEPER_BENCH_ENTRY ??= join(REPO, 'dist/bin/scopekeeper.js');
if (!existsSync(process.env.SCOPEKEEPER_BENCH_ENTRY)) {
  process.stderr.write(`${process.env.SCOPEKEEPER_BENCH_ENTRY} is missing: run "npm run build" first\n`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'scopekeeper-big-bodies-'));
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWER));
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
const sk = await setupScopekeeper(dir);

process.stdout.write(
  '| shape | MiB per body | at once | answers | sidecar RSS peak MB | alive |\n| --- | ---: | ---: | --- | ---: | --- |\n',
);
try {
  for (const c of args.cases.split(',')) {
    const [shape, mib, n] = c.split(':');
    const text = body(shape!, Number(mib));
    const s = await startSidecar(`sk-${c.replaceAll(':', '-')}`, undefined, sk, {
      dir,
      port: await freePort(),
      adminPort: await freePort(),
      upstream: upstreamUrl,
    });
    const statuses = await Promise.all(
      Array.from({ length: Number(n) }, () =>
        fetch(`http://127.0.0.1:${s.port}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${sk.auditToken}`, 'content-type': 'application/json' },
          body: text,
        }).then(
          async (r) => (await r.arrayBuffer(), String(r.status)),
          () => 'none',
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    const alive = s.child.exitCode === null && s.child.signalCode === null;
    const hwm = alive ? /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.child.pid}/status`, 'utf8'))?.[1] : undefined;
    const counts = new Map<string, number>();
    for (const st of statuses) counts.set(st, (counts.get(st) ?? 0) + 1);
    const answers = [...counts].map(([st, k]) => `${k}× ${st}`).join(', ');
    const rss = hwm ? (Number(hwm) / 1024).toFixed(0) : '—';
    process.stdout.write(
      `| ${shape} | ${mib} | ${n} | ${answers} | ${rss} | ${alive ? 'yes' : `no (${s.child.signalCode ?? s.child.exitCode})`} |\n`,
    );
    await stop(s);
  }
} finally {
  upstream.close();
  await sk.issuer.close();
  rmSync(dir, { recursive: true, force: true });
}
