import { PassThrough, Writable } from 'node:stream';
import { StdoutSink } from './stdout-sink.ts';

describe('StdoutSink', () => {
  test('writes one line per record and waits for the stream to drain (backpressure)', async () => {
    const out = new PassThrough({ highWaterMark: 8 });
    const sink = new StdoutSink(out);
    let done = false;
    const w = sink.write(['{"seq":1}', '{"seq":2}']).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false); // nobody reads: the write is held back
    const text: string[] = [];
    out.on('data', (c: Buffer) => text.push(c.toString()));
    await w;
    expect(text.join('')).toBe('{"seq":1}\n{"seq":2}\n');
    expect(out.listenerCount('error')).toBe(0);
    expect(out.listenerCount('drain')).toBe(0);
  });
  test('a stream error fails the write', async () => {
    const broken = new Writable({ write: (_c, _e, cb) => cb(new Error('EPIPE')) });
    await expect(new StdoutSink(broken).write(['x'])).rejects.toThrow('EPIPE');
  });
  test('defaults to process.stdout', () => {
    expect(new StdoutSink().name).toBe('stdout');
  });
});
