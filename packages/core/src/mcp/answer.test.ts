import fc from 'fast-check';
import { compileMasking } from '../masking/index.ts';
import { SseParser } from '../sse/parser.ts';
import { McpAnswer, type McpAnswerRules, type McpMessageOutcome } from './answer.ts';
import { sseMessages } from './answer-stream.ts';
import { RPC } from './jsonrpc.ts';

const masking = compileMasking({ mask: ['email', 'phone', 'credit-card'], block: ['private-key'] });
const rules: McpAnswerRules = {
  masking,
  maskFields: ['$.customer.ssn'],
  keepTool: (t) => !t.startsWith('delete_'),
  keepResource: (u) => u.startsWith('crm://customers/'),
  keepPrompt: (p) => p === 'summary',
};
const answer = new McpAnswer(rules);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const customer = { customer: { name: 'Jane Doe', email: 'jane.doe@example.com', ssn: '123-45-6789' } };
const toolResult = (id: number) => ({
  jsonrpc: '2.0',
  id,
  result: { content: [{ type: 'text', text: JSON.stringify(customer) }], structuredContent: customer },
});
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\n-----END RSA PRIVATE KEY-----';

describe('McpAnswer.json', () => {
  test('a tool result: maskFields on structuredContent and on its JSON text copy, detectors on every string', () => {
    const r = answer.json(json(toolResult(2)));
    const out = JSON.parse(r.body.toString());
    expect(out.result.structuredContent.customer).toEqual({ name: 'Jane Doe', email: '[MASKED:email]', ssn: '[MASKED:field]' });
    expect(JSON.parse(out.result.content[0].text).customer).toEqual({ name: 'Jane Doe', email: '[MASKED:email]', ssn: '[MASKED:field]' });
    expect(r.body.toString()).not.toContain('123-45-6789');
    expect(r.body.toString()).not.toContain('jane.doe@');
    expect(r.outcomes).toEqual([{ id: 2, counts: { field: 2, email: 2 }, hidden: 0 }]);
  });

  test('tools/list, resources/list, templates and prompts/list: only what the scope allows', () => {
    const list = {
      jsonrpc: '2.0',
      id: 1,
      result: { tools: [{ name: 'lookup_customer' }, { name: 'delete_customer' }, { nope: 1 }], nextCursor: 'c1' },
    };
    const out = JSON.parse(answer.json(json(list)).body.toString());
    expect(out.result.tools).toEqual([{ name: 'lookup_customer' }]);
    expect(out.result.nextCursor).toBe('c1');
    const res = JSON.parse(
      answer
        .json(
          json({
            jsonrpc: '2.0',
            id: 2,
            result: {
              resources: [{ uri: 'crm://customers/1' }, { uri: 'crm://admin/keys' }],
              resourceTemplates: [{ uriTemplate: 'crm://customers/{id}' }, { uriTemplate: 'file:///{path}' }],
            },
          }),
        )
        .body.toString(),
    );
    expect(res.result.resources).toEqual([{ uri: 'crm://customers/1' }]);
    expect(res.result.resourceTemplates).toEqual([{ uriTemplate: 'crm://customers/{id}' }]);
    const pr = answer.json(json({ jsonrpc: '2.0', id: 3, result: { prompts: [{ name: 'summary' }, { name: 'secret' }] } }));
    expect(JSON.parse(pr.body.toString()).result.prompts).toEqual([{ name: 'summary' }]);
    expect(pr.outcomes[0]!.hidden).toBe(1);
  });

  test('nothing to change: the same bytes come back', () => {
    const b = json({
      jsonrpc: '2.0',
      id: 1,
      result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'crm', version: '1.0.0' } },
    });
    expect(answer.json(b).body).toBe(b);
  });

  test('protocol members stay verbatim; the same text elsewhere is masked', () => {
    const r = answer.json(
      json({
        jsonrpc: '2.0',
        id: 'a@b.example.com',
        result: {
          protocolVersion: 'x@y.example.com',
          nextCursor: 'c@d.example.com',
          note: 'e@f.example.com',
          structuredContent: { nextCursor: 'g@h.example.com' },
        },
      }),
    );
    const out = JSON.parse(r.body.toString());
    expect([out.id, out.result.protocolVersion, out.result.nextCursor]).toEqual(['a@b.example.com', 'x@y.example.com', 'c@d.example.com']);
    expect([out.result.note, out.result.structuredContent.nextCursor]).toEqual(['[MASKED:email]', '[MASKED:email]']);
  });

  test('server errors are masked too', () => {
    const out = JSON.parse(
      answer
        .json(
          json({
            jsonrpc: '2.0',
            id: 4,
            error: { code: -1, message: 'no customer jane.doe@example.com', data: { card: '4111 1111 1111 1111' } },
          }),
        )
        .body.toString(),
    );
    expect(out.error).toEqual({ code: -1, message: 'no customer [MASKED:email]', data: { card: '[MASKED:credit-card]' } });
  });

  test('a blocked category turns the response into an error, and nothing of it is delivered', () => {
    const r = answer.json(json({ jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: `key: ${PEM}` }] } }));
    const out = JSON.parse(r.body.toString());
    expect(out).toMatchObject({ jsonrpc: '2.0', id: 5, error: { code: RPC.blocked, data: { category: 'private-key' } } });
    expect(r.body.toString()).not.toContain('MIIEow');
    expect(r.outcomes[0]!.blocked).toBe('private-key');
  });

  test('a batch answer: each message governed; our refusals merged in', () => {
    const refusal = { jsonrpc: '2.0', id: 9, error: { code: RPC.denied, message: 'Denied' } };
    const r = answer.json(json([toolResult(1), { jsonrpc: '2.0', id: 2, result: {} }]), [refusal]);
    const out = JSON.parse(r.body.toString());
    expect(out.map((m: { id: number }) => m.id)).toEqual([1, 2, 9]);
    expect(r.outcomes.map((o) => o.id)).toEqual([1, 2]);
    // a single answer plus a refusal becomes a batch
    expect(JSON.parse(answer.json(json({ jsonrpc: '2.0', id: 2, result: {} }), [refusal]).body.toString())).toHaveLength(2);
  });

  test('an answer that is not JSON is not passed on', () => {
    const r = answer.json(Buffer.from('<html>jane.doe@example.com</html>'));
    expect(r.body.toString()).not.toContain('jane');
    expect(JSON.parse(r.body.toString()).error.code).toBe(RPC.unavailable);
    expect(r.outcomes[0]!.unreadable).toBe(true);
  });

  test('numbers are kept exactly when a body is rewritten', () => {
    const r = answer.json(Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"n":12345678901234567890,"f":1.0,"e":"a@b.example.com"}}'));
    expect(r.body.toString()).toBe('{"jsonrpc":"2.0","id":1,"result":{"n":12345678901234567890,"f":1.0,"e":"[MASKED:email]"}}');
  });
});

