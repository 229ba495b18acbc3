// Audit lines to standard output (or any writable stream), honouring backpressure.
import type { AuditSink } from './sink.ts';

export class StdoutSink implements AuditSink {
  readonly name: string;
  readonly #stream: NodeJS.WritableStream;

  constructor(stream: NodeJS.WritableStream = process.stdout, name = 'stdout') {
    this.#stream = stream;
    this.name = name;
  }

  write(lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    const stream = this.#stream;
    const chunk = lines.join('\n') + '\n';
    return new Promise<void>((resolve, reject) => {
      let written = false;
      let drained = true;
      let done = false;
      const finish = (err?: Error | null) => {
        if (done) return;
        if (err) {
          done = true;
          // The stream emits 'error' on the next tick after the callback: keep listening until then,
          // so the error is this write's failure and not an unhandled 'error' event.
          setImmediate(cleanup);
          reject(err);
        } else if (written && drained) {
          done = true;
          cleanup();
          resolve();
        }
      };
      const onError = (err: Error) => finish(err);
      const onDrain = () => {
        drained = true;
        finish();
      };
      const cleanup = () => {
        stream.removeListener('error', onError);
        stream.removeListener('drain', onDrain);
      };
      stream.on('error', onError);
      const ok = stream.write(chunk, (err?: Error | null) => {
        written = true;
        finish(err);
      });
      if (!ok) {
        drained = false;
        stream.on('drain', onDrain);
      }
    });
  }

  async close(): Promise<void> {
    // Standard output belongs to the process; it is not ended here.
  }
}
