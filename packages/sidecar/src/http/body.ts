// Reads a request body into one Buffer, refusing more than the limit without reading it all.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export class BodyTooLargeError extends Error {}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(`${declared} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(`over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
    req.once('aborted', () => reject(new Error('client aborted the request')));
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
