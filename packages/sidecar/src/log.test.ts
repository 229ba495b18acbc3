// The sidecar's log lines: pino's shape, levels honoured, credentials never written.
import { createLogger } from './log.ts';

function capture(level: string) {
  const lines: string[] = [];
  return { log: createLogger(level, { write: (l: string) => lines.push(l) }), lines };
}

test('one JSON line per entry, at the level asked and above', () => {
  const { log, lines } = capture('info');
  log.debug({ a: 1 }, 'hidden');
  log.info({ requestId: 'req_1' }, 'served');
  log.error({ err: new Error('boom') }, 'failed');
  expect(lines).toHaveLength(2);
  const first = JSON.parse(lines[0]!);
  expect(first).toMatchObject({ level: 30, component: 'scopekeeper', requestId: 'req_1', msg: 'served' });
  expect(typeof first.time).toBe('number');
  expect(JSON.parse(lines[1]!)).toMatchObject({ level: 50, err: { type: 'Error', message: 'boom' } });
  expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
});

test('tokens, keys and credential headers are redacted', () => {
  const { log, lines } = capture('debug');
  log.warn(
    {
      token: 'eyJ.a.b',
      authorization: 'Bearer eyJ.a.b',
      apiKey: 'sk-ant-1',
      key: 'sk-ant-2',
      headers: { Authorization: 'Bearer x', 'x-api-key': 'sk', accept: '*/*' },
    },
    'x',
  );
  const text = lines.join('');
  for (const secret of ['eyJ.a.b', 'sk-ant-1', 'sk-ant-2', 'Bearer x', '"sk"']) expect(text).not.toContain(secret);
  expect(JSON.parse(lines[0]!).headers).toEqual({ Authorization: '[redacted]', 'x-api-key': '[redacted]', accept: '*/*' });
});

test('silent writes nothing; a field that cannot be serialised still leaves a line', () => {
  const quiet = capture('silent');
  quiet.log.error({ a: 1 }, 'x');
  expect(quiet.lines).toHaveLength(0);
  const { log, lines } = capture('info');
  log.info({ n: 10n }, 'bigint');
  expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'bigint', logError: 'fields could not be serialised' });
});
