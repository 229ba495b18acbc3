import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointTokens, parseEndpointTokenFlags } from './endpoint-tokens.ts';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sk-ept-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('--endpoint-token <audience>=<file>: audiences may carry ":" and "/"; anything else is refused with an example', () => {
  expect(parseEndpointTokenFlags(['crm.team-a=/t/0', 'https://billing.example/api=/t/1'])).toEqual(
    new Map([
      ['crm.team-a', '/t/0'],
      ['https://billing.example/api', '/t/1'],
    ]),
  );
  for (const bad of ['crm', '=/t/0', 'crm=', 'crm=relative/file'])
    expect(() => parseEndpointTokenFlags([bad])).toThrow(/is not <audience>=<absolute file>; for example --endpoint-token crm.team-a=/);
});

test('the token is read from its file, re-read when the kubelet rotates it, and kept through a brief read failure', () => {
  const file = join(dir, 'token-0');
  writeFileSync(file, 'tok-1\n');
  const t = new EndpointTokens(new Map([['crm.team-a', file]]));
  expect(t.authorization('crm', 'crm.team-a', 0)).toBe('Bearer tok-1');
  writeFileSync(file, 'tok-2');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  expect(t.authorization('crm', 'crm.team-a', 500)).toBe('Bearer tok-1'); // at most once a second
  expect(t.authorization('crm', 'crm.team-a', 2000)).toBe('Bearer tok-2');
  rmSync(file);
  expect(t.authorization('crm', 'crm.team-a', 4000)).toBe('Bearer tok-2');
});

test('fail closed: no token for the audience, or an unreadable or empty file, says what to do and never shows a token', () => {
  const t = new EndpointTokens(new Map([['crm.team-a', join(dir, 'missing')]]));
  expect(() => t.authorization('billing', 'billing.team-a')).toThrow(
    'endpoint billing requires a service-account token for audience "billing.team-a", but this sidecar was started without one',
  );
  expect(() => t.authorization('crm', 'crm.team-a')).toThrow('cannot be read; check the projected volume scopekeeper-endpoint-tokens');
  writeFileSync(join(dir, 'missing'), '  \n');
  expect(() => t.authorization('crm', 'crm.team-a')).toThrow('is empty');
});
