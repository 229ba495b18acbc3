import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ModelScope } from '@scopekeeper/core';
import { PrometheusUsageSource, parseUsageFrom, summarize } from './usage-source.ts';

const scope: ModelScope = {
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name: 'support-agent', namespace: 'team-a' },
  spec: { subjects: [{ kind: 'ServiceAccount', name: 'bot' }], models: ['claude-sonnet-4-*', 'claude-opus-*'], review: { period: '30d' } },
};

describe('the usage summary of a Pending review', () => {
  test('allowed by model, denied, and the granted models nothing used', () => {
    const s = summarize(scope, '30d', [
      { model: 'claude-sonnet-4-5', decision: 'allow', n: 118 },
      { model: 'claude-sonnet-4-0', decision: 'allow', n: 2 },
      { model: 'other', decision: 'deny', n: 3 },
      { model: 'claude-opus-4-1', decision: 'approval-required', n: 1 },
      { model: 'x', decision: 'allow', n: Number.NaN },
    ]);
    expect(s).toBe(
      'last 30d: 120 allowed (claude-sonnet-4-5 118, claude-sonnet-4-0 2), 4 denied or held; models granted but unused: claude-opus-*; details: scopekeeper reviews usage support-agent -n team-a --audit <audit log>',
    );
  });

  describe('from the Prometheus query API', () => {
    let server: Server;
    let url: string;
    const queries: string[] = [];
    let answer: unknown;
    beforeAll(async () => {
      server = createServer((req, res) => {
        queries.push(new URL(req.url!, 'http://x').searchParams.get('query') ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((r) => server.close(r)));

    test('asks for the scope over its review period, and summarises the answer', async () => {
      answer = {
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: { model: 'claude-opus-4-1', decision: 'allow' }, value: [0, '7.2'] }] },
      };
      const s = await new PrometheusUsageSource(url).summary({ ...scope, metadata: { name: 'a"b', namespace: 'team-a' } });
      expect(queries.at(-1)).toBe(
        'sum by (model, decision) (increase(scopekeeper_requests_total{scope="a\\"b",namespace=~"team-a|"}[2592000s]))',
      );
      expect(s).toMatch(/^last 30d: 7 allowed \(claude-opus-4-1 7\), 0 denied or held; models granted but unused: claude-sonnet-4-\*/);
    });

    test('an error answer is an error that names the source', async () => {
      answer = { status: 'error', error: 'parse error' };
      await expect(new PrometheusUsageSource(url).summary(scope)).rejects.toThrow(
        /Prometheus at http:\/\/127\.0\.0\.1:\d+ refused the query: parse error/,
      );
    });
  });

  test('--usage-from takes prometheus=URL and says what to write otherwise', () => {
    expect(parseUsageFrom('prometheus=http://prom:9090')).toBeInstanceOf(PrometheusUsageSource);
    expect(() => parseUsageFrom('graphite=http://g')).toThrow(/write prometheus=http/);
  });
});
