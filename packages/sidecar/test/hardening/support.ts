// Shared by the hardening suites: raw-socket HTTP (so nothing is normalised or refused by a
// client library before it reaches the sidecar), Anthropic error-shape checks, health and
// memory probes, and the attack log that docs/SECURITY.md's table is generated from.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SIDECAR_NODE_OPTIONS } from '../../../operator/src/webhook/sidecar.ts';
import { AnthropicStub } from '../../src/stub/anthropic-stub.ts';
import { LocalIssuer } from '../../src/identity/local-issuer.ts';
import { copyExamples, NS, type World } from '../../src/testing/world.ts';
import { auditRecord } from '../refusal.ts';

export interface RawResponse {
  /** 0 when the server sent nothing parseable. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (within the wait). */
  closed: boolean;
  /** Everything received, latin1. */
  text: string;
  elapsedMs: number;
}

export interface RawOptions {
  /** Longest wait for the answer and the close (default 3000 ms). */
  waitMs?: number;
  /** Written after the first part, one by one, `gapMs` apart (a trickle). */
  trickle?: (string | Buffer)[];
  gapMs?: number;
  /** Resolve as soon as one complete response arrived, without waiting for a close. */
  firstResponse?: boolean;
}

/** Sends bytes as they are on a fresh connection; collects what comes back until close or timeout. */
export function rawHttp(url: string, data: string | Buffer, opts: RawOptions = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const waitMs = opts.waitMs ?? 3000;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const chunks: Buffer[] = [];
    let closed = false;
    let done = false;
    const socket = connect(Number(port), hostname);
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ ...parseResponse(text), closed, text, elapsedMs: Date.now() - t0 });
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.firstResponse && complete(Buffer.concat(chunks).toString('latin1'))) finish();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
    (opts.trickle ?? []).forEach((part, i) => {
      timers.push(setTimeout(() => void (!socket.destroyed && socket.writable && socket.write(part)), (i + 1) * (opts.gapMs ?? 100)));
    });
    timers.push(setTimeout(finish, waitMs));
  });
}

function parseResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text);
  if (!m) return { status: 0, headers: {}, body: '' };
  const end = text.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of text.slice(m[0].length, end === -1 ? undefined : end).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = end === -1 ? '' : text.slice(end + 4);
  if (headers['content-length'] !== undefined) body = body.slice(0, Number(headers['content-length']));
  else if (headers['transfer-encoding'] === 'chunked') body = dechunk(body).body;
  return { status: Number(m[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') };
}

/** Decodes a chunked body (latin1 text); `done` once the last chunk arrived. */
function dechunk(text: string): { body: string; done: boolean } {
  let body = '';
  let at = 0;
  for (let i = 0; i < 100_000; i++) {
    const eol = text.indexOf('\r\n', at);
    if (eol === -1) break;
    const size = parseInt(text.slice(at, eol), 16);
    if (!Number.isFinite(size)) break;
    if (size === 0) return { body, done: true };
    body += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return { body, done: false };
}

function complete(text: string): boolean {
  const r = parseResponse(text);
  const end = text.indexOf('\r\n\r\n');
  if (r.status === 0 || end === -1) return false;
  const len = r.headers['content-length'];
  if (len !== undefined) return Buffer.byteLength(r.body, 'latin1') >= Number(len) || Buffer.byteLength(r.body) >= Number(len);
  if (r.headers['transfer-encoding'] === 'chunked') return dechunk(text.slice(end + 4)).done;
  return false;
}

export interface AnthropicError {
  type: 'error';
  error: { type: string; message: string };
  request_id?: string;
}

/** Parses an Anthropic-shaped error body; throws (failing the test) on anything else. */
export function anthropicError(body: string): AnthropicError {
  const parsed = JSON.parse(body) as AnthropicError;
  if (
    parsed.type !== 'error' ||
    typeof parsed.error?.type !== 'string' ||
    typeof parsed.error?.message !== 'string' ||
    parsed.error.message === ''
  ) {
    throw new Error(`not an Anthropic-shaped error: ${body.slice(0, 300)}`);
  }
  return parsed;
}

/**
 * An ordinary request still gets its 200 and /healthz is ok. With the world's audit file, also waits for that
 * request's record: a test that counts the file's records next does not count it among its own.
 */
export async function assertHealthy(world: {
  url: string;
  adminUrl: string;
  auditFile?: string;
  saToken(name: string): Promise<string>;
}): Promise<void> {
  const token = await world.saToken('support-bot');
  const res = await fetch(`${world.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'still there?' }] }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`a normal request got ${res.status} after the attacks`);
  const id = res.headers.get('x-scopekeeper-request-id');
  if (!id) throw new Error('a normal request got no x-scopekeeper-request-id: it was not answered by the data path');
  if (world.auditFile) await auditRecord(world.auditFile, id);
  const health = await fetch(`${world.adminUrl}/healthz`);
  if (health.status !== 200 || ((await health.json()) as { ok?: boolean }).ok !== true) throw new Error('/healthz is not ok');
}

let gcFn: (() => void) | undefined | null = null;
/** A forced full GC when V8 lets us have one (jest cannot pass --expose-gc), else nothing. */
export function forceGc(): void {
  if (gcFn === null) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = undefined;
    }
  }
  gcFn?.();
}

/** heapUsed after a settle and (if possible) a forced GC. */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 50));
    forceGc();
  }
  return process.memoryUsage().heapUsed;
}

export interface AttackRecord {
  suite: string;
  attack: string;
  /** What the suite asserts. */
  expected: string;
  /** What was observed: HTTP status (0: none), error type, whether the connection closed. */
  status: number;
  errorType?: string;
  closed?: boolean;
  note?: string;
}

/**
 * Appends one observed result to $SCOPEKEEPER_ATTACK_LOG (JSON lines) when set; the table in
 * docs/SECURITY.md is rendered from it by attack-table.ts. A no-op otherwise.
 */
export function recordAttack(r: AttackRecord): void {
  const file = process.env.SCOPEKEEPER_ATTACK_LOG;
  if (file) appendFileSync(file, JSON.stringify(r) + '\n');
}

/** The complete lines of a JSON-lines file being appended to (a torn last line is left out). */
export function completeJsonLines<T>(text: string): T[] {
  const end = text.lastIndexOf('\n');
  return end < 0
    ? []
    : text
        .slice(0, end)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as T);
}

/** Error type of an Anthropic-shaped body, or undefined when the body is not one. */
export function errorTypeOf(body: string): string | undefined {
  try {
    return anthropicError(body).error.type;
  } catch {
    return undefined;
  }
}

/** Writes `mib` MiB of one line (no line end), as fast as the sidecar reads; stops once it hangs up. */
export async function pour(res: ServerResponse, mib: number): Promise<void> {
  const chunk = Buffer.alloc(1 << 20, 'a');
  for (let i = 0; i < mib && !res.destroyed; i++) {
    if (res.write(chunk)) continue;
    await new Promise<void>((r) => {
      const on = () => (res.off('drain', on), res.off('close', on), r());
      res.once('drain', on).once('close', on);
    });
  }
  if (!res.destroyed) res.end('\n\n');
}

/** One SSE event of a Messages stream, and the pieces of a stream the custom upstreams send. */
export const ev = (t: string, d: unknown) => `event: ${t}\ndata: ${JSON.stringify(d)}\n\n`;
export const START =
  ev('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      usage: { input_tokens: 3, output_tokens: 1 },
    },
  }) + ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
export const DELTA = (t: string) =>
  ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } });
export const END =
  ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
  ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }) +
  ev('message_stop', { type: 'message_stop' });

/**
 * A sidecar started as its container starts it: the CLI, its heap bound (SIDECAR_NODE_OPTIONS),
 * logs silenced; with the examples' policy, a stand-in upstream and a local issuer of its own.
 */
export interface ContainerSidecar {
  url: string;
  adminUrl: string;
  /** A token of the service account `sa` in the examples' namespace. */
  token(sa: string): Promise<string>;
  /** Resolves with how the process ended: `exited: <code or signal>`. */
  exited: Promise<string>;
  alive(): boolean;
  /** Stops the process (if it still runs), the upstream and the issuer, and removes its files. */
  stop(): Promise<void>;
}

/** Starts `scopekeeper sidecar` on free loopback ports and waits for /readyz; `audit` defaults to a file of its own. */
export async function startContainerSidecar(opts: { audit?: string } = {}): Promise<ContainerSidecar> {
  const repo = fileURLToPath(new URL('../../../../', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'sk-container-'));
  const stub = await new AnthropicStub({ port: 0, apiKey: 'sk-ant-test-key' }).start();
  const issuer = await LocalIssuer.start();
  const policy = join(dir, 'policy');
  await mkdir(policy);
  await copyExamples(policy);
  const keyFile = join(dir, 'key');
  await writeFile(keyFile, 'sk-ant-test-key', { mode: 0o600 });
  const [port, admin] = [await freePort(), await freePort()];
  const args = [
    ...[
      'sidecar',
      '--policy',
      policy,
      '--namespace',
      NS,
      '--issuer',
      issuer.issuer,
      '--upstream',
      stub.url,
      '--upstream-key-file',
      keyFile,
    ],
    ...['--audit', opts.audit ?? `file:${join(dir, 'audit.jsonl')}`, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${admin}`],
  ];
  const child = spawn(join(repo, 'node_modules/.bin/node'), [join(repo, 'bin/scopekeeper.js'), ...args], {
    env: { ...process.env, NODE_OPTIONS: SIDECAR_NODE_OPTIONS, SCOPEKEEPER_LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(`exited: ${code ?? signal}`)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const adminUrl = `http://127.0.0.1:${admin}`;
  for (let i = 0; i < 200 && alive(); i++) {
    if (
      await fetch(`${adminUrl}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    adminUrl,
    token: (sa) => issuer.mint({ sub: `system:serviceaccount:${NS}:${sa}`, ttlSeconds: 600 }),
    exited,
    alive,
    stop: async () => {
      if (alive()) {
        child.kill('SIGTERM');
        await exited;
      }
      await stub.close();
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Bytes of bodies the sidecar holds whole now (http/body-budget.ts, --max-buffered-bytes). */
export function heldBytes(world: World): number {
  return (world.sidecar as unknown as { dp: { bodies: { held: number } } }).dp.bodies.held;
}
