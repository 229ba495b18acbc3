// What the upstream receives from the Forwarder: the header block it writes from the flat list.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Forwarder } from './forwarder.ts';

let server: Server;
let origin: string;
const seen: { raw: string[]; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ raw: req.rawHeaders, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function send(f: Forwarder, headers: Record<string, string | string[]>, body?: Buffer): Promise<{ raw: string[]; body: string }> {
  const n = seen.length;
  const res = await f.send({ origin, path: '/v1/x', method: 'POST', headers, body }).response;
  res.body.resume();
  await new Promise((resolve) => res.body.once('end', resolve));
  return seen[n]!;
}

const pairs = (raw: string[]) => raw.flatMap((v, i) => (i % 2 === 0 ? [[v.toLowerCase(), raw[i + 1]!]] : []));

describe('Forwarder: the header block', () => {
  test('every header as given, a list value as one line per value, Host as node:http would set it, keep-alive', async () => {
    const f = new Forwarder({ connections: 4, timeoutMs: 5000 });
    try {
      const got = await send(f, { 'x-one': 'a', 'x-list': ['p', 'q'], 'content-length': '2' }, Buffer.from('hi'));
      expect(pairs(got.raw)).toEqual([
        ['x-one', 'a'],
        ['x-list', 'p'],
        ['x-list', 'q'],
        ['content-length', '2'],
        ['host', new URL(origin).host],
        ['connection', 'keep-alive'],
      ]);
      expect(got.body).toBe('hi');
    } finally {
      await f.close();
    }
  });

  test('a Host that is given is sent once, instead of the origin', async () => {
    const f = new Forwarder({ connections: 4, timeoutMs: 5000 });
    try {
      const got = await send(f, { Host: 'api.example', 'content-length': '0' }, Buffer.alloc(0));
      expect(pairs(got.raw).filter(([k]) => k === 'host')).toEqual([['host', 'api.example']]);
    } finally {
      await f.close();
    }
  });

  test('a value with a line break is refused before anything is sent', async () => {
    const f = new Forwarder({ connections: 4, timeoutMs: 5000 });
    const n = seen.length;
    try {
      await expect(
        f.send({ origin, path: '/v1/x', method: 'POST', headers: { 'x-a': 'v\r\nx-injected: 1' } }).response,
      ).rejects.toMatchObject({
        code: 'ERR_INVALID_CHAR',
      });
      await expect(f.send({ origin, path: '/v1/x', method: 'POST', headers: { 'x a': 'v' } }).response).rejects.toMatchObject({
        code: 'ERR_INVALID_HTTP_TOKEN',
      });
      expect(seen.length).toBe(n);
    } finally {
      await f.close();
    }
  });
});
