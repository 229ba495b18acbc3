// Reads a request body into one Buffer, refusing more than the limit without reading it all, and
// a body that does not finish arriving in time (a stalled sender would hold its concurrency slot
// for as long as it keeps the connection open).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { BodyLease } from './body-budget.ts';

/** The default of SidecarOptions.bodyTimeoutMs. */
export const BODY_TIMEOUT_MS = 30_000;

/**
 * The request's content-encoding when its body is not sent as is (anything but absent, empty or
 * `identity`), lower-cased and cut to 40 characters; undefined when it is. A body the sidecar
 * decides on is read as sent: a server that inflates it would read another body.
 */
export function compressedAs(contentEncoding: string | undefined): string | undefined {
  if (contentEncoding === undefined) return undefined; // every request of the SDKs
  const value = contentEncoding.trim().toLowerCase();
  return value.split(',').every((c) => c.trim() === '' || c.trim() === 'identity') ? undefined : value.slice(0, 40);
}

export class BodyTooLargeError extends Error {}

/** The message says how much of the body came: `12 of 100 bytes`. */
export class BodyTimeoutError extends Error {}

/**
 * The body, whole. With a lease, its bytes are taken from the body budget as they arrive; on
 * success the caller holds them until it releases the lease, on failure they are given back here.
 * A body that does not fit is read to its end and dropped, then refused (BodyBudgetError): it is
 * within the limit, and a caller still sending it would otherwise see its connection cut instead
 * of the answer that tells it to retry.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs = BODY_TIMEOUT_MS, lease?: BodyLease): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(`${declared} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let noRoom: Error | undefined;
    const stop = (e: Error) => {
      lease?.release();
      clearTimeout(timer);
      req.removeAllListeners('data');
      req.resume();
      reject(e);
    };
    const timer = setTimeout(() => {
      const of = Number.isFinite(declared) ? ` of ${declared}` : '';
      stop(new BodyTimeoutError(`${size}${of} bytes`));
    }, timeoutMs);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) return stop(new BodyTooLargeError(`over ${limit} bytes`));
      if (noRoom) return;
      try {
        lease?.take(c.length);
      } catch (e) {
        noRoom = e as Error;
        lease?.release();
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => {
      clearTimeout(timer);
      if (noRoom) reject(noRoom);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once('error', stop);
    req.once('aborted', () => stop(new Error('client aborted the request')));
  });
}

/**
 * After refusing a body that is still arriving: closing a socket with unread bytes makes the
 * kernel send a reset, which can discard the refusal before the caller reads it. Half-close,
 * let the parser drop what still arrives, and close for good after `ms` (or when the caller does).
 */
export function lingerOnClose(socket: Socket, ms = 2000): void {
  socket.destroySoon = function (this: Socket) {
    this.end();
    const t = setTimeout(() => this.destroy(), ms);
    t.unref();
    this.once('close', () => clearTimeout(t));
  };
}
