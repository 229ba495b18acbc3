// Issue 14 class 8: masking covers every block type whose content is text or data (JSON and
// streamed), and values written with Unicode formatting (no-break and thin spaces, zero-width
// characters, soft hyphens, fullwidth digits and '＠', dots as separators) — replacing the
// characters as they were written.
import fc from 'fast-check';
import { compileMasking, BUILTIN_CATEGORIES } from './index.ts';
import { fold } from './normalize.ts';
import { SseParser } from '../sse/parser.ts';

const m = compileMasking({ mask: [...BUILTIN_CATEGORIES] });
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';

describe('every block type with text or data (JSON)', () => {
  const blocks = [
    {
      type: 'web_fetch_tool_result',
      tool_use_id: 'srvtoolu_1',
      content: {
        type: 'web_fetch_result',
        url: `https://example.com/u?m=${EMAIL}`,
        content: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: `contact ${EMAIL}` } },
      },
    },
    {
      type: 'web_search_tool_result',
      tool_use_id: 'srvtoolu_2',
      content: [
        {
          type: 'web_search_result',
          title: `mail ${EMAIL}`,
          url: 'https://example.com',
          encrypted_content: 'EqgfCioIARgBIiQ3',
          page_age: null,
        },
      ],
    },
    {
      type: 'code_execution_tool_result',
      tool_use_id: 'srvtoolu_3',
      content: { type: 'code_execution_result', stdout: `card ${CARD}\n`, stderr: '', return_code: 0, content: [] },
    },
    {
      type: 'bash_code_execution_tool_result',
      tool_use_id: 'srvtoolu_4',
      content: { type: 'bash_code_execution_result', stdout: EMAIL, stderr: '', return_code: 0, content: [] },
    },
    {
      type: 'text_editor_code_execution_tool_result',
      tool_use_id: 'srvtoolu_5',
      content: { type: 'text_editor_code_execution_view_result', content: `x ${EMAIL}`, file_type: 'text' },
    },
    { type: 'mcp_tool_result', tool_use_id: 'mcptoolu_1', is_error: false, content: [{ type: 'text', text: `crm says ${EMAIL}` }] },
    { type: 'tool_result', tool_use_id: 'toolu_1', content: `found ${EMAIL}` },
    { type: 'a_future_result', id: 'x_1', payload: { rows: [{ note: EMAIL }] } },
  ];

  test.each(blocks.map((b) => [b.type, b]))('%s is masked; identifiers and encrypted payloads are not', (_t, block) => {
    const body = Buffer.from(
      JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', content: [block], usage: { input_tokens: 1, output_tokens: 1 } }),
    );
    const r = m.maskMessageJson(body);
    const out = r.body.toString();
    expect(out).not.toContain(EMAIL);
    expect(out).not.toContain(CARD);
    expect(r.changed).toBe(true);
    const got = JSON.parse(out).content[0];
    expect(got.type).toBe(block.type);
    expect(got.tool_use_id ?? got.id).toBe((block as { tool_use_id?: string; id?: string }).tool_use_id ?? (block as { id?: string }).id);
    if (block.type === 'web_search_tool_result') expect(got.content[0].encrypted_content).toBe('EqgfCioIARgBIiQ3');
  });

  test('thinking blocks, signatures, base64 data and tool names are left alone', () => {
    const content = [
      { type: 'thinking', thinking: `I saw ${EMAIL}`, signature: 'sig' },
      { type: 'redacted_thinking', data: EMAIL },
      { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { id: EMAIL, type: EMAIL } },
      { type: 'image_result', source: { type: 'base64', media_type: 'image/png', data: 'amFuZS5kb2VAZXhhbXBsZS5jb20=' } },
    ];
    const out = JSON.parse(m.maskMessageJson(Buffer.from(JSON.stringify({ content }))).body.toString()).content;
    expect(out[0]).toEqual(content[0]);
    expect(out[1]).toEqual(content[1]);
    // a tool's input is data: every string is masked, whatever its key
    expect(out[2]).toEqual({ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { id: '[MASKED:email]', type: '[MASKED:email]' } });
    expect(out[3]).toEqual(content[3]);
  });
});

