// Maximum throughput with wrk (closed loop: every connection sends its next request as soon as
// the previous answer is in). One wrk thread, pinned to the load generator's core.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const WRK = process.env.WRK_BIN ?? '/usr/bin/wrk';

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  non2xx: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

function luaString(s: string): string {
  if (s.includes(']==]')) throw new Error('body contains ]==]');
  return `[==[${s}]==]`;
}

export function writeWrkScript(dir: string, name: string, headers: Record<string, string>, body: string): string {
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${luaString(body)}`,
    'wrk.headers["content-type"] = "application/json"',
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`),
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n\',',
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))',
    'end',
  ];
  const file = join(dir, `${name}.lua`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export function runWrk(
  core: number,
  url: string,
  script: string,
  opts: { connections: number; durationS: number; timeoutS?: number },
): Promise<WrkResult> {
  const argv = [
    '-c',
    String(core),
    WRK,
    '-t1',
    `-c${opts.connections}`,
    `-d${opts.durationS}s`,
    `--timeout`,
    `${opts.timeoutS ?? 5}s`,
    '-s',
    script,
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    const kill = setTimeout(() => child.kill('SIGKILL'), (opts.durationS + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(kill);
      const m = /WRKJSON (\{.*\})/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`wrk failed (exit ${code}): ${err || out}`));
      const j = JSON.parse(m[1]!) as Record<string, number>;
      const durationS = j.duration_us! / 1e6;
      resolve({
        requests: j.requests!,
        durationS,
        rps: (j.requests! - j.status!) / durationS,
        non2xx: j.status!,
        errors: j.connect! + j.read! + j.write! + j.timeout!,
        latencyMs: { p50: j.p50! / 1000, p90: j.p90! / 1000, p99: j.p99! / 1000, max: j.max! / 1000 },
      });
    });
  });
}
