// The Portkey AI gateway (@portkey-ai/gateway, a TypeScript gateway on Node), as installed in
// node_modules, forwarding Anthropic /v1/messages to the upstream stand-in: the TypeScript peer
// of DESIGN.md §9. It is told the provider and the upstream per request, by headers.
//
// It runs on the hono packages its own lockfile pins (package.json `overrides`: @hono/node-server
// 1.13.5, hono 4.9.7, @hono/node-ws 1.2.0), as its Docker image installs them. With the newest
// @hono/node-server that npm would pick, every streamed answer is a 500 ("Something went wrong";
// Portkey-AI/gateway#1389: it appends its headers to a Response whose headers are immutable).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NODE } from './scopekeeper.ts';
import { startPinned, waitFor, type Started } from './proc.ts';

const require = createRequire(import.meta.url);

export function portkeyVersion(): string {
  return (require('@portkey-ai/gateway/package.json') as { version: string }).version;
}

/** The headers that make Portkey forward to `upstream` as Anthropic with `key` (and pass our SSE switch on). */
export function portkeyHeaders(upstream: string, key: string): Record<string, string> {
  return {
    'x-portkey-provider': 'anthropic',
    'x-portkey-custom-host': `${upstream}/v1`,
    'x-api-key': key,
    'x-portkey-forward-headers': 'x-bench-stream',
  };
}

export async function startPortkey(core: number | undefined, dir: string, port: number): Promise<Started> {
  const main = join(dirname(require.resolve('@portkey-ai/gateway/package.json')), 'build', 'start-server.js');
  const proc = startPinned('portkey', core, [NODE, main, `--port=${port}`, '--headless'], { log: join(dir, 'portkey.log') });
  await waitFor('portkey', async () => (await fetch(`http://127.0.0.1:${port}/`)).status > 0, 30_000);
  return proc;
}
