// The canned traffic every target sees: one Messages request (JSON and streamed variants) and
// the upstream's canned answers, shaped like the real API's (a support reply that mentions one
// customer e-mail address, so masking has something to do, as it would in production).

export const MODEL = 'claude-sonnet-4-5';

const REPLY =
  'Thanks for reaching out. I looked up the ticket and the refund was issued on Tuesday; it can take three to five working days ' +
  'to show on the statement. If it has not arrived by Friday, reply to this thread or write to billing-help@example.com and ' +
  'quote the order number, and we will chase it with the payment provider. Is there anything else I can help with today?';

const TOOLS = [
  {
    name: 'Read',
    description: 'Read a file from the knowledge base.',
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  {
    name: 'Grep',
    description: 'Search the knowledge base for a pattern.',
    input_schema: { type: 'object', properties: { pattern: { type: 'string' }, path: { type: 'string' } }, required: ['pattern'] },
  },
  {
    name: 'Glob',
    description: 'List knowledge-base files matching a glob.',
    input_schema: { type: 'object', properties: { pattern: { type: 'string' } }, required: ['pattern'] },
  },
];

/** A ~2 KB Messages request, as a support bot sends it. */
export function requestBody(stream: boolean, model = MODEL): string {
  return JSON.stringify({
    model,
    max_tokens: 1024,
    system:
      'You are the support assistant of Example Ltd. Answer politely and briefly, use the knowledge base tools when a policy is asked about, and never promise a refund date you cannot see in the ticket.',
    messages: [
      {
        role: 'user',
        content:
          'Hello, I returned my order two weeks ago (order 4411-2290) and I still have not seen the refund. Can you check what happened?',
      },
      {
        role: 'assistant',
        content: [{ type: 'text', text: 'I am sorry to hear that. Let me look at the order and the refund status for you.' }],
      },
      {
        role: 'user',
        content: [
          {
            type: 'text',
            text: 'Thanks. The parcel was delivered back to you on the 3rd according to the tracking page. When will I get my money?',
          },
        ],
      },
    ],
    tools: TOOLS,
    metadata: { user_id: 'bench-user-0001' },
    stream,
  });
}

const USAGE = { input_tokens: 612, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 96 };

export function jsonResponse(): string {
  return JSON.stringify({
    id: 'msg_01BenchCannedResponse0001',
    type: 'message',
    role: 'assistant',
    model: MODEL,
    content: [{ type: 'text', text: REPLY }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: USAGE,
  });
}

/** The same reply as a Messages event stream (deltas of ~12 characters, as the API streams). */
export function sseResponse(): string {
  const ev = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  let out = ev('message_start', {
    type: 'message_start',
    message: {
      id: 'msg_01BenchCannedResponse0002',
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...USAGE, output_tokens: 1 },
    },
  });
  out += ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  out += ev('ping', { type: 'ping' });
  for (let i = 0; i < REPLY.length; i += 12) {
    out += ev('content_block_delta', {
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: REPLY.slice(i, i + 12) },
    });
  }
  out += ev('content_block_stop', { type: 'content_block_stop', index: 0 });
  out += ev('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: USAGE.output_tokens },
  });
  out += ev('message_stop', { type: 'message_stop' });
  return out;
}
