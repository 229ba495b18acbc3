import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyChain } from '@scopekeeper/core';
import { HttpSink } from './http-sink.ts';
import { AuditLog } from './log.ts';
import { ev, range, seqs } from './test-helpers.ts';
import { until } from '@scopekeeper/kube/testing/until';

interface Received {
  headers: IncomingMessage['headers'];
  lines: string[];
}

/** A collector on 127.0.0.1:0 that answers with `status()` (or never, when it returns 0). */
async function collector(
  status: () => number = () => 200,
): Promise<{ url: string; batches: Received[]; lines: () => string[]; close: () => Promise<void>; server: Server }> {
  const batches: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status();
      if (code === 0) return; // hang
      if (code >= 200 && code < 300)
        batches.push({ headers: req.headers, lines: Buffer.concat(chunks).toString('utf8').split('\n').slice(0, -1) });
      res.writeHead(code, { 'content-type': 'text/plain' }).end(code >= 300 ? 'collector overloaded' : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    batches,
    server,
    lines: () => batches.flatMap((b) => b.lines),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('HttpSink', () => {
  test('POSTs batches as NDJSON; the collector receives every record in order', async () => {
    const c = await collector();
    const log = new AuditLog({ sinks: [new HttpSink(c.url)], required: true, maxBatch: 40 });
    await Promise.all(range(1, 100).map((i) => log.record(ev(i))));
    await log.close();
    await c.close();
    expect(seqs(c.lines())).toEqual(range(1, 100));
    expect(verifyChain(c.lines()).ok).toBe(true);
    expect(c.batches.length).toBeGreaterThanOrEqual(3);
    const first = c.batches[0]!;
    expect(first.headers['content-type']).toBe('application/x-ndjson');
    expect(first.headers['x-scopekeeper-audit-records']).toBe(String(first.lines.length));
    expect(first.headers['x-scopekeeper-audit-seq']).toBe(`1-${first.lines.length}`);
  });

  test('a failing collector: failures counted; required=true fails closed', async () => {
    const c = await collector(() => 503);
    const failures: [string, string][] = [];
    const sink = new HttpSink(c.url, { retries: 1, retryDelayMs: 5 });
    const log = new AuditLog({
      sinks: [sink],
      required: true,
      retry: { minMs: 10, maxMs: 20 },
      onFailure: (s, e) => failures.push([s, e.message]),
    });
    await expect(log.record(ev(1))).rejects.toThrow(
      `audit sink ${c.url} failed: POST ${c.url} answered 503 Service Unavailable: collector overloaded; record 1 is queued and will be retried`,
    );
    expect(log.healthy).toBe(false);
    expect(failures[0]![0]).toBe(c.url);
    await expect(log.close(50)).rejects.toThrow(/not yet written/);
    await c.close();
  });

  test('required=false: records are retried and delivered once the collector recovers', async () => {
    let status = 503;
    const c = await collector(() => status);
    let failures = 0;
    const log = new AuditLog({
      sinks: [new HttpSink(c.url, { retries: 0 })],
      required: false,
      retry: { minMs: 10, maxMs: 40 },
      onFailure: () => failures++,
    });
    for (let i = 1; i <= 30; i++) await log.record(ev(i));
    await until('two failures', () => failures >= 2);
    expect(log.healthy).toBe(false);
    status = 200;
    await log.flush();
    expect(log.healthy).toBe(true);
    expect(seqs(c.lines())).toEqual(range(1, 30));
    await log.close();
    await c.close();
  });

  test('a collector that does not answer times out; a closed port is reported', async () => {
    const c = await collector(() => 0);
    await expect(new HttpSink(c.url, { timeoutMs: 100, retries: 0 }).write(['{}'])).rejects.toThrow(
      `POST ${c.url} failed: no answer within 100 ms`,
    );
    await c.close();
    await expect(new HttpSink(c.url, { retries: 0 }).write(['{}'])).rejects.toThrow(/failed: fetch failed \(ECONNREFUSED\)/);
  });

  test('a 4xx is not retried quickly; 5xx is', async () => {
    let calls = 0;
    let code = 400;
    const c = await collector(() => (calls++, code));
    await expect(new HttpSink(c.url, { retries: 2, retryDelayMs: 1 }).write(['{}'])).rejects.toThrow(/answered 400/);
    expect(calls).toBe(1);
    calls = 0;
    code = 502;
    await expect(new HttpSink(c.url, { retries: 2, retryDelayMs: 1 }).write(['{}'])).rejects.toThrow(/answered 502/);
    expect(calls).toBe(3);
    await c.close();
  });

  test('credentials in the URL become Basic authorization and never appear in the name or errors', async () => {
    const c = await collector(() => 503);
    const u = new URL(c.url);
    u.username = 'audit';
    u.password = 's3cr3t';
    u.search = '?token=abc';
    const sink = new HttpSink(u.href, { retries: 0 });
    expect(sink.name).toBe(`http://***@${u.host}/ingest?…`);
    const err = (await sink.write(['{}']).catch((e: Error) => e)) as Error;
    expect(err.message).not.toMatch(/s3cr3t|abc/);
    c.server.removeAllListeners('request');
    let auth: string | undefined;
    c.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      auth = req.headers.authorization;
      req.resume();
      req.on('end', () => res.end());
    });
    await sink.write(['{}']);
    expect(auth).toBe('Basic ' + Buffer.from('audit:s3cr3t').toString('base64'));
    await c.close();
  });
});
