// Opens N connections to a sidecar at once, from a process of its own, as a load generator does
// (a client in the sidecar's own process opens them one event-loop turn at a time), each sending
// one Messages request as soon as it is connected. Prints one JSON line: per connection, its
// status and request id, or how it ended without an answer.
//
//   node connection-flood.ts <data url> <token> <n> [prompt]
import { connect } from 'node:net';

export interface FloodOutcome {
  /** HTTP status, or 0 when the connection ended without an answer. */
  status: number;
  requestId?: string;
  retryAfter?: string;
  /** How a connection without an answer ended: "closed", or the error code. */
  ended?: string;
}

const [url, token, n, prompt = 'hello'] = process.argv.slice(2);
if (!url || !token || !n) {
  process.stderr.write('usage: connection-flood.ts <data url> <token> <n> [prompt]\n');
  process.exit(2);
}
const { hostname, port } = new URL(url);
const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: prompt }] });
const request =
  `POST /v1/messages HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n` +
  `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

function one(): Promise<FloodOutcome> {
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname);
    let head = '';
    let ended: string | undefined;
    s.on('connect', () => s.write(request));
    s.on('data', (c: Buffer) => {
      if (head.length < 4096) head += c.toString('latin1');
    });
    s.on('error', (e: NodeJS.ErrnoException) => (ended = e.code ?? e.message));
    s.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      if (!status) return resolve({ status: 0, ended: ended ?? 'closed' });
      const header = (name: string) => new RegExp(`\r\n${name}: ([^\r]+)`, 'i').exec(head)?.[1];
      resolve({ status: Number(status), requestId: header('x-scopekeeper-request-id'), retryAfter: header('retry-after') });
    });
  });
}

const outcomes = await Promise.all(Array.from({ length: Number(n) }, one));
process.stdout.write(JSON.stringify(outcomes) + '\n');
