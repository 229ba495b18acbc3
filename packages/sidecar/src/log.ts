// Structured logs on stderr (stdout carries audit records when the stdout sink is on).
// Callers never pass tokens, keys or bodies; the redact list is a second line of defence.
import { pino } from 'pino';

export type Logger = Pick<pino.Logger, 'info' | 'warn' | 'error' | 'debug'>;

export function createLogger(level = process.env.SCOPEKEEPER_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { component: 'scopekeeper' },
      redact: { paths: ['token', 'authorization', 'headers.authorization', 'headers["x-api-key"]', 'apiKey', 'key'], censor: '[redacted]' },
    },
    pino.destination(2),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
