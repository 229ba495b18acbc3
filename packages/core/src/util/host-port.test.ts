import { splitHostPort } from './host-port.ts';

test.each([
  ['127.0.0.1:15180', { host: '127.0.0.1', port: 15180 }],
  [':15180', { host: '127.0.0.1', port: 15180 }],
  ['[::1]:0', { host: '::1', port: 0 }],
  ['0.0.0.0:65535', { host: '0.0.0.0', port: 65535 }],
])('%s', (v, want) => expect(splitHostPort(v)).toEqual(want));

test.each(['nonsense', '127.0.0.1', '127.0.0.1:65536', '127.0.0.1:x', '::1:80'])('%s is refused', (v) =>
  expect(splitHostPort(v)).toBeUndefined(),
);
