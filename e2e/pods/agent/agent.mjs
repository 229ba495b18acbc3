// The app container of the pod e2e (image built by e2e/harness/agent-image.ts): the real Claude
// Agent SDK, configured the way the README tells a user — ANTHROPIC_BASE_URL from the webhook, the
// projected token through apiKeyHelper. Plain JavaScript: it runs in the image as it is.
//
//   node /agent/agent.mjs                   start: what the app sees at start, then wait
//   node /agent/agent.mjs ask MODEL PROMPT  one turn; prints {"ok", "text", "error"} as JSON
//   node /agent/agent.mjs bodies N MIB      N Messages requests of MIB MiB each at once; prints {"statuses"}
import { readFileSync } from 'node:fs';

const log = (o) => console.log(JSON.stringify(o));

async function start() {
  // Its very first act: one call to the sidecar's admin port, no retry. A native sidecar is ready
  // before the app starts, so this answers 200.
  const ready = await fetch('http://127.0.0.1:15181/readyz').then(
    (r) => r.status,
    (e) => `refused: ${e.cause?.code ?? e.message}`,
  );
  log({ event: 'start', sidecarReady: ready });
  // The upstream key is mounted into the sidecar alone.
  let key;
  try {
    readFileSync('/var/run/scopekeeper/upstream/key', 'utf8');
    key = 'READABLE';
  } catch (e) {
    key = e.code;
  }
  log({ event: 'key', key });
  log({ event: 'env', baseUrl: process.env.ANTHROPIC_BASE_URL, tokenFile: process.env.SCOPEKEEPER_TOKEN_FILE });
  setInterval(() => {}, 1 << 30);
}

async function ask(model, prompt) {
  const { query } = await import('@anthropic-ai/claude-agent-sdk');
  const home = '/tmp/agent-home';
  const env = {
    ...process.env,
    ANTHROPIC_API_KEY: '',
    ANTHROPIC_AUTH_TOKEN: '',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_API_KEY_HELPER_TTL_MS: '240000',
    // A refusal is the answer under test: no retries with backoff.
    CLAUDE_CODE_MAX_RETRIES: '0',
    CLAUDE_CONFIG_DIR: home,
    HOME: home,
  };
  let text = '';
  let error;
  const abortController = new AbortController();
  const timer = setTimeout(() => abortController.abort(), 90_000);
  try {
    for await (const m of query({
      prompt,
      options: {
        abortController,
        model,
        env,
        maxTurns: 1,
        cwd: '/tmp',
        settingSources: [],
        settings: { apiKeyHelper: 'cat "$SCOPEKEEPER_TOKEN_FILE"' },
        allowedTools: [],
      },
    })) {
      if (m.type === 'assistant') text += m.message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      if (m.type === 'result' && m.is_error) error = m.result ?? m.subtype;
    }
  } catch (e) {
    error = e.message;
  }
  clearTimeout(timer);
  log({ ok: !error, text, error });
  process.exit(0);
}

/** Large request bodies at once (a long document in the prompt), as an agent attaching files sends them. */
async function bodies(n, mib) {
  const token = readFileSync(process.env.SCOPEKEEPER_TOKEN_FILE, 'utf8').trim();
  const head = '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Summarise: ';
  const body = `${head}${'a'.repeat(mib * 1024 * 1024)}"}]}`;
  const statuses = await Promise.all(
    Array.from({ length: n }, () =>
      fetch(`${process.env.ANTHROPIC_BASE_URL}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body,
      }).then(
        async (r) => (await r.arrayBuffer(), r.status),
        (e) => `no answer: ${e.cause?.code ?? e.message}`,
      ),
    ),
  );
  log({ statuses });
  process.exit(0);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'ask') await ask(rest[0], rest.slice(1).join(' '));
else if (cmd === 'bodies') await bodies(Number(rest[0]), Number(rest[1]));
else await start();
