// McpSessions: who opened which session, bounded so that no caller can unbind another's.
import { McpSessions } from './sessions.ts';

test("a caller opening more sessions than its share forgets its own oldest, never another caller's", () => {
  const s = new McpSessions({ total: 100, perOwner: 3 });
  s.bind('crm', 'victim-1', 'victim', '/mcp');
  for (let i = 0; i < 1000; i++) s.bind('crm', `mallory-${i}`, 'mallory', '/mcp');
  // The victim's session is still bound to the victim: mallory cannot use it.
  expect(s.mayUse('crm', 'victim-1', 'mallory')).toBe(false);
  expect(s.mayUse('crm', 'victim-1', 'victim')).toBe(true);
  // Mallory keeps only its newest three.
  expect(['mallory-996', 'mallory-997', 'mallory-998', 'mallory-999'].map((id) => s.mayUse('crm', id, 'victim'))).toEqual([
    true,
    false,
    false,
    false,
  ]);
});

test('past the total, the caller with the most sessions gives up its oldest', () => {
  const s = new McpSessions({ total: 4, perOwner: 3 });
  s.bind('crm', 'm-1', 'mallory', '/mcp');
  s.bind('crm', 'm-2', 'mallory', '/mcp');
  s.bind('crm', 'm-3', 'mallory', '/mcp');
  s.bind('crm', 'a-1', 'alice', '/mcp');
  s.bind('crm', 'b-1', 'bob', '/mcp');
  expect(s.mayUse('crm', 'm-1', 'alice')).toBe(true); // forgotten: left to the server
  expect([s.mayUse('crm', 'a-1', 'bob'), s.mayUse('crm', 'm-2', 'bob'), s.mayUse('crm', 'b-1', 'alice')]).toEqual([false, false, false]);
});

test('the largest owner gives one up even when it came later', () => {
  const s = new McpSessions({ total: 4, perOwner: 3 });
  s.bind('crm', 'a-1', 'alice', '/mcp');
  for (const id of ['m-1', 'm-2', 'm-3']) s.bind('crm', id, 'mallory', '/mcp');
  s.bind('crm', 'b-1', 'bob', '/mcp');
  expect([s.mayUse('crm', 'a-1', 'bob'), s.mayUse('crm', 'm-1', 'bob')]).toEqual([false, true]);
});

test('of owners with as many sessions, the one bound first gives one up', () => {
  const s = new McpSessions({ total: 4, perOwner: 3 });
  s.bind('crm', 'a-1', 'alice', '/mcp');
  s.bind('crm', 'a-2', 'alice', '/mcp');
  s.bind('crm', 'b-1', 'bob', '/mcp');
  s.bind('crm', 'b-2', 'bob', '/mcp');
  s.bind('crm', 'c-1', 'carol', '/mcp');
  expect([s.mayUse('crm', 'a-1', 'carol'), s.mayUse('crm', 'b-1', 'carol')]).toEqual([true, false]);
});

test('the default share is 256 sessions per caller', () => {
  const s = new McpSessions();
  for (let i = 0; i <= 256; i++) s.bind('crm', `m-${i}`, 'mallory', '/mcp');
  expect([s.mayUse('crm', 'm-0', 'eve'), s.mayUse('crm', 'm-1', 'eve'), s.mayUse('crm', 'm-256', 'eve')]).toEqual([true, false, false]);
});

test("a caller's share counts the sessions it still holds after ending some; a caller with none is forgotten", () => {
  const s = new McpSessions({ total: 100, perOwner: 3 });
  s.bind('crm', 'm-1', 'mallory', '/mcp');
  s.bind('crm', 'm-2', 'mallory', '/mcp');
  s.bind('crm', 'm-3', 'mallory', '/mcp');
  s.end('crm', 'm-3');
  s.bind('crm', 'm-4', 'mallory', '/mcp');
  expect(s.mayUse('crm', 'm-1', 'eve')).toBe(false);
  s.bind('crm', 'm-5', 'mallory', '/mcp');
  expect([s.mayUse('crm', 'm-1', 'eve'), s.mayUse('crm', 'm-2', 'eve')]).toEqual([true, false]);
  expect(s.callers).toBe(1);
  for (const id of ['m-2', 'm-4', 'm-5']) s.end('crm', id);
  expect(s.callers).toBe(0);
});

test('the same id on another endpoint is another session; end() forgets it', () => {
  const s = new McpSessions();
  s.bind('crm', 'x', 'alice', '/mcp');
  s.bind('crm', 'x', 'bob', '/mcp'); // a second answer naming it does not rebind it
  expect([s.mayUse('crm', 'x', 'bob'), s.mayUse('tickets', 'x', 'bob')]).toEqual([false, true]);
  s.end('crm', 'x');
  expect(s.mayUse('crm', 'x', 'bob')).toBe(true);
  s.end('crm', 'never-seen');
});

test("pathOf: the path the caller's own session was opened on; nothing for another's, an unknown or an ended session", () => {
  const s = new McpSessions();
  s.bind('crm', 'x', 'alice', '/mcp');
  s.bind('crm', 'x', 'alice', '/api/customers'); // a later answer naming it does not move it
  expect([s.pathOf('crm', 'x', 'alice'), s.pathOf('crm', 'x', 'bob'), s.pathOf('tickets', 'x', 'alice')]).toEqual([
    '/mcp',
    undefined,
    undefined,
  ]);
  expect(s.pathOf('crm', 'never-seen', 'alice')).toBeUndefined();
  s.end('crm', 'x');
  expect(s.pathOf('crm', 'x', 'alice')).toBeUndefined();
});
