// Helpers for the audit tests: events, temporary folders and sinks that fail on demand.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '@scopekeeper/core';
import type { AuditSink } from './sink.ts';

export function ev(i: number): AuditEvent {
  return {
    time: new Date(Date.UTC(2026, 10, 1, 10, 0, 0, i % 1000)).toISOString(),
    requestId: `req_${i}`,
    subject: 'system:serviceaccount:team-a:support-bot',
    namespace: 'team-a',
    scope: 'support-agent',
    route: 'messages',
    method: 'POST',
    path: '/v1/messages',
    model: 'claude-sonnet-4-5',
    decision: 'allow',
    reasons: [],
    status: 200,
    latencyMs: 0.4,
    bodySha256: 'ab'.repeat(32),
  };
}

export async function tempDir(): Promise<{ dir: string; file: (name: string) => string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sk-audit-'));
  return { dir, file: (name) => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** An in-memory sink that keeps what it was given and fails while `down` is set. */
export class MemorySink implements AuditSink {
  readonly lines: string[] = [];
  readonly batches: number[] = [];
  down: Error | undefined;
  writes = 0;
  delayMs = 0;
  readonly name: string;
  constructor(name = 'memory') {
    this.name = name;
  }
  async write(lines: string[]): Promise<void> {
    this.writes++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.down) throw this.down;
    this.batches.push(lines.length);
    this.lines.push(...lines);
  }
  async close(): Promise<void> {}
}

export const seqs = (lines: string[]) => lines.map((l) => JSON.parse(l).seq as number);
export const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
