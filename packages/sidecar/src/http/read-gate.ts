// Feeds node's HTTP parser each data-port connection's bytes a slice at a time, and only while
// the requests read and not yet answered stay within bounds: MAX_PIPELINED per connection and
// `maxOpen` in all. Node's parser hands on every request of a read at once (up to 64 KB, ~1,700
// pipelined requests without a body), whatever is still unanswered before them, and keeps each
// one's request and response objects (~3 KB) until its connection closes, whatever the sidecar
// does with it. 600 connections that each pipelined 64 KB of requests and read no answer took the
// compiled sidecar past its heap bound (bench/pipelining.ts; 150 in one probe), and its requests in
// flight and their queued audit records went with it. Held back, such a flood waits as bytes: in the kernel's
// buffers, and for a read already taken, as the bytes left of it.
//
// A connection's bytes go to node's own 'data' listener (socketOnData), so node parses exactly
// what it would have; only when it gets them changes. (Node reads a socket it parses in C++; a
// 'data' listener of ours makes it read in JavaScript instead, which is what lets the bytes wait.)
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Most requests one connection may have read and not yet answered before its next slice is given
 * to node (no SDK pipelines); a slice already given may start more (at most ~100 without a body).
 */
export const MAX_PIPELINED = 16;

/**
 * The first slice of a read: a whole ordinary request, and ~100 bodiless ones at most. A slice in
 * which no request starts doubles the next one (a body streams on in 64 KB slices); one in which a
 * request starts resets it.
 */
const FIRST_SLICE = 4 * 1024;
const LAST_SLICE = 64 * 1024;

type Listener = (...args: unknown[]) => void;

/** Node's own state (_http_server.js): `_paused` when its answers are not being read; the request being parsed. */
interface NodeHttpSocket {
  _paused?: boolean;
  parser?: { incoming?: IncomingMessage | null } | null;
}

/**
 * Whether node wants the connection paused itself: its answers are not being read, or the body
 * being parsed is not being read (node pauses the socket, and resumes it once it is).
 */
function nodeWantsPaused(s: Socket): boolean {
  const n = s as NodeHttpSocket;
  const body = n.parser?.incoming;
  return n._paused === true || (body != null && !body.complete && body.readableLength >= body.readableHighWaterMark);
}

class Feeder {
  pending = 0;
  /** Requests that started on this connection (a slice that starts one is kept short). */
  started = 0;
  held: Buffer | undefined;
  /** The caller ended its side while bytes were held: node hears of it once they are parsed. */
  endHeld = false;
  waiting = false;
  /** The socket was paused here (hold), not by node. */
  private pausedHere = false;
  private slice = FIRST_SLICE;
  private readonly gate: ReadGate;
  readonly socket: Socket;
  private readonly parse: Listener;
  private readonly end: Listener[];

  constructor(gate: ReadGate, socket: Socket, parse: Listener, end: Listener[]) {
    this.gate = gate;
    this.socket = socket;
    this.parse = parse;
    this.end = end;
  }

  push(chunk: Buffer): void {
    this.held = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.run();
  }

  ended(): void {
    this.endHeld = true;
    this.run();
  }

  /** Feeds what is held while the bounds allow; holds the rest (the socket paused) otherwise. */
  run(): void {
    const s = this.socket;
    while (this.held !== undefined) {
      if (s.destroyed) {
        this.held = undefined;
        return;
      }
      if ((s as NodeHttpSocket)._paused || !this.gate.mayRead(this)) return this.hold();
      const b = this.held;
      const n = Math.min(b.length, this.slice);
      this.held = n < b.length ? b.subarray(n) : undefined;
      const started = this.started;
      this.parse(b.subarray(0, n));
      this.slice = this.started === started ? Math.min(LAST_SLICE, this.slice * 2) : FIRST_SLICE;
    }
    if (this.waiting) this.gate.unwait(this);
    // Resumed only if paused here: node pauses a connection whose answers or body are not being
    // read, and resumes it itself (then 'resume' brings what is held here).
    if (this.pausedHere) {
      this.pausedHere = false;
      if (!nodeWantsPaused(s)) s.resume();
    }
    if (this.endHeld && !s.destroyed) {
      this.endHeld = false;
      for (const l of this.end) l.call(s);
    }
  }

  private hold(): void {
    // What is left of a read keeps its whole 64 KB buffer alive: keep a copy instead.
    const b = this.held!;
    if (b.byteOffset !== 0 || b.buffer.byteLength !== b.length) this.held = Buffer.from(b);
    if (!this.socket.isPaused()) {
      this.socket.pause();
      this.pausedHere = true;
    }
    this.gate.wait(this);
  }
}

export class ReadGate {
  private open = 0;
  /** Connections holding bytes, in the order they began to wait. */
  private readonly waiting = new Set<Feeder>();
  private readonly feeders = new Map<Socket, Feeder>();
  private wakeScheduled = false;

  /** Requests read and not yet answered, on all connections together. */
  readonly maxOpen: number;

  constructor(maxOpen: number) {
    this.maxOpen = maxOpen;
  }

  /**
   * Takes over when `socket`'s bytes reach node's parser: call it from the server's 'connection'
   * event (node's own listeners are in place by then). False, and node reads the socket as
   * before, when node's listeners are not the ones expected (another node version).
   */
  attach(socket: Socket): boolean {
    const data = socket.listeners('data') as Listener[];
    const end = socket.listeners('end') as Listener[];
    if (data.length !== 1) return false;
    for (const l of end) socket.removeListener('end', l);
    socket.removeListener('data', data[0]!);
    const f = new Feeder(this, socket, data[0]!.bind(socket), end);
    this.feeders.set(socket, f);
    socket.on('data', (chunk: Buffer) => f.push(chunk));
    socket.on('end', () => f.ended());
    // Node resuming a connection it paused: what was held for it goes on.
    socket.on('resume', () => {
      if (f.held !== undefined) f.run();
    });
    socket.once('close', () => {
      this.feeders.delete(socket);
      this.unwait(f);
      this.open -= f.pending;
      f.pending = 0;
      this.wake();
    });
    return true;
  }

  /** A request was read on `socket` (the server's 'request' event). */
  opened(socket: Socket): void {
    const f = this.feeders.get(socket);
    if (!f) return;
    f.pending++;
    f.started++;
    this.open++;
  }

  /** Its response closed. */
  closed(socket: Socket): void {
    const f = this.feeders.get(socket);
    if (!f || f.pending === 0) return;
    f.pending--;
    this.open--;
    this.wake();
  }

  mayRead(f: Feeder): boolean {
    return f.pending < MAX_PIPELINED && this.open < this.maxOpen;
  }

  wait(f: Feeder): void {
    if (f.waiting) return;
    f.waiting = true;
    this.waiting.add(f);
  }

  unwait(f: Feeder): void {
    f.waiting = false;
    this.waiting.delete(f);
  }

  /** Lets waiting connections go on, oldest first, once the answers that freed room have gone (never inside node's parser). */
  private wake(): void {
    if (this.wakeScheduled || this.waiting.size === 0) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const f of this.waiting) {
        if (this.open >= this.maxOpen) break;
        if (f.pending < MAX_PIPELINED) f.run();
      }
    });
  }
}
