import fc from 'fast-check';
import { parseJsonRpc, JsonRpcBodyError, RPC, idKey, rpcError } from './jsonrpc.ts';

const body = (v: unknown) => Buffer.from(JSON.stringify(v));
const refused = (b: Buffer | string, limits?: Parameters<typeof parseJsonRpc>[1]) => {
  try {
    parseJsonRpc(b, limits);
  } catch (e) {
    return e as JsonRpcBodyError;
  }
  throw new Error('not refused');
};

describe('parseJsonRpc: single messages', () => {
  test('a request, a notification and responses are told apart', () => {
    expect(parseJsonRpc(body({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).messages[0]).toMatchObject({
      kind: 'request',
      id: 1,
      method: 'tools/list',
    });
    expect(parseJsonRpc(body({ jsonrpc: '2.0', method: 'notifications/initialized' })).messages[0]).toMatchObject({
      kind: 'notification',
      method: 'notifications/initialized',
    });
    expect(parseJsonRpc(body({ jsonrpc: '2.0', id: 'a', result: {} })).messages[0]).toMatchObject({
      kind: 'response',
      id: 'a',
      result: {},
    });
    expect(parseJsonRpc(body({ jsonrpc: '2.0', id: 7, error: { code: -1, message: 'no' } })).messages[0]).toMatchObject({
      kind: 'response',
      error: { code: -1, message: 'no' },
    });
    expect(parseJsonRpc(body({ jsonrpc: '2.0', id: 1, method: 'x' })).batch).toBe(false);
  });

  test.each([
    ['not an object', 42, 'must be an object'],
    ['wrong version', { jsonrpc: '1.0', id: 1, method: 'x' }, '"jsonrpc" must be "2.0"'],
    ['no version', { id: 1, method: 'x' }, '"jsonrpc" must be "2.0"'],
    ['method not a string', { jsonrpc: '2.0', id: 1, method: 5 }, '"method" must be a non-empty string'],
    ['empty method', { jsonrpc: '2.0', id: 1, method: '' }, '"method" must be a non-empty string'],
    ['null id on a request (MCP forbids it)', { jsonrpc: '2.0', id: null, method: 'x' }, '"id" must be a string or a number'],
    ['object id', { jsonrpc: '2.0', id: {}, method: 'x' }, '"id" must be a string or a number'],
    ['params a string', { jsonrpc: '2.0', id: 1, method: 'x', params: 'p' }, '"params" must be an object or an array'],
    ['method and result', { jsonrpc: '2.0', id: 1, method: 'x', result: {} }, 'cannot carry both'],
    ['result and error', { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'm' } }, 'exactly one of'],
    ['neither', { jsonrpc: '2.0', id: 1 }, 'exactly one of'],
    ['error without code', { jsonrpc: '2.0', id: 1, error: { message: 'm' } }, 'integer "code"'],
    ['method too long', { jsonrpc: '2.0', id: 1, method: 'm'.repeat(300) }, 'longer than 256'],
  ])('%s is an invalid entry, answered with its id when it has one', (_name, value, problem) => {
    const m = parseJsonRpc(body(value)).messages[0]!;
    expect(m.kind).toBe('invalid');
    expect(m.kind === 'invalid' && m.problem).toContain(problem);
  });

  test('the id of an invalid entry is kept to answer it', () => {
    expect(parseJsonRpc(body({ jsonrpc: '1.0', id: 9, method: 'x' })).messages[0]).toMatchObject({ kind: 'invalid', id: 9 });
  });
});

describe('parseJsonRpc: whole-body refusals', () => {
  test('not JSON: parse error, 400', () => {
    const e = refused('{"jsonrpc": "2.0", "method": ');
    expect(e).toBeInstanceOf(JsonRpcBodyError);
    expect([e.code, e.status]).toEqual([RPC.parseError, 400]);
  });

  test.each([
    ['name', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":{},"name":"delete_all"}}'],
    ['method', '{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"x"}}'],
    ['id', '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"id":1,"method":"ping"}]'],
  ])('a repeated key (%s), anywhere in the body: invalid request, 400', (key, text) => {
    for (const b of [text, Buffer.from(text)]) {
      const e = refused(b);
      expect([e.code, e.status]).toEqual([RPC.invalidRequest, 400]);
      expect(e.message).toContain(`repeats the key "${key}" in one object`);
    }
  });

  test('not UTF-8: parse error', () => {
    expect(refused(Buffer.from([0x7b, 0xff, 0x7d])).code).toBe(RPC.parseError);
  });

  test('empty batch: invalid request', () => {
    expect(refused(body([])).code).toBe(RPC.invalidRequest);
  });

  test('oversized body: 413 before parsing', () => {
    const e = refused(body({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: { a: 'x'.repeat(2000) } } }), {
      maxBytes: 1000,
      maxBatch: 10,
      maxMethod: 64,
    });
    expect(e.status).toBe(413);
    expect(e.message).toMatch(/up to 1000 bytes/);
  });

  test('oversized batch: 413', () => {
    const e = refused(body(Array.from({ length: 11 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }))), {
      maxBytes: 1e6,
      maxBatch: 10,
      maxMethod: 64,
    });
    expect([e.status, e.code]).toEqual([413, RPC.invalidRequest]);
  });
});

describe('parseJsonRpc: batches', () => {
  test('entries are classified one by one; a bad entry does not spoil the others', () => {
    const p = parseJsonRpc(
      body([
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        'junk',
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 2, result: {} },
      ]),
    );
    expect(p.batch).toBe(true);
    expect(p.messages.map((m) => m.kind)).toEqual(['request', 'invalid', 'notification', 'response']);
  });

  test('two requests with one id are both refused; 1 and "1" are different ids', () => {
    const p = parseJsonRpc(
      body([
        { jsonrpc: '2.0', id: 1, method: 'a' },
        { jsonrpc: '2.0', id: '1', method: 'b' },
        { jsonrpc: '2.0', id: 1, method: 'c' },
      ]),
    );
    expect(p.messages.map((m) => m.kind)).toEqual(['invalid', 'request', 'invalid']);
    expect(p.messages[0]).toMatchObject({ id: 1, problem: expect.stringContaining('more than one request') });
  });

  test('a deeply nested message is read without overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const p = parseJsonRpc(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":${deep}}}}`, {
      maxBytes: 1e7,
      maxBatch: 1,
      maxMethod: 64,
    });
    expect(p.messages[0]!.kind).toBe('request');
  });

  test('property: any JSON value is classified or refused, never throws anything else', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          const p = parseJsonRpc(body(v));
          expect(p.messages.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(JsonRpcBodyError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

test('idKey and rpcError', () => {
  expect(idKey(1)).not.toBe(idKey('1'));
  expect(rpcError(3, RPC.denied, 'no', { scope: 's' })).toEqual({
    jsonrpc: '2.0',
    id: 3,
    error: { code: -32010, message: 'no', data: { scope: 's' } },
  });
  expect(rpcError(null, RPC.parseError, 'bad')).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'bad' } });
});
