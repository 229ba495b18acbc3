// A stand-in for the Anthropic Messages API that speaks its real wire format (JSON, SSE,
// errors, usage). It is the only fake part of the system: the real API cannot be reached from
// CI. The reply text is the last user message ("echo"), so tests and the demo can make the
// model "say" sensitive data; a few magic prefixes in that message trigger failure modes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createBrotliCompress, createGzip, createZstdCompress, type BrotliCompress, type Gzip, type ZstdCompress } from 'node:zlib';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface StubOptions {
  /** The key the stub accepts in x-api-key; anything else gets a 401 as the real API would. */
  apiKey: string;
  port?: number;
  /** Delay between SSE events, ms. */
  eventDelayMs?: number;
  /** Keep the last N requests for assertions (0 keeps none, for benchmarks). */
  keep?: number;
  /** Compress responses with this encoding whatever the client asked (an upstream that ignores accept-encoding). */
  forceEncoding?: 'gzip' | 'br' | 'zstd';
}

type Compressor = Gzip | BrotliCompress | ZstdCompress;

function compressor(encoding: 'gzip' | 'br' | 'zstd'): Compressor {
  return encoding === 'gzip' ? createGzip() : encoding === 'br' ? createBrotliCompress() : createZstdCompress();
}

export const STUB_MODELS = [
  'claude-opus-4-1',
  'claude-opus-4-5',
  'claude-sonnet-4-5',
  'claude-sonnet-4-6',
  'claude-sonnet-4-0',
  'claude-haiku-4-5',
  'claude-3-5-haiku-latest',
];

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;

function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      const texts = (m.content as { type?: string; text?: string }[])
        .filter((b) => b.type === 'text' && typeof b.text === 'string')
        .map((b) => b.text!);
      if (texts.length) return texts[texts.length - 1]!;
    }
  }
  return 'Hello from the scopekeeper stand-in.';
}

/** The text of the tool results the last user message carries (the turn after a tool_use), if it carries any. */
function lastToolResults(body: Record<string, unknown>): string | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  const last = messages[messages.length - 1];
  if (last?.role !== 'user' || !Array.isArray(last.content)) return undefined;
  const results = (last.content as { type?: string; content?: unknown; is_error?: boolean }[]).filter((b) => b.type === 'tool_result');
  if (results.length === 0) return undefined;
  const text = (c: unknown): string =>
    typeof c === 'string'
      ? c
      : Array.isArray(c)
        ? (c as { type?: string; text?: string }[]).map((b) => (b.type === 'text' ? (b.text ?? '') : '')).join('')
        : '';
  return results.map((r) => `${r.is_error ? 'error: ' : ''}${text(r.content)}`).join('\n');
}

function apiError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ type: 'error', error: { type, message }, request_id: id('req') });
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req'), 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Splits text into small deltas, as the real API streams a few tokens at a time. */
function deltas(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 7) out.push(text.slice(i, i + 7));
  return out.length ? out : [''];
}

export class AnthropicStub {
  readonly received: ReceivedRequest[] = [];
  /** Awaited before each Messages answer: a test changes the world between the request and the model's answer. */
  beforeAnswer: ((body: Record<string, unknown>) => Promise<void>) | undefined;
  /** Every request ever received (received keeps only the last `keep`). */
  total = 0;
  private server: Server | undefined;
  private readonly opts: StubOptions & Required<Pick<StubOptions, 'port' | 'eventDelayMs' | 'keep'>>;

