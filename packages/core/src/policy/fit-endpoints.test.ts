// An MCP endpoint without `paths` reaches its MCP path only: a message the scope allows, sent to
// another path of the same server (its REST API, its actuators), is refused before any JSON-RPC
// is read. With `paths`, the paths listed decide, as for any endpoint.
import { compilePolicy } from './compile.ts';
import { decide } from './decide.ts';
import type { PolicyRequest } from './decision.ts';
import { mcpDefaultPaths } from './fit-endpoints.ts';
import { NOW, sa, scope, review } from '../../test/fixtures/policy.ts';

const endpointScope = scope('mcp', {
  subjects: [{ kind: 'ServiceAccount', name: 'agent' }],
  tools: { allow: ['mcp__*'] },
  endpoints: [
    { name: 'root', url: 'http://crm:8080', protocol: 'mcp' },
    { name: 'slash', url: 'http://crm:8080/', protocol: 'mcp' },
    { name: 'named', url: 'http://crm:8080/api/mcp', protocol: 'mcp' },
    { name: 'listed', url: 'http://crm:8080', protocol: 'mcp', paths: ['/mcp', '/api/**'] },
    { name: 'rest', url: 'http://crm:8080', methods: ['GET', 'POST'] },
  ],
});
const snapshot = compilePolicy([endpointScope], [review('mcp-r', 'mcp')], { namespace: 'team-a' });
const service = (endpoint: string, method: string, path: string): PolicyRequest => ({ route: 'service', endpoint, method, path });
const verdict = (endpoint: string, method: string, path: string) => {
  const d = decide(snapshot, sa('agent'), service(endpoint, method, path), NOW);
  return [d.effect, d.reasons.map((r) => r.code).join(',')].join(' ');
};

test.each([
  ['http://crm:8080', ['/mcp']],
  ['http://crm:8080/', ['/mcp']],
  ['https://crm.example.com//', ['/mcp']],
  ['http://crm:8080/mcp', ['/']],
  ['http://crm:8080/api/mcp/', ['/']],
  ['http://crm:8080/?x=1', ['/mcp']],
])('the MCP path of %s', (url, paths) => {
  expect(mcpDefaultPaths(url)).toEqual(paths);
});

test.each([
  // the URL names the server: its /mcp, nothing else
  ['root', 'POST', '/mcp', 'allow Allowed'],
  ['root', 'GET', '/mcp', 'allow Allowed'],
  ['root', 'DELETE', '/mcp', 'allow Allowed'],
  ['slash', 'POST', '/mcp', 'allow Allowed'],
  ['root', 'POST', '/', 'deny PathNotAllowed'],
  ['root', 'POST', '/mcp/', 'deny PathNotAllowed'],
  ['root', 'POST', '/mcp/x', 'deny PathNotAllowed'],
  ['root', 'POST', '/actuator/shutdown', 'deny PathNotAllowed'],
  ['root', 'POST', '/api/customers', 'deny PathNotAllowed'],
  ['root', 'GET', '/api/customers', 'deny PathNotAllowed'],
  ['root', 'DELETE', '/api/customers/42', 'deny PathNotAllowed'],
  ['root', 'POST', '/MCP', 'deny PathNotAllowed'],
  // the URL names the MCP path: the endpoint itself, nothing under it
  ['named', 'POST', '/', 'allow Allowed'],
  ['named', 'POST', '/mcp', 'deny PathNotAllowed'],
  ['named', 'POST', '/customers', 'deny PathNotAllowed'],
  // paths listed: they decide
  ['listed', 'POST', '/mcp', 'allow Allowed'],
  ['listed', 'POST', '/api/customers', 'allow Allowed'],
  ['listed', 'POST', '/actuator/shutdown', 'deny PathNotAllowed'],
  // an http endpoint without paths: the whole service, as before
  ['rest', 'POST', '/actuator/shutdown', 'allow Allowed'],
])('%s: %s %s → %s', (endpoint, method, path, expected) => {
  expect(verdict(endpoint, method, path)).toBe(expected);
});

test('the refusal says which path passes and how to reach another', () => {
  const d = decide(snapshot, sa('agent'), service('root', 'POST', '/actuator/shutdown'), NOW);
  expect(d.message).toBe(
    'Denied by ModelScope mcp, rule spec.endpoints[root].paths: path /actuator/shutdown matches none of [/mcp]: an MCP endpoint ' +
      'without paths passes its MCP path only; to reach another path of the server, list the paths in spec.endpoints[root].paths.',
  );
});

test('with paths listed, the refusal names them and nothing else', () => {
  const d = decide(snapshot, sa('agent'), service('listed', 'POST', '/actuator/shutdown'), NOW);
  expect(d.message).toBe(
    'Denied by ModelScope mcp, rule spec.endpoints[listed].paths: path /actuator/shutdown matches none of [/mcp, /api/**].',
  );
});
