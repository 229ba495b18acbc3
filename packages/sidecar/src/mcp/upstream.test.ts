import { Agent, createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callUpstream } from './upstream.ts';

test('the MCP server gets the JSON-RPC body as JSON and the transport headers, whatever content type the caller named', async () => {
  const seen: { method?: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const agent = new Agent();
  try {
    // A JSON-RPC message that, read as a form, would name _method.
    const body = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":"&_method=DELETE"}}');
    const res = await callUpstream({
      target: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`),
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 's-1',
        cookie: 'a=b',
        authorization: 'Bearer caller-token',
        'x-http-method-override': 'DELETE',
      },
      body,
      agent,
      timeoutMs: 5000,
    });
    res.resume();
    await new Promise((r) => res.on('end', r));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.body).toBe(body.toString());
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(seen[0]!.headers['mcp-session-id']).toBe('s-1');
    expect(seen[0]!.headers.accept).toBe('application/json, text/event-stream');
    for (const h of ['cookie', 'authorization', 'x-http-method-override']) expect(seen[0]!.headers[h]).toBeUndefined();
  } finally {
    agent.destroy();
    server.close();
  }
});

/** What callUpstream does for one tools/list to a server that acts as `serve`. */
async function callServedBy(serve: Parameters<typeof createServer>[1]): Promise<unknown> {
  const server = createServer(serve);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const agent = new Agent();
  try {
    return await callUpstream({
      target: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`),
      method: 'POST',
      headers: {},
      body: Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list"}'),
      agent,
      timeoutMs: 2000,
    });
  } finally {
    agent.destroy();
    server.closeAllConnections();
    server.close();
  }
}

test('an MCP server that answers 101 Switching Protocols: the call fails naming it (before: it waited for ever, the timeout went with the socket)', async () => {
  const call = callServedBy(
    (_req, res) => void res.socket?.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n'),
  );
  await expect(call).rejects.toMatchObject({ message: expect.stringContaining('101 Switching Protocols'), timeout: false });
});

test.each([600, 799, 999])(
  'an MCP server that answers status %i: the call fails naming it (before: the status reached the caller as sent)',
  async (status) => {
    const call = callServedBy(
      (_req, res) => void res.socket?.end(`HTTP/1.1 ${status} Odd\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`),
    );
    await expect(call).rejects.toMatchObject({
      message: expect.stringContaining(`status ${status}, which HTTP does not define`),
      timeout: false,
    });
  },
);
