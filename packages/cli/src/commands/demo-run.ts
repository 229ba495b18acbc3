// `scopekeeper demo`: the whole data path on one machine, no cluster. A local OIDC issuer
// mints tokens (verified by the production path), a stand-in speaks the Messages API (or the
// real API when ANTHROPIC_API_KEY is set), and the sidecar runs on a copy of examples/.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { scopeUsage, type AuditEvent, type ModelScope } from '@scopekeeper/core';
import { startWorld, runSidecar, createLogger, silentLogger, verifyAuditFile, NS, type Sidecar } from '@scopekeeper/sidecar';
import { describeRpc, startMcpDemo } from './demo-mcp.ts';

interface Step {
  title: string;
  caller: string;
  expect: { status: number; decision?: string; reason?: RegExp; body?: RegExp };
  run: () => Promise<Response>;
}

interface Outcome {
  step: Step;
  status: number;
  decision: string;
  detail: string;
  ok: boolean;
}

function table(rows: Outcome[]): string {
  const cols = ['', 'step', 'caller', 'status', 'decision', 'what happened'];
  const data = rows.map((r, i) => [r.ok ? '✓' : '✗', `${i + 1}. ${r.step.title}`, r.step.caller, String(r.status), r.decision, r.detail]);
  const widths = cols.map((c, i) => Math.min(i === 5 ? 90 : 40, Math.max(c.length, ...data.map((d) => d[i]!.length))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (c.length > widths[i]! ? c.slice(0, widths[i]! - 1) + '…' : c.padEnd(widths[i]!))).join('  ');
  return [line(cols), line(widths.map((w) => '─'.repeat(w))), ...data.map(line)].join('\n');
}

/** Granted against used, per scope: what `scopekeeper reviews usage` tells a reviewer. */
async function usageTable(policyDir: string, auditFile: string): Promise<string> {
  const records = (await readFile(auditFile, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent);
  const scopes: ModelScope[] = [];
  for (const f of (await readdir(policyDir)).filter((f) => f.endsWith('.yaml'))) {
    for (const d of parseAllDocuments(await readFile(join(policyDir, f), 'utf8')))
      if ((d.toJS() as ModelScope)?.kind === 'ModelScope') scopes.push(d.toJS() as ModelScope);
  }
  const rows = [['scope', 'granted', 'used', 'unused']];
  for (const s of scopes.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const u = scopeUsage(records, s, { now: Date.now() });
    const granted = [...s.spec.models, ...(s.spec.tools?.allow ?? []), ...(s.spec.endpoints ?? []).map((e) => `/services/${e.name}`)];
    const used = [...u.models.map((m) => `${m.name}×${m.count}`), ...u.toolsUsed.map((t) => `${t.name}×${t.count}`)];
    rows.push([s.metadata.name, granted.join(' '), used.join(' ') || '-', u.unused.map((x) => x.grant).join(' ') || '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function describeResponse(res: Response): Promise<string> {
  const text = await res.text();
  if (res.status >= 400) {
    try {
      return (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      return text.slice(0, 200);
    }
  }
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const deltas = [...text.matchAll(/"text_delta","text":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string).join('');
    return `streamed ${text.split('\n\n').length - 1} events: "${deltas}"`;
  }
  try {
    const msg = JSON.parse(text) as { content?: { type: string; text?: string }[]; data?: { id: string }[]; jsonrpc?: string };
    if (msg.jsonrpc) return describeRpc(msg as Parameters<typeof describeRpc>[0]);
    if (msg.data) return `models: ${msg.data.map((m) => m.id).join(', ')}`;
    return `"${
      msg.content
        ?.filter((b) => b.type === 'text')
        .map((b) => b.text)
        .join('') ?? ''
    }"`;
  } catch {
    return text.slice(0, 200);
  }
}

export async function runDemo(opts: { once: boolean; out?: (s: string) => void }): Promise<boolean> {
  const out = opts.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const world = await startWorld({ realApiKey: process.env.ANTHROPIC_API_KEY, log: opts.once ? silentLogger() : createLogger('warn') });
  const { issuer, stub, policyDir, auditFile } = world;
  let sidecar: Sidecar | undefined = world.sidecar;
  const mcp = await startMcpDemo(world);
  try {
    const base = world.url;
    const nowS = Math.floor(Date.now() / 1000);
    const tokens = {
      support: await world.saToken('support-bot'),
      research: await world.saToken('research-bot'),
      ops: await world.saToken('ops-bot'),
      expired: await issuer.mint({ sub: `system:serviceaccount:${NS}:support-bot`, iat: nowS - 600, nbf: nowS - 600, exp: nowS - 540 }),
      // SAML: a signed assertion from the local IdP, for the group the analyst-agent scope names
      saml: world.samlAssertion('dana@example.com', ['data-analysts']),
      samlOtherAudience: world.samlAssertion('dana@example.com', ['data-analysts'], { audiences: ['https://other-sp.example'] }),
    };
    const call = (token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      fetch(`${base}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
        body: JSON.stringify({
          model: 'claude-sonnet-4-5',
          max_tokens: 1024,
          messages: [{ role: 'user', content: 'Draft a two-line reply to a customer asking about their refund.' }],
          ...body,
        }),
      });
    const secret = 'Contact jane.doe@example.com or +44 20 7946 0958, card 4111 1111 1111 1111, ticket TCK-123456.';
    let held = '';
    const steps: Step[] = [
      {
        title: 'allowed: Sonnet',
        caller: 'sa/support-bot',
        expect: { status: 200, decision: 'allow' },
        run: () => call(tokens.support, {}),
      },
      {
        title: 'allowed: streamed',
        caller: 'sa/support-bot',
        expect: { status: 200, decision: 'allow', body: /streamed/ },
        run: () => call(tokens.support, { stream: true }),
      },
      {
        title: 'allowed: the model calls Read',
        caller: 'sa/support-bot',
        expect: { status: 200, decision: 'allow' },
        run: () =>
          call(tokens.support, {
            tools: [
              { name: 'Read', input_schema: { type: 'object' } },
              { name: 'Grep', input_schema: { type: 'object' } },
            ],
            messages: [{ role: 'user', content: 'STUB:tool_use:Read {"file_path":"README.md"}' }],
          }),
      },
      {
        title: 'models listed for the scope',
        caller: 'sa/support-bot',
        expect: { status: 200, body: /claude-sonnet-4-5/ },
        run: () => fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${tokens.support}` } }),
      },
      {
        title: 'denied: model outside scope',
        caller: 'sa/support-bot',
        expect: { status: 403, decision: 'deny', body: /spec\.models/ },
        run: () => call(tokens.support, { model: 'claude-opus-4-1' }),
      },
      {
        title: 'denied: Bash tool',
        caller: 'sa/support-bot',
        expect: { status: 403, decision: 'deny', body: /spec\.tools\.deny/ },
        run: () => call(tokens.support, { tools: [{ name: 'Bash', input_schema: { type: 'object' } }] }),
      },
      {
        title: 'denied: review expired',
        caller: 'sa/research-bot',
        expect: { status: 403, decision: 'deny', body: /expired/ },
        run: () => call(tokens.research, {}),
      },
      {
        title: 'masked: JSON',
        caller: 'sa/support-bot',
        expect: { status: 200, body: /\[MASKED:email\].*\[MASKED:credit-card\]/ },
        run: () => call(tokens.support, { messages: [{ role: 'user', content: secret }] }),
      },
      {
        title: 'masked: streamed',
        caller: 'sa/support-bot',
        expect: { status: 200, body: /\[MASKED:email\].*\[MASKED:ticket-id\]/ },
        run: () => call(tokens.support, { stream: true, messages: [{ role: 'user', content: secret }] }),
      },
      {
        title: 'held: Opus needs approval',
        caller: 'sa/ops-bot',
        expect: { status: 403, decision: 'approval-required', body: /needs approval/ },
        run: async () => {
          const r = await call(tokens.ops, { model: 'claude-opus-4-1' }, { 'x-scopekeeper-reason': 'INC-2231 root cause' });
          held = r.headers.get('x-scopekeeper-approval') ?? '';
          return r;
        },
      },
      {
        title: 'approved by carol, then allowed',
        caller: 'sa/ops-bot',
        expect: { status: 200, decision: 'allow' },
        run: async () => {
          const name = held.split('/')[1]!;
          const file = join(policyDir, `${name}.yaml`);
          const review = parseAllDocuments(await readFile(file, 'utf8'))[0]!.toJS() as { spec: Record<string, unknown> };
          const now = new Date();
          Object.assign(review.spec, {
            decision: 'Approved',
            reviewer: 'carol@example.com',
            reviewedAt: now.toISOString(),
            expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
            justification: 'Approved for INC-2231',
          });
          await writeFile(file, stringify(review));
          for (let i = 0; ; i++) {
            const r = await call(tokens.ops, { model: 'claude-opus-4-1' });
            if (r.status === 200 || i === 40) return r;
            await r.arrayBuffer();
            await new Promise((res) => setTimeout(res, 50));
          }
        },
      },
      {
        title: 'allowed: SAML assertion (SSO group)',
        caller: 'saml/dana (data-analysts)',
        expect: { status: 200, decision: 'allow' },
        run: () => call(tokens.saml, {}),
      },
      {
        title: 'refused: SAML for another SP',
        caller: 'saml/dana (data-analysts)',
        expect: { status: 401, body: /audience/ },
        run: () => call(tokens.samlOtherAudience, {}),
      },
      {
        title: 'refused: expired token',
        caller: 'sa/support-bot',
        expect: { status: 401, body: /expired/ },
        run: () => call(tokens.expired, {}),
      },
      {
        title: 'refused: a static API key',
        caller: 'anyone',
        expect: { status: 401 },
        run: () =>
          fetch(`${base}/v1/messages`, {
            method: 'POST',
            headers: { 'x-api-key': 'sk-ant-api03-static-key-nobody-reviewed', 'content-type': 'application/json' },
            body: '{}',
          }),
      },
      ...mcp.steps,
    ];
    const outcomes: Outcome[] = [];
    for (const step of steps) {
      const res = await step.run();
      const decision = res.headers.get('x-scopekeeper-decision') ?? '-';
      const detail = await describeResponse(res);
      const ok =
        res.status === step.expect.status &&
        (!step.expect.decision || decision === step.expect.decision) &&
        (!step.expect.body || step.expect.body.test(detail));
      outcomes.push({ step, status: res.status, decision, detail, ok });
    }
    await new Promise((r) => setTimeout(r, 100));
    await world.sidecar.stop();
    sidecar = undefined;
    const chain = await verifyAuditFile(auditFile);
    const chainOk = chain.ok && chain.records >= steps.length;
    out(
      `\nscopekeeper demo — sidecar on ${base}, policy from a copy of examples/ (namespace ${NS}), upstream: ${stub ? 'local stand-in' : 'api.anthropic.com'}\n`,
    );
    out(table(outcomes));
    out(
      `\naudit: ${chain.records} records${opts.once ? '' : ` in ${auditFile}`}, hash chain ${chain.ok ? 'intact' : `BROKEN at line ${chain.firstBad?.line}`}${opts.once ? '' : ` (check: scopekeeper audit verify ${auditFile})`}`,
    );
    out(`\nused against granted (what \`scopekeeper reviews usage <scope> --audit <file>\` shows a reviewer):\n`);
    out(await usageTable(policyDir, auditFile));
    const passed = outcomes.every((o) => o.ok) && chainOk;
    out(
      passed
        ? `\nall ${outcomes.length} steps behaved as expected.`
        : `\n${outcomes.filter((o) => !o.ok).length} step(s) did not behave as expected.`,
    );
    if (!opts.once) {
      const live = await runSidecar(
        { ...world.flags, listen: '127.0.0.1:15180', admin: '127.0.0.1:15181', auditRequired: false },
        createLogger('warn'),
      );
      sidecar = live.sidecar;
      const token = await issuer.mint({ sub: `system:serviceaccount:${NS}:support-bot`, ttlSeconds: 3600 });
      out(`\nThe sidecar keeps running on ${live.urls.data} (metrics on ${live.urls.admin}/metrics). Point the Claude Agent SDK at it:\n`);
      out(`  export ANTHROPIC_BASE_URL=${live.urls.data}`);
      out(`  export ANTHROPIC_AUTH_TOKEN=${token}`);
      out(`  export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`);
      out(`  # then query({ prompt: "...", options: { model: "claude-sonnet-4-6", env: { ...process.env } } })`);
      const assertionFile = join(world.dir, 'saml-assertion.b64');
      await writeFile(assertionFile, world.samlAssertion('dana@example.com', ['data-analysts'], { ttlSeconds: 3600 }), { mode: 0o600 });
      out(`\nOr sign in through the local SAML IdP (${world.samlIdp.entityId}, metadata ${world.flags.samlIdpMetadata?.[0]}):`);
      out(`  settings: { apiKeyHelper: "cat ${assertionFile}" }   # a signed assertion for group data-analysts, valid 1 h`);
      out(`\nMCP servers go through the sidecar too (the CRM's MCP server is ${mcp.crm.url}, scope crm-mcp-agent):`);
      out(
        `  mcpServers: { crm: { type: "http", url: "${live.urls.data}/services/crm/mcp", headers: { authorization: "Bearer <token of sa/crm-agent-bot>" } } }`,
      );
      out(`\nPolicy files: ${policyDir} (edit them; the sidecar reloads). Audit log: ${auditFile}. Ctrl-C stops.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return passed;
  } finally {
    await sidecar?.stop();
    await mcp.close();
    await world.close();
  }
}
