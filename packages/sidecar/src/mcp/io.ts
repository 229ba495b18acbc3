// What the MCP exchange writes back: the governed answer, the transport's answer headers, our
// own JSON-RPC errors, and an event stream relayed through the governing relay.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpAnswer, SseBlockTooLargeError, type McpCall } from '@scopekeeper/core';
import { RETURNED } from './upstream.ts';
import type { McpExchange } from './exchange.ts';

const JSON_TYPE = { 'content-type': 'application/json' };

export function answerFor(x: McpExchange): McpAnswer {
  const allowed = (call: McpCall) => x.decideCall(call).effect !== 'deny';
  return new McpAnswer({
    masking: x.masking,
    maskFields: x.maskFields,
    keepTool: (tool) => allowed({ kind: 'tool', method: 'tools/call', tool }),
    keepResource: (uri) => allowed({ kind: 'resource', method: 'resources/read', uri }),
    keepPrompt: (prompt) => allowed({ kind: 'prompt', method: 'prompts/get', prompt }),
  });
}

/**
 * Relays an event stream through the governing relay; resolves with why it ended early, if it did.
 * The event still arriving is held in the body budget (`hold`); when the relay cannot go on (an
 * event too large, no room), the server's stream is closed and `lastWords` says so to the caller.
 */
export function pump(
  source: NodeJS.ReadableStream,
  upstream: IncomingMessage,
  res: ServerResponse,
  relay: ReturnType<McpAnswer['stream']>,
  opts: { hold: (size: number) => void; lastWords?: (why: string) => Buffer },
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const end = (error?: string, last?: Buffer) => {
      if (done) return;
      done = true;
      res.end(last);
      resolve(error);
    };
    source.on('data', (chunk: Buffer) => {
      if (done) return;
      let out: Buffer;
      // A throw here would reach the process: it ends this stream instead.
      try {
        out = relay.push(chunk);
        opts.hold(relay.pendingBytes);
      } catch (e) {
        upstream.destroy();
        const why = e instanceof SseBlockTooLargeError ? `the MCP server sent ${e.message}` : (e as Error).message;
        return end(why, opts.lastWords?.(why));
      }
      if (out.length && !res.write(out)) {
        source.pause();
        res.once('drain', () => source.resume());
      }
    });
    source.once('end', () => {
      relay.end();
      end();
    });
    source.once('error', (e: Error) => end(`stream interrupted: ${e.message}`));
    upstream.once('close', () => {
      if (!upstream.complete) end('the MCP server closed the stream');
    });
    res.once('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        end('the client closed the connection');
      }
    });
  });
}

export function answerHeaders(x: McpExchange, upstream: IncomingMessage): Record<string, string> {
  const h: Record<string, string> = { ...x.headers };
  for (const k of RETURNED) {
    const v = upstream.headers[k];
    if (typeof v === 'string') h[k] = v;
  }
  return h;
}

export function reply(x: McpExchange, status: number, body?: unknown, headers: Record<string, string> = x.headers): void {
  if (x.res.headersSent) return void x.res.destroy();
  if (body === undefined) return void x.res.writeHead(status, headers).end();
  const text = JSON.stringify(body);
  x.res.writeHead(status, { ...headers, ...JSON_TYPE, 'content-length': Buffer.byteLength(text) }).end(text);
}
