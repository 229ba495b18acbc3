// A byte pipe between two network namespaces through a Unix socket (a path on the file system is
// the same in every network namespace). The one-node cluster runs inside its own namespace; the
// specs run outside it. One bridge process per direction and port:
//
//   node bridge.ts tcp:127.0.0.1:0      unix:/run/x/api.sock   # outside: a loopback port to the socket
//   node bridge.ts unix:/run/x/api.sock tcp:127.0.0.1:6443     # inside (nsenter --net): the socket to a port
//
// It prints one line, the address it listens on (the port when 0 was asked), and runs until it
// is told to stop (SIGTERM). Nothing else: no retries, no buffering beyond the sockets'.
import { createConnection, createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

type Endpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseEndpoint(s: string): Endpoint {
  const tcp = /^tcp:(.+):(\d+)$/.exec(s);
  if (tcp) return { kind: 'tcp', host: tcp[1]!, port: Number(tcp[2]) };
  if (s.startsWith('unix:/')) return { kind: 'unix', path: s.slice(5) };
  throw new Error(`bridge: ${JSON.stringify(s)} is neither tcp:HOST:PORT nor unix:/PATH`);
}

const connect = (to: Endpoint): Socket => (to.kind === 'tcp' ? createConnection(to.port, to.host) : createConnection(to.path));

async function main(): Promise<void> {
  const [listenArg, connectArg] = process.argv.slice(2);
  if (!listenArg || !connectArg) {
    process.stderr.write('usage: node e2e/harness/bridge.ts LISTEN CONNECT   (tcp:HOST:PORT | unix:/PATH)\n');
    process.exit(2);
  }
  const listen = parseEndpoint(listenArg);
  const to = parseEndpoint(connectArg);
  const server = createServer((a) => {
    const b = connect(to);
    a.pipe(b);
    b.pipe(a);
    const close = () => {
      a.destroy();
      b.destroy();
    };
    a.on('error', close);
    b.on('error', close);
    a.on('close', close);
    b.on('close', close);
  });
  if (listen.kind === 'unix') rmSync(listen.path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'tcp') server.listen(listen.port, listen.host, resolve);
    else server.listen(listen.path, resolve);
  });
  const addr = server.address();
  process.stdout.write(`${typeof addr === 'string' ? `unix:${addr}` : `tcp:${addr?.address}:${addr?.port}`}\n`);
  const stop = () => {
    server.close();
    if (listen.kind === 'unix') rmSync(listen.path, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