  constructor(opts: StubOptions) {
    this.opts = { port: 0, eventDelayMs: 0, keep: 1000, ...opts };
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(this.opts.port, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.total++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (this.opts.keep > 0) {
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (this.received.length > this.opts.keep) this.received.shift();
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'HEAD' && path === '/') return void res.writeHead(200).end();
    if (req.headers['x-api-key'] !== this.opts.apiKey) {
      return apiError(res, 401, 'authentication_error', 'invalid x-api-key');
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const data = STUB_MODELS.map((m) => ({ type: 'model', id: m, display_name: m, created_at: '2026-01-01T00:00:00Z' }));
      const json = JSON.stringify({ data, has_more: false, first_id: data[0]!.id, last_id: data[data.length - 1]!.id });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      return void res.end(json);
    }
    if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) {
      return apiError(res, 404, 'not_found_error', `Not found: ${req.method} ${path}`);
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return apiError(res, 400, 'invalid_request_error', 'Request body is not valid JSON');
    }
    if (path === '/v1/messages/count_tokens') {
      const json = JSON.stringify({ input_tokens: Math.max(1, Math.ceil(body.length / 4)) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      return void res.end(json);
    }
    const model = String(parsed.model ?? '');
    if (!STUB_MODELS.includes(model) && !model.startsWith('claude-')) {
      return apiError(res, 404, 'not_found_error', `model: ${model}`);
    }
    await this.beforeAnswer?.(parsed);
    // After a tool_use the model reports what the tool returned (so a test sees what reached the model).
    const results = lastToolResults(parsed);
    const prompt = results !== undefined ? `Tool result: ${results}` : lastUserText(parsed);
    const magic = /^STUB:(\w+)(?::(\d+))?/.exec(prompt);
    if (magic?.[1] === 'error')
      return apiError(res, Number(magic[2] ?? 529), Number(magic[2]) === 529 || !magic[2] ? 'overloaded_error' : 'api_error', 'Overloaded');
    if (magic?.[1] === 'slow') await new Promise((r) => setTimeout(r, Number(magic[2] ?? 1000)));
    const text = prompt.startsWith('STUB:') ? prompt.replace(/^STUB:\w+(?::\d+)?\s*/, '') : prompt;
    const usage = {
      input_tokens: Math.max(1, Math.ceil(body.length / 4)),
      output_tokens: Math.max(1, Math.ceil(text.length / 4)),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    const thinking = (parsed.thinking as { type?: string } | undefined)?.type === 'enabled';
    const blocks: Record<string, unknown>[] = [];
    if (thinking)
      blocks.push({ type: 'thinking', thinking: 'Considering the request.', signature: 'c2lnbmF0dXJlLW9mLXRoZS10aGlua2luZy1ibG9jaw==' });
    // `STUB:tool_use:<name> {json input}` makes the model invoke that tool (the turn then ends with stop_reason tool_use).
    const toolUse = /^STUB:tool_use:([\w.-]+)\s*(\{.*\})?/s.exec(prompt);
    blocks.push({ type: 'text', text: toolUse ? `I will use ${toolUse[1]}.` : text });
    if (toolUse)
      blocks.push({ type: 'tool_use', id: id('toolu'), name: toolUse[1], input: toolUse[2] ? (JSON.parse(toolUse[2]) as unknown) : {} });
    if (parsed.stream === true) return this.stream(res, model, blocks, usage, magic?.[1]);
    const stopReason = toolUse ? 'tool_use' : 'end_turn';
    const json = JSON.stringify({
      id: id('msg'),
      type: 'message',
      role: 'assistant',
      model,
      content: blocks,
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    });
    const enc = this.opts.forceEncoding;
    if (enc) {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': id('req'), 'content-encoding': enc });
      const z = compressor(enc);
      z.pipe(res);
      return void z.end(json);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': id('req'), 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }

  private async stream(
    res: ServerResponse,
    model: string,
    blocks: Record<string, unknown>[],
    usage: Record<string, number>,
    magic: string | undefined,
  ): Promise<void> {
    const enc = this.opts.forceEncoding;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': id('req'),
      ...(enc ? { 'content-encoding': enc } : {}),
    });
    const z = enc ? compressor(enc) : undefined;
    z?.pipe(res);
    const out = z ?? res;
    const delay = this.opts.eventDelayMs;
    const send = async (event: string, data: unknown) => {
      out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      // A compressing upstream still flushes per event, or streaming would stall.
      if (z) await new Promise<void>((r) => z.flush(() => r()));
      if (delay) await new Promise((r) => setTimeout(r, delay));
    };
    await send('message_start', {
      type: 'message_start',
      message: {
        id: id('msg'),
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    });
    await send('ping', { type: 'ping' });
    for (const [index, block] of blocks.entries()) {
      if (block.type === 'thinking') {
        await send('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        });
        await send('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'thinking_delta', thinking: block.thinking },
        });
        await send('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'signature_delta', signature: block.signature },
        });
      } else if (block.type === 'tool_use') {
        await send('content_block_start', { type: 'content_block_start', index, content_block: { ...block, input: {} } });
        await send('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
        });
      } else {
        await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        for (const [i, piece] of deltas(String(block.text)).entries()) {
          if (magic === 'reset' && i === 2) return void setTimeout(() => res.destroy(), 50); // after the events so far reach the client
          if (magic === 'overload' && i === 2)
            return void (await send('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), out.end());
          await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
        }
      }
      await send('content_block_stop', { type: 'content_block_stop', index });
    }
    const stopReason = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
    await send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    await send('message_stop', { type: 'message_stop' });
    out.end();
  }
}