describe('every block type with text or data (streamed)', () => {
  const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  test('result blocks arriving whole in content_block_start, and server tool input streamed as JSON, are masked', () => {
    const input =
      ev('message_start', { type: 'message_start', message: { id: 'msg_1', content: [] } }) +
      ev('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: {
          type: 'web_fetch_tool_result',
          tool_use_id: 's1',
          content: {
            type: 'web_fetch_result',
            url: 'https://e.com',
            content: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: EMAIL } },
          },
        },
      }) +
      ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
      ev('content_block_start', {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'mcp_tool_result', tool_use_id: 'm1', content: [{ type: 'text', text: CARD }] },
      }) +
      ev('content_block_stop', { type: 'content_block_stop', index: 1 }) +
      ev('content_block_start', {
        type: 'content_block_start',
        index: 2,
        content_block: {
          type: 'code_execution_tool_result',
          tool_use_id: 'c1',
          content: { type: 'code_execution_result', stdout: EMAIL, stderr: '', return_code: 0 },
        },
      }) +
      ev('content_block_stop', { type: 'content_block_stop', index: 2 }) +
      ev('content_block_start', {
        type: 'content_block_start',
        index: 3,
        content_block: { type: 'server_tool_use', id: 'st1', name: 'web_fetch', input: {} },
      }) +
      ev('content_block_delta', {
        type: 'content_block_delta',
        index: 3,
        delta: { type: 'input_json_delta', partial_json: `{"url":"https://e.com/?q=${EMAIL.slice(0, 6)}` },
      }) +
      ev('content_block_delta', {
        type: 'content_block_delta',
        index: 3,
        delta: { type: 'input_json_delta', partial_json: `${EMAIL.slice(6)}"}` },
      }) +
      ev('content_block_stop', { type: 'content_block_stop', index: 3 }) +
      ev('message_stop', { type: 'message_stop' });
    for (const size of [1, 7, 64, input.length]) {
      const sm = m.createSseMasker();
      const outs: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) outs.push(sm.push(Buffer.from(input.slice(i, i + size))));
      outs.push(sm.end());
      const out = Buffer.concat(outs).toString();
      expect(out).not.toContain(EMAIL);
      expect(out).not.toContain(CARD);
      const events = new SseParser().push(Buffer.from(out));
      expect(events.map((e) => e.event)).toContain('message_stop');
      expect(sm.counts).toEqual({ email: 3, 'credit-card': 1 });
    }
  });
});

test('content the upstream puts into message_start is masked too', () => {
  const ev = `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', content: [{ type: 'mcp_tool_result', tool_use_id: 'm', content: [{ type: 'text', text: EMAIL }] }] } })}\n\n`;
  const sm = m.createSseMasker();
  const out = Buffer.concat([sm.push(Buffer.from(ev)), sm.end()]).toString();
  expect(out).not.toContain(EMAIL);
  expect(out).toContain('[MASKED:email]');
});