describe("object keys and numbers are data too (the rule of an internal service's answer)", () => {
  const body = (s: string) => answer.json(Buffer.from(s)).body.toString();
  const sc = (inner: string) => `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"ok"}],"structuredContent":${inner}}}`;

  test('a key that masks is renamed in place; two keys that mask alike both keep their values', () => {
    const r = answer.json(
      Buffer.from(sc('{"a":1,"jane.doe@example.com":{"status":"vip"},"b.c@example.org":"x","[MASKED:email]":"y","z":2}')),
    );
    expect(r.body.toString()).toBe(sc('{"a":1,"[MASKED:email]":{"status":"vip"},"[MASKED:email]#2":"x","[MASKED:email]#3":"y","z":2}'));
    expect(r.outcomes[0]!.counts).toEqual({ email: 2 });
  });

  test('a number whose digits match becomes the masked string; other numbers keep their source text (bare digits are no phone number, as for a service)', () => {
    expect(
      body(sc('{"card":4111111111111111,"e":4.111111111111111e15,"phone":14155552671,"n":42,"f":1.0,"big":12345678901234567890}')),
    ).toBe(sc('{"card":"[MASKED:credit-card]","e":"[MASKED:credit-card]","phone":14155552671,"n":42,"f":1.0,"big":12345678901234567890}'));
  });

  test('_meta, error.data and nested arrays', () => {
    expect(body('{"jsonrpc":"2.0","id":3,"result":{"content":[],"_meta":{"+1 415-555-2671":"caller"}}}')).toBe(
      '{"jsonrpc":"2.0","id":3,"result":{"content":[],"_meta":{"[MASKED:phone]":"caller"}}}',
    );
    expect(
      body(
        '{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"lookup failed","data":{"jane.doe@example.com":"not found","card":4111111111111111}}}',
      ),
    ).toBe(
      '{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"lookup failed","data":{"[MASKED:email]":"not found","card":"[MASKED:credit-card]"}}}',
    );
    expect(body(sc('{"rows":[[4111111111111111,{"jane.doe@example.com":[5555555555554444,7]}]]}'))).toBe(
      sc('{"rows":[["[MASKED:credit-card]",{"[MASKED:email]":["[MASKED:credit-card]",7]}]]}'),
    );
  });

  test("the same masking as an internal service's answer (maskServiceJson) below the protocol members", () => {
    for (const inner of [
      '{"jane.doe@example.com":{"status":"vip"},"x@y.example.com":[4111111111111111,"+1 415-555-2671"]}',
      '{"[MASKED:email]":0,"a@b.example.com":1,"c@d.example.com":{"4111111111111111":14155552671}}',
      '[{"n":4.111111111111111e15,"m":1.50,"__proto__":"e@f.example.com"}]',
    ]) {
      const service = masking.maskServiceJson(Buffer.from(inner), []).body.toString();
      expect(body(sc(inner))).toBe(sc(service));
    }
  });

  test('a blocked category written as a key ends the answer', () => {
    const r = answer.json(json({ jsonrpc: '2.0', id: 5, result: { content: [], structuredContent: { [PEM]: 1 } } }));
    expect(JSON.parse(r.body.toString())).toMatchObject({
      jsonrpc: '2.0',
      id: 5,
      error: { code: RPC.blocked, data: { category: 'private-key' } },
    });
    expect(r.body.toString()).not.toContain('MIIEow');
    expect(r.outcomes[0]!.blocked).toBe('private-key');
  });

  test('protocol members stay: a JSON-RPC id that looks like a card, raw, and the names jsonrpc, id, method', () => {
    expect(body('{"jsonrpc":"2.0","id":4111111111111111,"result":{"content":[],"structuredContent":{"card":4111111111111111}}}')).toBe(
      '{"jsonrpc":"2.0","id":4111111111111111,"result":{"content":[],"structuredContent":{"card":"[MASKED:credit-card]"}}}',
    );
    expect(body('{"jsonrpc":"2.0","method":"notifications/message","params":{"data":{"jane.doe@example.com":5555555555554444}}}')).toBe(
      '{"jsonrpc":"2.0","method":"notifications/message","params":{"data":{"[MASKED:email]":"[MASKED:credit-card]"}}}',
    );
  });

  test('in an event stream alike', () => {
    const relay = answer.stream();
    const out = relay.push(Buffer.from(`event: message\ndata: ${sc('{"jane.doe@example.com":{"card":4111111111111111}}')}\n\n`)).toString();
    expect(out).toBe(`event: message\ndata: ${sc('{"[MASKED:email]":{"card":"[MASKED:credit-card]"}}')}\n\n`);
    const blocked = relay
      .push(Buffer.from(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 6, result: { _meta: { [PEM]: 'k' } } })}\n\n`))
      .toString();
    expect(blocked).toContain(`"code":${RPC.blocked}`);
    expect(blocked).not.toContain('MIIEow');
  });
});

describe('McpAnswer.stream (event streams)', () => {
  const sse = (msgs: unknown[], id = true) =>
    msgs.map((m, i) => `${id ? `id: ev-${i}\n` : ''}event: message\ndata: ${JSON.stringify(m)}\n\n`).join('');

  function run(input: string, cuts: number[] = []): { out: string; outcomes: McpMessageOutcome[] } {
    const outcomes: McpMessageOutcome[] = [];
    const relay = answer.stream((o) => outcomes.push(o));
    const bytes = Buffer.from(input);
    let out = '';
    let at = 0;
    for (const c of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
      out += relay.push(bytes.subarray(at, c)).toString();
      at = c;
    }
    return { out: out + relay.end().toString(), outcomes };
  }

  const datas = (out: string) =>
    new SseParser()
      .push(Buffer.from(out))
      .filter((e) => e.data)
      .map((e) => JSON.parse(e.data!));

  test('events are masked one by one, ids and event names kept; unchanged events pass byte for byte', () => {
    const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } };
    const { out, outcomes } = run(`: keep-alive\n\nid: prime\ndata:\n\n${sse([progress, toolResult(2)])}`);
    expect(out.startsWith(`: keep-alive\n\nid: prime\ndata:\n\n${sse([progress])}`)).toBe(true);
    expect(new SseParser().push(Buffer.from(out)).map((e) => [e.id, e.event])).toEqual([
      [undefined, undefined],
      ['prime', undefined],
      ['ev-0', 'message'],
      ['ev-1', 'message'],
    ]);
    const msgs = datas(out);
    expect(msgs[1].result.structuredContent.customer.ssn).toBe('[MASKED:field]');
    expect(out).not.toContain('jane.doe');
    expect(outcomes.map((o) => o.id)).toEqual([undefined, 2]);
  });

  test('a server request or notification carrying a blocked category is dropped; a response becomes an error', () => {
    const { out } = run(
      sse([
        { jsonrpc: '2.0', method: 'notifications/message', params: { data: PEM } },
        { jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: PEM }] } },
      ]),
    );
    const msgs = datas(out);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ id: 3, error: { code: RPC.blocked } });
    expect(out).not.toContain('MIIEow');
  });

  test('an event that is not JSON is not delivered', () => {
    const { out, outcomes } = run('data: jane.doe@example.com\n\n');
    expect(out).toBe('');
    expect(outcomes[0]!.unreadable).toBe(true);
  });

  test('an unterminated last event is not delivered (a client would discard it)', () => {
    expect(run(`data: ${JSON.stringify(toolResult(1))}\n`).out).toBe('');
  });

  test('property: any split of the stream gives the same output as one piece', () => {
    const input = sse([
      toolResult(1),
      { jsonrpc: '2.0', method: 'notifications/message', params: { data: 'call +44 20 7946 0958' } },
      { jsonrpc: '2.0', id: 2, result: { tools: [{ name: 'delete_x' }, { name: 'ok' }] } },
    ]);
    const whole = run(input).out;
    expect(whole).toContain('[MASKED:phone]');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: Buffer.byteLength(input) }), { maxLength: 8 }), (cuts) => {
        expect(run(input, cuts).out).toBe(whole);
      }),
      { numRuns: 200 },
    );
  });

  test('our own refusals as events', () => {
    expect(sseMessages([{ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } }]).toString()).toBe(
      'event: message\ndata: {"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}\n\n',
    );
  });
});

test('without detectors, maskFields and filters still apply', () => {
  const bare = new McpAnswer({ ...rules, masking: compileMasking(undefined) });
  const out = JSON.parse(bare.json(json(toolResult(1))).body.toString());
  expect(out.result.structuredContent.customer).toEqual({ name: 'Jane Doe', email: 'jane.doe@example.com', ssn: '[MASKED:field]' });
});
