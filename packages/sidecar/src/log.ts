// Structured logs on stderr (stdout carries audit records when the stdout sink is on): one JSON
// line per entry, in pino's shape ({"level":30,"time":…,"component":"scopekeeper",…,"msg":…}).
// Written here rather than with pino: the sidecar of every pod writes a handful of lines, and
// pino's modules cost it ~14 ms of start-up and ~2.5 MB of RSS. Callers never pass tokens, keys
// or bodies; the redacted fields below are a second line of defence.

export interface Logger {
  debug(fields: object, msg?: string): void;
  info(fields: object, msg?: string): void;
  warn(fields: object, msg?: string): void;
  error(fields: object, msg?: string): void;
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVELS;

/** Field names whose values never reach a log line, at the top level and under `headers`. */
const REDACTED = new Set(['token', 'authorization', 'apiKey', 'key']);
const REDACTED_HEADERS = new Set(['authorization', 'x-api-key']);
const CENSOR = '[redacted]';

function clean(fields: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (REDACTED.has(k)) out[k] = CENSOR;
    else if (k === 'headers' && v !== null && typeof v === 'object') {
      const h: Record<string, unknown> = {};
      for (const [hk, hv] of Object.entries(v as Record<string, unknown>)) h[hk] = REDACTED_HEADERS.has(hk.toLowerCase()) ? CENSOR : hv;
      out[k] = h;
    } else if (v instanceof Error) out[k] = { type: v.name, message: v.message };
    else out[k] = v;
  }
  return out;
}

/**
 * A logger writing entries at `level` and above (debug, info, warn, error; `silent` writes
 * nothing) to `out` (default: stderr).
 */
export function createLogger(
  level: string = process.env.SCOPEKEEPER_LOG_LEVEL ?? 'info',
  out: { write(line: string): unknown } = process.stderr,
): Logger {
  const min = level === 'silent' ? Infinity : (LEVELS[level as Level] ?? LEVELS.info);
  const write = (lvl: Level) => {
    const n = LEVELS[lvl];
    if (n < min) return () => undefined;
    return (fields: object, msg?: string) => {
      let line: string;
      try {
        line = JSON.stringify({
          level: n,
          time: Date.now(),
          component: 'scopekeeper',
          ...clean(fields),
          ...(msg === undefined ? {} : { msg }),
        });
      } catch {
        line = JSON.stringify({ level: n, time: Date.now(), component: 'scopekeeper', msg, logError: 'fields could not be serialised' });
      }
      out.write(`${line}\n`);
    };
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

export function silentLogger(): Logger {
  return createLogger('silent');
}
