// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by component
// (our packages, each library, Node's internals, GC, idle).
//
//   node bench/lib/cpuprofile.ts FILE.cpuprofile [top]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  functions: { name: string; where: string; component: string; selfMs: number; selfPctOfBusy: number }[];
  components: { component: string; selfMs: number; pctOfBusy: number }[];
}

export function component(url: string, name: string): string {
  if (name === '(idle)') return '(idle)';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return '(program: native, not attributed)';
  if (!url) return name.startsWith('(') ? name : 'native / V8 builtins';
  if (url.startsWith('node:')) {
    if (
      /^node:internal\/(http|_http|streams|stream|net|tcp|dns|url)|^node:(http|_http|net|stream)/.test(url) ||
      /_http_|http_parser|streams\//.test(url)
    )
      return 'node: http / net / streams';
    if (/crypto/.test(url)) return 'node: crypto';
    return 'node: other internals';
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) {
    const pkg = nm[1]!;
    if (pkg.startsWith('@scopekeeper/')) return pkg;
    return pkg;
  }
  const pk = /packages\/([^/]+)\/src\/(?:([^/]+)\/)?/.exec(url);
  if (pk)
    return pk[1] === 'sidecar' || pk[1] === 'core'
      ? `@scopekeeper/${pk[1]}${pk[2] && !pk[2].endsWith('.ts') ? `/${pk[2]}` : ''}`
      : `@scopekeeper/${pk[1]}`;
  return url.replace(/^file:\/\//, '');
}

// A bundle (dist/bin/sidecar/*.js, esbuild) marks where each module's code starts with a comment
// line naming the module's path (`// dist/packages/core/src/x.js`, `// node_modules/express/…`):
// a frame in a bundle is attributed to the module whose mark is the last one above its line.
const marks = new Map<string, { line: number; path: string }[]>();
function bundleModuleAt(url: string, line: number): string | undefined {
  if (!/\/dist\/bin\/sidecar\/[^/]+\.js$/.test(url)) return undefined;
  let m = marks.get(url);
  if (!m) {
    m = [];
    try {
      const lines = readFileSync(new URL(url), 'utf8').split('\n');
      for (let i = 0; i < lines.length; i++) {
        const x = /^\/\/ ((?:dist\/)?(?:packages|node_modules)\/\S+\.[cm]?js)$/.exec(lines[i]!);
        if (x) m.push({ line: i, path: x[1]!.replace(/^dist\//, '') });
      }
    } catch {
      /* not readable: attributed to the bundle file */
    }
    marks.set(url, m);
  }
  let lo = 0;
  let hi = m.length - 1;
  let found: string | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (m[mid]!.line <= line) {
      found = m[mid]!.path;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** A frame's function, where it is (a bundle's frame: the module it came from) and its component. */
export function describeFrame(frame: { functionName: string; url: string; lineNumber: number }): {
  name: string;
  where: string;
  component: string;
} {
  const { functionName, lineNumber } = frame;
  const inBundle = bundleModuleAt(frame.url, lineNumber);
  // The module of the bundle, as the same frame would be named when run unbundled.
  const url = inBundle ? `file:///${inBundle}` : frame.url;
  const name = functionName || '(anonymous)';
  const where = inBundle
    ? `${inBundle.replace(/^node_modules\//, '')} (bundle line ${lineNumber + 1})`
    : url
      ? `${url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/packages\//, 'packages/')}:${lineNumber + 1}`
      : '';
  return { name, where, component: component(url, name) };
}

export function summarise(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, { name: string; where: string; component: string; us: number }>();
  const comp = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const { name, where, component: c } = describeFrame(byId.get(id)!.callFrame);
    total += us;
    if (c === '(idle)') idle += us;
    comp.set(c, (comp.get(c) ?? 0) + us);
    const key = `${name}|${where}`;
    const e = fn.get(key) ?? { name, where, component: c, us: 0 };
    e.us += us;
    fn.set(key, e);
  }
  const busy = total - idle;
  const functions = [...fn.values()]
    .filter((f) => f.component !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((f) => ({ name: f.name, where: f.where, component: f.component, selfMs: f.us / 1000, selfPctOfBusy: (100 * f.us) / busy }));
  const components = [...comp.entries()]
    .filter(([c]) => c !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([component, us]) => ({ component, selfMs: us / 1000, pctOfBusy: (100 * us) / busy }));
  return { totalMs: total / 1000, busyMs: busy / 1000, functions, components };
}

if (import.meta.main) {
  const s = summarise(process.argv[2]!, Number(process.argv[3] ?? 30));
  console.log(`total ${s.totalMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms`);
  console.log('\nby component (self time, % of busy):');
  for (const c of s.components)
    console.log(`${c.pctOfBusy.toFixed(1).padStart(6)}%  ${c.selfMs.toFixed(0).padStart(7)} ms  ${c.component}`);
  console.log('\ntop functions (self time):');
  for (const f of s.functions)
    console.log(
      `${f.selfPctOfBusy.toFixed(1).padStart(6)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}  [${f.component}]`,
    );
}
