// LiteLLM's proxy, installed with pip into a virtualenv in the cache folder (outside the repo)
// and configured with the upstream stand-in as its Anthropic api_base. Its Anthropic-format
// endpoint (POST /v1/messages) takes the same request body as the others.
import { existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MODEL } from './fixtures.ts';
import { startPinned, waitFor, type Started } from './proc.ts';

export const CACHE = process.env.SCOPEKEEPER_CACHE ?? join(homedir(), '.cache', 'scopekeeper');
export const VENV = join(CACHE, 'bench', 'litellm-venv');
export const MASTER_KEY = 'sk-bench-litellm-master';
/** The streamed variant is a second model name whose upstream requests carry x-bench-stream: 1 (how the canned upstream picks SSE). */
export const SSE_MODEL = `${MODEL}-sse`;

/** Ensures the venv has litellm[proxy]; returns its version, or throws why it cannot. */
export function ensureLitellm(log: (s: string) => void): string {
  const bin = join(VENV, 'bin', 'litellm');
  if (!existsSync(bin)) {
    const py = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
    if (!py) throw new Error('no python3 on PATH to create the LiteLLM virtualenv');
    log(`installing litellm[proxy] into ${VENV} (pip, ~1 min, once)…`);
    const v = spawnSync(py, ['-m', 'venv', VENV], { encoding: 'utf8' });
    if (v.status !== 0) throw new Error(`python3 -m venv failed: ${(v.stderr || v.stdout).trim().slice(-400)}`);
    const p = spawnSync(join(VENV, 'bin', 'pip'), ['install', '-q', 'litellm[proxy]'], { encoding: 'utf8', timeout: 900_000 });
    if (p.status !== 0) throw new Error(`pip install litellm[proxy] failed: ${(p.stderr || p.stdout).trim().slice(-400)}`);
  }
  const v = spawnSync(join(VENV, 'bin', 'python'), ['-c', 'import importlib.metadata as m; print(m.version("litellm"))'], {
    encoding: 'utf8',
  });
  if (v.status !== 0) throw new Error(`litellm is installed in ${VENV} but does not import: ${(v.stderr || '').trim().slice(-400)}`);
  return v.stdout.trim();
}

export async function startLitellm(core: number, dir: string, port: number, upstream: string, upstreamKey: string): Promise<Started> {
  const model = (name: string, extra: string) =>
    `  - model_name: ${name}\n    litellm_params:\n      model: anthropic/${MODEL}\n      api_base: ${upstream}\n      api_key: ${upstreamKey}\n${extra}`;
  const config =
    'model_list:\n' +
    model(MODEL, '') +
    model(SSE_MODEL, '      extra_headers: {x-bench-stream: "1"}\n') +
    `general_settings:\n  master_key: ${MASTER_KEY}\n` +
    'litellm_settings:\n  telemetry: false\n  turn_off_message_logging: true\n';
  const cfg = join(dir, 'litellm.yaml');
  writeFileSync(cfg, config);
  // As nginx runs with access_log off: no per-request access log lines.
  const logCfg = join(dir, 'litellm-logging.json');
  writeFileSync(
    logCfg,
    JSON.stringify({
      version: 1,
      disable_existing_loggers: false,
      handlers: { stderr: { class: 'logging.StreamHandler', stream: 'ext://sys.stderr' } },
      loggers: {
        'uvicorn.access': { level: 'WARNING', handlers: ['stderr'], propagate: false },
        uvicorn: { level: 'WARNING', handlers: ['stderr'] },
        LiteLLM: { level: 'ERROR' },
      },
    }),
  );
  const env = {
    ...process.env,
    // No network beyond loopback: use the bundled model cost map instead of fetching it.
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    LITELLM_LOG: 'ERROR',
    LITELLM_TELEMETRY: 'False',
    DISABLE_SCHEMA_UPDATE: 'True',
    NO_DOCS: 'True',
  };
  const s = startPinned(
    'litellm',
    core,
    [
      join(VENV, 'bin', 'litellm'),
      '--config',
      cfg,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--num_workers',
      '1',
      '--log_config',
      logCfg,
    ],
    { env, log: join(dir, 'litellm.log') },
  );
  await waitFor(
    'LiteLLM',
    async () => {
      if (s.child.exitCode !== null) throw new Error(`LiteLLM exited with ${s.child.exitCode}; see ${s.log}`);
      const r = await fetch(`http://127.0.0.1:${port}/health/liveliness`);
      await r.arrayBuffer();
      return r.status === 200;
    },
    120_000,
    200,
  );
  return s;
}