describe('Unicode formatting (detection on folded text, original characters replaced)', () => {
  test.each([
    ['no-break spaces in a card', 'card 4111\u00a01111\u00a01111\u00a01111 ok', 'card [MASKED:credit-card] ok'],
    ['thin spaces in a card', 'card 4111\u20091111\u20091111\u20091111 ok', 'card [MASKED:credit-card] ok'],
    ['narrow no-break spaces in a phone', 'call +1\u202f415\u202f555\u202f2671 now', 'call [MASKED:phone] now'],
    ['dots as card separators', 'card 4111.1111.1111.1111 ok', 'card [MASKED:credit-card] ok'],
    ['fullwidth digits', 'card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 1111 1111 ok', 'card [MASKED:credit-card] ok'],
    ['a fullwidth at sign', 'mail jane\uff20example.com ok', 'mail [MASKED:email] ok'],
    ['a fullwidth full stop', 'mail jane@example\uff0ecom ok', 'mail [MASKED:email] ok'],
    ['a zero-width space', 'mail jane\u200b@example.com ok', 'mail [MASKED:email] ok'],
    ['a zero-width joiner inside digits', 'ssn 078-05\u200d-1120 ok', 'ssn [MASKED:ssn] ok'],
    ['a soft hyphen', 'mail jane.doe\u00ad@example.com ok', 'mail [MASKED:email] ok'],
    ['a word joiner and a BOM', 'key sk-ant-api03-\u2060abcdefghij\ufeffKLMNOPQRSTUV0123456789 ok', 'key [MASKED:api-key] ok'],
    ['a combining mark', 'mail jane\u0301@example.com ok', 'mail [MASKED:email] ok'],
  ])('%s', (_n, input, want) => {
    expect(m.maskText(input).text).toBe(want);
  });

  test('text around a match keeps its original characters', () => {
    expect(m.maskText('Grüße\u00a0— ＡＢＣ jane\uff20example.com ﬁn\u200b').text).toBe('Grüße\u00a0— ＡＢＣ [MASKED:email] ﬁn\u200b');
    expect(m.maskText('ＡＢＣ ﬁ ½ 🌍').changed).toBe(false);
  });

  test('fold maps each folded character to the code point it came from', () => {
    const f = fold('a\u200b＠ﬁ🌍')!;
    expect(f.text).toBe('a@fi🌍');
    expect([...f.from]).toEqual([0, 2, 3, 3, 4, 4]);
    expect([...f.to]).toEqual([1, 3, 4, 4, 6, 6]);
    expect(fold('plain ascii')).toBeUndefined();
  });

  const variant = fc.constantFrom(
    'card 4111\u00a01111\u00a01111\u00a01111',
    'mail jane\uff20example.com',
    'mail jane\u200b@example.com',
    'card \uff14\uff11\uff11\uff11 1111 1111 1111',
    'call +1\u2009415\u2009555\u20092671',
    'x\u00ad\u200b\u00a0',
    'ﬁ½™①',
    '🌍é\u0301',
    ' ',
    'plain words ',
    'jane.doe@example.com',
  );
  test('streamed in any split, the output equals masking the whole text, and no value survives', () => {
    fc.assert(
      fc.property(fc.array(variant, { maxLength: 10 }), fc.array(fc.nat(400), { maxLength: 12 }), (parts, cuts) => {
        const text = parts.join(' ');
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const pieces: string[] = [];
        let prev = 0;
        for (const p of at) {
          pieces.push(text.slice(prev, p));
          prev = p;
        }
        pieces.push(text.slice(prev));
        const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
        let input = ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
        for (const p of pieces)
          input += ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } });
        input += ev('content_block_stop', { type: 'content_block_stop', index: 0 });
        const sm = m.createSseMasker();
        const out = Buffer.concat([sm.push(Buffer.from(input)), sm.end()]);
        let streamed = '';
        for (const e of new SseParser().push(out)) {
          const d = e.data ? (JSON.parse(e.data) as { delta?: { text?: string } }) : {};
          if (d.delta?.text !== undefined) streamed += d.delta.text;
        }
        expect(streamed).toBe(m.maskText(text).text);
        expect(streamed).not.toMatch(/jane|4111|415/);
      }),
      { numRuns: 400 },
    );
  });
});

describe('a Messages answer that is a bare JSON string or number (a gateway writes its error text so)', () => {
  // The SDKs throw it as the APIError's message (any status), or return it as the result (200).
  // Before, anything but an object went out as it came.
  test('a string has its values masked', () => {
    const r = m.maskMessageJson(Buffer.from(JSON.stringify(`no customer ${EMAIL}, card ${CARD}`)));
    expect(r.changed).toBe(true);
    expect(JSON.parse(r.body.toString())).toBe('no customer [MASKED:email], card [MASKED:credit-card]');
  });
  test('a number that is a card number is masked as one', () => {
    const r = m.maskMessageJson(Buffer.from('4111111111111111'));
    expect(JSON.parse(r.body.toString())).toBe('[MASKED:credit-card]');
  });
  test('a blocked category in it blocks the answer', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\n-----END RSA PRIVATE KEY-----';
    expect(compileMasking({ block: ['private-key'] }).maskMessageJson(Buffer.from(JSON.stringify(pem))).blocked).toBe('private-key');
  });
  test('true, false and null are left as they are', () => {
    for (const v of ['true', 'false', 'null']) expect(m.maskMessageJson(Buffer.from(v)).body.toString()).toBe(v);
  });
});
