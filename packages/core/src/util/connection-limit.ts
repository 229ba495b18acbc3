// Bounds the connections a server keeps open, whatever the server: the sidecar's data and admin
// ports, the operator's webhook port (which any pod can reach). Each open connection costs memory
// even when idle, and a server's own limits count requests, not connections. Past the limit the
// connection that has waited longest without a request in it (kept alive after its last answer,
// or opened and not yet used) is closed, as a keep-alive timeout would have closed it; clients
// open a new one. When every connection is in a request, the new one is closed before anything is
// read. (Structural types: the core does not import node:net or node:http.)
//
// A burst opens its connections all at once: the server accepts a batch of them before it reads
// the first request, so each one past the limit would close one opened a moment earlier whose
// request was already waiting to be read (2,000 at once against the sidecar's 1,024: ~1,000 closed
// without an answer). With `freshGraceMs`, a connection not yet used is not closed for room until
// it has been open that long; with `overflow`, up to that many more connections are kept instead,
// marked *over*: the server answers their first request "too busy, retry" and closes them.
// Past that, up to `unread` more are handed to `answerUnread`: the server answers "too busy" at
// once, before reading anything, and closes them soon (a burst larger still gets answers, not
// resets). Past all of it a new connection is closed at once: the bound on memory stays.

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
  opts: { on?: 'connection' | 'secureConnection'; onClosed?: () => void } & OverflowOptions<C> = {},
): ConnectionLimit<C> {
  const limit = new ConnectionLimit<C>(max, opts);
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

export interface OverflowOptions<C extends Connection = Connection> {
  /** Connections kept past `max` (marked over) when none can be closed for room; past `max + overflow` a new one is closed (or handed to `answerUnread`). Default 0. */
  overflow?: number;
  /** A connection not yet used is not closed for room until it has been open this long. Default 0. */
  freshGraceMs?: number;
  /**
   * Past `max + overflow`, up to `unread` connections open at once are handed here instead of
   * being closed at once: the server answers each without reading it and closes it soon (open,
   * and counted, until then). Default: none, every one is closed at once.
   */
  answerUnread?: (s: C) => void;
  /** Most connections handed to `answerUnread` and not yet closed. Default 0. */
  unread?: number;
  /** The clock (tests). */
  now?: () => number;
}

export class ConnectionLimit<C extends Connection = Connection> {
  readonly max: number;
  readonly overflow: number;
  readonly #freshGraceMs: number;
  readonly #now: () => number;
  readonly #answerUnread: ((s: C) => void) | undefined;
  readonly #unreadMax: number;
  #open = 0;
  /**
   * Connections without a request in them, the one waiting longest first (a Map keeps insertion
   * order), each with the time from which it may be closed for room: a connection not used yet
   * after the grace, one kept alive after its answer at once (0).
   */
  readonly #waiting = new Map<C, number>();
  /** Requests in progress on each open connection (more than one when a client pipelines). */
  readonly #requests = new Map<C, number>();
  /** Connections kept past `max`: the server answers their first request "too busy" and closes them. */
  readonly #over = new Set<C>();
  /** Connections handed to `answerUnread`, not closed yet: not waiting for a request, never closed for room. */
  readonly #unread = new Set<C>();
  #closed = 0;
  #overTotal = 0;
  #unreadTotal = 0;

  constructor(max: number, opts: OverflowOptions<C> = {}) {
    this.max = max;
    this.overflow = opts.overflow ?? 0;
    this.#freshGraceMs = opts.freshGraceMs ?? 0;
    this.#now = opts.now ?? Date.now;
    this.#answerUnread = opts.answerUnread;
    this.#unreadMax = opts.answerUnread ? (opts.unread ?? 0) : 0;
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

  /** Connections kept past `max` so far (each answered "too busy" by the server). */
  get overTotal(): number {
    return this.#overTotal;
  }

  /** Connections handed to `answerUnread` so far (past `max + overflow`). */
  get unreadTotal(): number {
    return this.#unreadTotal;
  }

  /** Whether `s` was kept past `max`: its server answers its request "too busy, retry" and closes it. */
  isOver(s: C): boolean {
    return this.#over.has(s);
  }

  /** A new connection; false when it was closed at once or handed to `answerUnread` (every other one is in a request, or too new to close). */
  opened(s: C): boolean {
    const now = this.#now();
    this.#open++;
    this.#requests.set(s, 0);
    s.once('close', () => {
      this.#open--;
      this.#waiting.delete(s);
      this.#requests.delete(s);
      this.#over.delete(s);
      this.#unread.delete(s);
    });
    if (this.#open > this.max && !this.#closeOneForRoom(now)) {
      if (this.#open > this.max + this.overflow) {
        if (this.#unread.size < this.#unreadMax) {
          this.#unreadTotal++;
          this.#unread.add(s);
          this.#answerUnread!(s);
        } else {
          this.#closed++;
          s.destroy();
        }
        return false;
      }
      this.#over.add(s);
      this.#overTotal++;
      return true;
    }
    this.#waiting.set(s, now + this.#freshGraceMs);
    return true;
  }

  /** Closes the connection waiting longest, unless it is not used yet and younger than the grace; false when none was closed. */
  #closeOneForRoom(now: number): boolean {
    const oldest = this.#waiting.entries().next();
    if (oldest.done) return false;
    const [s, closableFrom] = oldest.value;
    if (now < closableFrom) return false;
    this.#waiting.delete(s);
    this.#closed++;
    s.destroy();
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
    // (an over connection is closed after its answer, an unread one after its early answer:
    // neither waits for another request)
    if (n === 1 && !this.#over.has(s) && !this.#unread.has(s)) this.#waiting.set(s, 0);
  }
}
