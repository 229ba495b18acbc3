// Durations as the CRDs write them: 90d, 14d, 1h, 30m, 1h30m, 45s, 2w.
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(?:[0-9]+[smhdw])+$/;
const PART = /([0-9]+)([smhdw])/g;

export function parseDuration(text: string): number {
  if (!DURATION.test(text)) {
    throw new Error(`invalid duration "${text}": write a number and a unit (s, m, h, d, w), for example 90d or 1h30m`);
  }
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= 86_400_000) return `${Math.floor(ms / 86_400_000)}d`;
  if (abs >= 3_600_000) return `${Math.floor(ms / 3_600_000)}h`;
  if (abs >= 60_000) return `${Math.floor(ms / 60_000)}m`;
  return `${Math.floor(ms / 1_000)}s`;
}
