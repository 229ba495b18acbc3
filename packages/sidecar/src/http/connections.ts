// Bounds the connections the data port keeps open. A connection costs the sidecar ~13 KB even
// when idle (9,000 keep-alive connections that had each sent one request: +115 MB of RSS; 18,000
// took the compiled sidecar to 273 MB, past its container's 256Mi, where the kernel kills it with
// every request in it), and the concurrency gate only counts requests. Past the limit the
// connection that has waited longest without a request in it (kept alive after its last answer,
// or opened and not yet used) is closed, as keepAliveTimeout would have closed it; clients open a
// new one. When every connection is in a request, the new one is closed before anything is read.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The default of --max-connections: above --max-concurrent + --max-queued (768), ~20 MB of connections at most. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

/**
 * The admin port's limit. It is the port other pods reach (kubelet probes, Prometheus), so a flood
 * of connections there needs no token: 18,000 took the sidecar to 254 MB.
 */
export const ADMIN_MAX_CONNECTIONS = 64;

/** Bounds `server`'s connections: each counted, and busy from its request's start until the response closes. */
export function limitConnections(server: Server, max: number, onClosed: () => void = () => undefined): ConnectionLimit {
  const limit = new ConnectionLimit(max);
  server.on('connection', (s: Socket) => {
    const closed = limit.closed;
    limit.opened(s);
    if (limit.closed > closed) onClosed();
  });
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const s = req.socket;
    limit.busy(s);
    res.once('close', () => limit.free(s));
  });
  return limit;
}

export class ConnectionLimit {
  readonly max: number;
  #open = 0;
  /** Connections without a request in them, the one waiting longest first (a Set keeps insertion order). */
  readonly #waiting = new Set<Socket>();
  /** Requests in progress on each open connection (more than one when a client pipelines). */
  readonly #requests = new Map<Socket, number>();
  #closed = 0;

  constructor(max: number) {
    this.max = max;
  }

  get open(): number {
    return this.#open;
  }

  /** Connections this limit has closed so far. */
  get closed(): number {
    return this.#closed;
  }

  /** A new connection; false when it was closed at once (every other one is in a request). */
  opened(s: Socket): boolean {
    this.#open++;
    this.#requests.set(s, 0);
    s.once('close', () => {
      this.#open--;
      this.#waiting.delete(s);
      this.#requests.delete(s);
    });
    if (this.#open > this.max) {
      const oldest = this.#waiting.values().next();
      if (oldest.done) {
        this.#closed++;
        s.destroy();
        return false;
      }
      this.#waiting.delete(oldest.value);
      this.#closed++;
      oldest.value.destroy();
    }
    this.#waiting.add(s);
    return true;
  }

  /** A request began on `s`: it is not closed for room while it lasts. */
  busy(s: Socket): void {
    const n = this.#requests.get(s);
    if (n === undefined) return;
    this.#requests.set(s, n + 1);
    this.#waiting.delete(s);
  }

  /** A request on `s` is over; with none left, the connection waits for the next one (newest in line). */
  free(s: Socket): void {
    const n = this.#requests.get(s);
    if (n === undefined) return;
    this.#requests.set(s, n - 1);
    if (n === 1) this.#waiting.add(s);
  }
}
