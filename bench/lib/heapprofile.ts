// Summarises a sampling heap profile (bench/lib/alloc-sampler.mjs): bytes allocated by function
// and by component, named as bench/lib/cpuprofile.ts names a CPU profile's frames.
//
//   node bench/lib/heapprofile.ts FILE.json [top] [requests]   (requests: also show KB per request)
import { readFileSync } from 'node:fs';
import { describeFrame } from './cpuprofile.ts';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

export interface AllocSummary {
  totalBytes: number;
  functions: { name: string; where: string; component: string; bytes: number; pct: number }[];
  components: { component: string; bytes: number; pct: number }[];
}

export function summariseAllocations(file: string, top = 25): AllocSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { head?: HeapNode; error?: string };
  if (!profile.head) throw new Error(`${file}: no heap profile (${profile.error ?? 'empty'})`);
  const fn = new Map<string, { name: string; where: string; component: string; bytes: number }>();
  const comp = new Map<string, number>();
  let total = 0;
  // Iterative: a deep stack of frames must not overflow ours.
  const stack: HeapNode[] = [profile.head];
  while (stack.length > 0) {
    const n = stack.pop()!;
    stack.push(...n.children);
    if (n.selfSize === 0) continue;
    const f = describeFrame(n.callFrame);
    total += n.selfSize;
    comp.set(f.component, (comp.get(f.component) ?? 0) + n.selfSize);
    const key = `${f.name}|${f.where}`;
    const e = fn.get(key) ?? { ...f, bytes: 0 };
    e.bytes += n.selfSize;
    fn.set(key, e);
  }
  const pct = (b: number) => (total ? (100 * b) / total : 0);
  return {
    totalBytes: total,
    functions: [...fn.values()]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, top)
      .map((f) => ({ ...f, pct: pct(f.bytes) })),
    components: [...comp.entries()].sort((a, b) => b[1] - a[1]).map(([component, bytes]) => ({ component, bytes, pct: pct(bytes) })),
  };
}

/** The summary as text; with `requests`, each figure also per request. */
export function formatAllocations(s: AllocSummary, requests?: number): string {
  const per = (b: number) => (requests ? `  ${(b / requests / 1024).toFixed(2).padStart(6)} KB/req` : '');
  const mb = (b: number) => `${(b / 1048576).toFixed(1).padStart(7)} MB`;
  const lines = [`allocated ${mb(s.totalBytes).trim()}${per(s.totalBytes)}`, '', 'by component:'];
  for (const c of s.components) lines.push(`${c.pct.toFixed(1).padStart(6)}% ${mb(c.bytes)}${per(c.bytes)}  ${c.component}`);
  lines.push('', 'top functions (self):');
  for (const f of s.functions)
    lines.push(`${f.pct.toFixed(1).padStart(6)}% ${mb(f.bytes)}${per(f.bytes)}  ${f.name}  ${f.where}  [${f.component}]`);
  return lines.join('\n');
}

if (import.meta.main) {
  const requests = process.argv[4] ? Number(process.argv[4]) : undefined;
  console.log(formatAllocations(summariseAllocations(process.argv[2]!, Number(process.argv[3] ?? 30)), requests));
}
