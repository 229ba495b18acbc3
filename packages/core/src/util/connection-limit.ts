// Bounds the connections a server keeps open, whatever the server: the sidecar's data and admin
// ports, the operator's webhook port (which any pod can reach). Each open connection costs memory
// even when idle, and a server's own limits count requests, not connections. Past the limit the
// connection that has waited longest without a request in it (kept alive after its last answer,
// or opened and not yet used) is closed, as a keep-alive timeout would have closed it; clients
// open a new one. When every connection is in a request, the new one is closed before anything is
// read. (Structural types: the core does not import node:net or node:http.)

/** What the limit needs of a connection (a net.Socket or tls.TLSSocket is one). */
export interface Connection {
  readonly destroyed: boolean;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** What limitConnections needs of a server (node:http's and node:https's are one). */
export interface ConnectionServer<C extends Connection> {
  on(event: 'connection' | 'secureConnection', listener: (s: C) => void): unknown;
  prependListener(
    event: 'request',
    listener: (req: { socket: C }, res: { once(event: 'close', listener: () => void): unknown }) => void,
  ): unknown;
}

/**
 * Bounds `server`'s connections: each counted as it opens (`on`: 'connection', or 'secureConnection'
 * to count TLS connections once their handshake is done), and busy from a request's start until
 * its response closes. `onClosed` is told when the limit closed one.
 */
export function limitConnections<C extends Connection>(
  server: ConnectionServer<C>,
  max: number,
  opts: { on?: 'connection' | 'secureConnection'; onClosed?: () => void } = {},
): ConnectionLimit<C> {
  const limit = new ConnectionLimit<C>(max);
  server.on(opts.on ?? 'connection', (s: C) => {
    const closed = limit.closed;
    limit.opened(s);
    if (limit.closed > closed) opts.onClosed?.();
  });
  server.prependListener('request', (req, res) => {
    const s = req.socket;
    limit.busy(s);
    res.once('close', () => limit.free(s));
  });
  return limit;
}

export class ConnectionLimit<C extends Connection = Connection> {
  readonly max: number;
  #open = 0;
  /** Connections without a request in them, the one waiting longest first (a Set keeps insertion order). */
  readonly #waiting = new Set<C>();
  /** Requests in progress on each open connection (more than one when a client pipelines). */
  readonly #requests = new Map<C, number>();
  #closed = 0;

  constructor(max: number) {
    this.max = max;
  }

  get open(): number {
    return this.#open;
  }

  /** Connections the limit keeps a count of requests for: the open ones, no more (none is kept after it closed). */
  get tracked(): number {
    return this.#requests.size;
  }

  /** Connections this limit has closed so far. */
  get closed(): number {
    return this.#closed;
  }

  /** A new connection; false when it was closed at once (every other one is in a request). */
  opened(s: C): boolean {
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
  busy(s: C): void {
    const n = this.#requests.get(s);
    if (n === undefined) return;
    this.#requests.set(s, n + 1);
    this.#waiting.delete(s);
  }

  /** A request on `s` is over; with none left, the connection waits for the next one (newest in line). */
  free(s: C): void {
    const n = this.#requests.get(s);
    if (n === undefined) return;
    this.#requests.set(s, n - 1);
    if (n === 1) this.#waiting.add(s);
  }
}
