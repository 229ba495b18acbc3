// Faults of the sidecar's own duties: an HTTP audit sink that goes down (counted; with
// --audit-required requests fail closed with 503; records are delivered in order once it
// recovers), a broken edit of the policy folder while running (last good policy kept), and
// SIGTERM while several streams are in flight (drained, every record written).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyChain } from '@scopekeeper/core';
import { startWorld, type World } from '../../src/testing/world.ts';
import { errorTypeOf, recordAttack, startContainerSidecar, type ContainerSidecar } from './support.ts';
import { until } from '@scopekeeper/kube/testing/until';

const SUITE = 'sidecar faults';

/** An NDJSON audit collector that can be told to fail. */
class Collector {
  failing = false;
  readonly lines = new Map<number, string>();
  posts = 0;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.posts++;
        if (this.failing) return void res.writeHead(503).end('collector down');
        for (const line of Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean)) {
          this.lines.set((JSON.parse(line) as { seq: number }).seq, line); // at least once: dedupe by seq
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/audit`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

async function auditFailures(world: World): Promise<number> {
  const text = await (await fetch(`${world.adminUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('scopekeeper_audit_failures_total'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

const ask = async (world: World, token: string, o: Record<string, unknown> = {}) => {
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...o }),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
};

/** Every seq from 1 to the highest arrived once, and the chain verifies. */
function contiguousAndValid(c: Collector): boolean {
  const seqs = [...c.lines.keys()].sort((a, b) => a - b);
  if (seqs.length === 0 || seqs.some((s, i) => s !== i + 1)) return false;
  return verifyChain(seqs.map((s) => c.lines.get(s)!)).ok;
}

describe('an HTTP audit sink that goes down', () => {
  test('without --audit-required: requests keep passing, failures are counted, records arrive in order once it recovers', async () => {
    const collector = new Collector();
    const url = await collector.start();
    const world = await startWorld({ flags: { audit: [url], auditRequired: false } });
    try {
      const token = await world.saToken('support-bot');
      expect((await ask(world, token)).status).toBe(200);
      await until('the first record', () => collector.lines.size === 1);
      collector.failing = true;
      const during = [];
      for (let i = 0; i < 3; i++) during.push((await ask(world, token)).status);
      await until('a counted failure', async () => (await auditFailures(world)) > 0);
      const failures = await auditFailures(world);
      recordAttack({
        suite: SUITE,
        attack: 'HTTP audit sink answers 503 (no --audit-required)',
        expected: '200, scopekeeper_audit_failures_total > 0, delivered after recovery',
        status: during[0]!,
        note: `${failures} failures counted`,
      });
      expect(during).toEqual([200, 200, 200]);
      expect((await fetch(`${world.adminUrl}/readyz`)).status).toBe(503);
      collector.failing = false;
      await until('every record delivered after recovery', () => collector.lines.size === 4 && contiguousAndValid(collector));
      expect((await fetch(`${world.adminUrl}/readyz`)).status).toBe(200);
    } finally {
      await world.close();
      await collector.close();
    }
  });

  test('with --audit-required: requests fail closed with 503 while it is down, pass again after, nothing is lost', async () => {
    const collector = new Collector();
    const url = await collector.start();
    const world = await startWorld({ flags: { audit: [url], auditRequired: true } });
    try {
      const token = await world.saToken('support-bot');
      expect((await ask(world, token)).status).toBe(200);
      collector.failing = true;
      // The request during which the sink fails is answered; its record stays queued.
      await ask(world, token);
      await until('a counted failure', async () => (await auditFailures(world)) > 0);
      const refused = await ask(world, token);
      recordAttack({
        suite: SUITE,
        attack: 'HTTP audit sink answers 503 with --audit-required',
        expected: '503 api_error until the sink recovers',
        status: refused.status,
        errorType: errorTypeOf(refused.body),
      });
      expect([refused.status, errorTypeOf(refused.body)]).toEqual([503, 'api_error']);
      expect(refused.headers.get('x-scopekeeper-decision')).toBe('error');
      expect(world.stub!.received.filter((r) => r.url.startsWith('/v1/messages'))).toHaveLength(2);
      collector.failing = false;
      await until('the sink to recover', async () => (await fetch(`${world.adminUrl}/readyz`)).status === 200);
      expect((await ask(world, token)).status).toBe(200);
      await until('every record delivered', () => collector.lines.size === 4 && contiguousAndValid(collector));
      const records = [...collector.lines.values()].map((l) => JSON.parse(l) as { status: number; reasons: string[] });
      expect(records.map((r) => r.status)).toEqual([200, 200, 503, 200]);
      expect(records[2]!.reasons).toEqual(['AuditUnavailable']);
    } finally {
      await world.close();
      await collector.close();
    }
  });
});

describe("an audit sink that is down, behind records a caller makes large (the container's heap bound)", () => {
  let sidecar: ContainerSidecar | undefined;
  const collector = new Collector();
  afterAll(async () => {
    await sidecar?.stop();
    await collector.close();
  });

  test('8,000 denied requests naming 128 long tools each (~17 KB records): the queue drops past 16 Mi characters, the process lives, delivery resumes (before: V8 aborted it after ~3,800)', async () => {
    collector.failing = true;
    sidecar = await startContainerSidecar({ audit: await collector.start() });
    const token = await sidecar.token('support-bot');
    // Tool names are capped at 128 characters and the record keeps 128 of them: the largest a caller makes it.
    const tools = Array.from({ length: 128 }, (_, i) => ({ name: `t${i}_`.padEnd(128, 'x'), input_schema: { type: 'object' } }));
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], tools });
    const statuses = new Map<string, number>();
    let sent = 0;
    const worker = async () => {
      while (sent < 8000 && sidecar!.alive()) {
        sent++;
        const s = await fetch(`${sidecar!.url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        }).then(
          async (r) => (await r.arrayBuffer(), String(r.status)),
          () => 'no answer',
        );
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    const failures = metrics
      .split('\n')
      .filter((l) => l.startsWith('scopekeeper_audit_failures_total'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    recordAttack({
      suite: SUITE,
      attack: '8,000 requests naming 128 tools of 128 characters while the HTTP audit sink answers 503 (container heap bound)',
      expected: 'every one answered 403; the queue stops at 16 Mi characters, the rest dropped and counted; the process lives',
      status: sidecar.alive() ? 403 : 0,
      note: `${[...statuses].map(([k, v]) => `${v} × ${k}`).join(', ')}; ${failures} audit failures counted`,
    });
    expect(Object.fromEntries(statuses)).toEqual({ '403': 8000 });
    expect(sidecar.alive()).toBe(true);
    expect(failures).toBeGreaterThan(5000); // most of the 8,000 records found the queue full
    collector.failing = false;
    await until('records to flow again', () => collector.lines.size > 0, 30_000);
    const ask = await fetch(`${sidecar.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(ask.status).toBe(200);
  }, 120_000);
});

describe('the policy folder', () => {
  test.each([
    ['an alias without its anchor', 'apiVersion: scopekeeper.dev/v1alpha1\nkind: ModelScope\nmetadata: {name: broken}\nspec: *nowhere\n'],
    [
      'a billion-laughs alias bomb',
      [
        'a: &a [x,x,x,x,x,x,x,x,x,x]',
        ...Array.from(
          { length: 9 },
          (_, i) =>
            `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
              .fill(`*${String.fromCharCode(97 + i)}`)
              .join(',')}]`,
        ),
      ].join('\n'),
    ],
    ['a file that is not YAML at all', '{{{{ ]]]] : : :\n\t- - -'],
  ])('%s written while running: the last good policy stays in force and the process keeps serving', async (name, yaml) => {
    const world = await startWorld();
    try {
      const token = await world.saToken('support-bot');
      await writeFile(join(world.policyDir, 'zz-broken.yaml'), yaml);
      await until('the reload to report the file', async () => {
        const r = (await (await fetch(`${world.adminUrl}/readyz`)).json()) as { policy: { lastError?: string } };
        return r.policy.lastError?.includes('zz-broken.yaml') === true;
      });
      const res = await ask(world, token);
      recordAttack({
        suite: SUITE,
        attack: `policy folder edit: ${name}`,
        expected: 'last good policy kept, 200, reported in /readyz',
        status: res.status,
      });
      expect(res.status).toBe(200);
      expect((await fetch(`${world.adminUrl}/healthz`)).status).toBe(200);
    } finally {
      await world.close();
    }
  });
});

describe('SIGTERM', () => {
  test('stop() with five streams in flight: new connections refused, every stream finishes, five records written', async () => {
    const world = await startWorld({ stub: { eventDelayMs: 25 } });
    try {
      const token = await world.saToken('support-bot');
      const content = 'A reply long enough to take about half a second to stream out, event by event, slowly.';
      const responses = await Promise.all(
        Array.from({ length: 5 }, () =>
          fetch(`${world.url}/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, messages: [{ role: 'user', content }] }),
          }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      const bodies = responses.map((r) => r.text());
      const t0 = Date.now();
      const stopped = world.sidecar.stop();
      await new Promise((r) => setTimeout(r, 50));
      const refused = await fetch(`${world.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{}',
      }).then(
        (r) => r.status,
        () => 'refused',
      );
      const texts = await Promise.all(bodies);
      await stopped;
      const lines = (await readFile(world.auditFile, 'utf8')).trim().split('\n');
      recordAttack({
        suite: SUITE,
        attack: 'SIGTERM with 5 streams in flight',
        expected: 'new connections refused; 5 streams end with message_stop; 5 records',
        status: 200,
        note: `drained in ${Date.now() - t0} ms; new request: ${refused}`,
      });
      expect(refused).toBe('refused');
      for (const t of texts) {
        expect(t).toContain('event: message_stop');
        expect(t).not.toContain('event: error');
      }
      expect(lines).toHaveLength(5);
      expect(lines.map((l) => JSON.parse(l) as { status: number; decision: string })).toEqual(
        Array.from({ length: 5 }, () => expect.objectContaining({ status: 200, decision: 'allow' })),
      );
      expect(verifyChain(lines).ok).toBe(true);
    } finally {
      await world.close();
    }
  });
});
