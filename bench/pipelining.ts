// A flood of pipelined requests against the compiled sidecar, started as the injected container
// starts it (the heap bounds of SIDECAR_NODE_OPTIONS): each connection writes 1,700 bodiless
// requests at once (64 KB of `GET /v1/models` without a token) and reads no answer, while one
// allowed request is sent beside them to an upstream answering in 1 s. Whether the sidecar lives,
// its RSS high-water mark, and whether the allowed request's audit record was written
// (docs/SECURITY.md, "Bursts and overload"). Not part of `npm run bench`; ~15 s a case.
//
//   node_modules/.bin/node bench/pipelining.ts [--connections 150,600,1500,3000]
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setupScopekeeper, startSidecar, REPO } from './lib/scopekeeper.ts';
import { requestBody, jsonResponse } from './lib/fixtures.ts';
import { freePort, stop } from './lib/proc.ts';

const { values: args } = parseArgs({ options: { connections: { type: 'string', default: '150,600,1500,3000' } } });
const PIPELINED = 'GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(1700);

process.env.SCOPEKEEPER_BENCH_ENTRY ??= join(REPO, 'dist/bin/scopekeeper.js');
if (!existsSync(process.env.SCOPEKEEPER_BENCH_ENTRY)) {
  process.stderr.write(`${process.env.SCOPEKEEPER_BENCH_ENTRY} is missing: run "npm run build" first\n`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'scopekeeper-pipelining-'));
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(jsonResponse()), 1000));
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
const sk = await setupScopekeeper(dir);

process.stdout.write(
  '| connections | sidecar alive | RSS peak MB | the allowed request | its audit record |\n| ---: | --- | ---: | --- | --- |\n',
);
try {
  for (const n of args.connections.split(',').map(Number)) {
    const s = await startSidecar(`sk-${n}`, undefined, sk, {
      dir,
      port: await freePort(),
      adminPort: await freePort(),
      upstream: upstreamUrl,
    });
    const sockets: Socket[] = [];
    for (let i = 0; i < n; i++) {
      const c = connect(s.port, '127.0.0.1');
      c.on('error', () => undefined);
      c.pause();
      c.write(PIPELINED);
      sockets.push(c);
    }
    const t0 = performance.now();
    const allowed = await fetch(`http://127.0.0.1:${s.port}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sk.auditToken}`, 'content-type': 'application/json' },
      body: requestBody(false),
      signal: AbortSignal.timeout(60_000),
    }).then(
      async (r) => (
        await r.arrayBuffer(),
        { status: `${r.status} after ${((performance.now() - t0) / 1000).toFixed(1)} s`, id: r.headers.get('x-scopekeeper-request-id') }
      ),
      (e: Error) => ({ status: `none (${e.name})`, id: null }),
    );
    for (const c of sockets) c.destroy();
    await new Promise((r) => setTimeout(r, 3000)); // the audit writer catches up
    const alive = s.child.exitCode === null && s.child.signalCode === null;
    const hwm = alive ? /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.child.pid}/status`, 'utf8'))?.[1] : undefined;
    const recorded = allowed.id !== null && readFileSync(s.auditFile, 'utf8').includes(`"${allowed.id}"`);
    process.stdout.write(
      `| ${n} | ${alive ? 'yes' : `no (${s.child.signalCode ?? s.child.exitCode})`} | ${hwm ? (Number(hwm) / 1024).toFixed(0) : '—'} | ${allowed.status} | ${allowed.id === null ? '—' : recorded ? 'written' : 'missing'} |\n`,
    );
    await stop(s);
  }
} finally {
  upstream.close();
  await sk.issuer.close();
  rmSync(dir, { recursive: true, force: true });
}
