// Structured logs on stderr, as the sidecar writes them.
import { pino } from 'pino';
import type { Logger } from '@scopekeeper/kube';

export function createLogger(level = process.env.SCOPEKEEPER_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { component: 'scopekeeper-operator' } }, pino.destination(2));
}
