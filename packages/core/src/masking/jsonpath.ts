// The JSONPath subset of ModelScope endpoints[].maskFields:
//   $.a.b        child members          $['a b'] / $["a"]   bracketed member names
//   $.a[*].b     every element/member   $.a.*               every member (same as [*])
//   $.a[0]       one array element      $..b                b at any depth ($..* everything)
// Matched values (of any type) are replaced whole by the string "[MASKED:field]".

import { MaskingConfigError } from './errors.ts';

type Selector = { k: 'name'; name: string } | { k: 'any' } | { k: 'index'; i: number };
interface Segment {
  deep: boolean;
  sel: Selector;
}
export type JsonPath = readonly Segment[];

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

export function parseJsonPath(path: string, field = 'maskFields'): JsonPath {
  const bad = (at: number, what: string): never => {
    throw new MaskingConfigError(
      field,
      `JSONPath ${JSON.stringify(path)} at offset ${at}: ${what}. Supported: $.a.b, $.a[*].b, $.a[0], $..b, $['a b']`,
    );
  };
  if (path[0] !== '$') bad(0, "a path starts with '$'");
  const segs: Segment[] = [];
  let i = 1;
  while (i < path.length) {
    let deep = false;
    if (path.startsWith('..', i)) {
      deep = true;
      i += 2;
      if (path[i] === '[') {
        const r = bracket(i);
        segs.push({ deep, sel: r.sel });
        i = r.next;
        continue;
      }
    } else if (path[i] === '.') {
      i++;
    } else if (path[i] === '[') {
      const r = bracket(i);
      segs.push({ deep, sel: r.sel });
      i = r.next;
      continue;
    } else {
      bad(i, "expected '.', '..' or '['");
    }
    if (path[i] === '*') {
      segs.push({ deep, sel: { k: 'any' } });
      i++;
      continue;
    }
    const m = NAME.exec(path.slice(i));
    if (m === null) return bad(i, "expected a member name (use ['…'] for names with other characters)");
    segs.push({ deep, sel: { k: 'name', name: m[0] } });
    i += m[0].length;
  }
  return segs;

  function bracket(at: number): { sel: Selector; next: number } {
    const rest = path.slice(at);
    if (rest.startsWith('[*]')) return { sel: { k: 'any' }, next: at + 3 };
    const idx = /^\[([0-9]{1,9})\]/.exec(rest);
    if (idx !== null) return { sel: { k: 'index', i: Number(idx[1]) }, next: at + idx[0].length };
    const q = rest[1];
    if (q === "'" || q === '"') {
      let name = '';
      let j = 2;
      for (;;) {
        const c = rest[j];
        if (c === undefined) return bad(at, 'unterminated quoted name');
        if (c === '\\') {
          const n = rest[j + 1];
          if (n === undefined) return bad(at + j, 'unterminated escape');
          name += n;
          j += 2;
          continue;
        }
        if (c === q) break;
        name += c;
        j++;
      }
      if (rest[j + 1] !== ']') return bad(at + j + 1, "expected ']'");
      return { sel: { k: 'name', name }, next: at + j + 2 };
    }
    return bad(at, "expected [*], [<index>] or ['<name>']");
  }
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null && !(JSON as unknown as { isRawJSON(v: unknown): boolean }).isRawJSON(v);
}

function children(v: Container, sel: Selector, visit: (key: string | number, child: unknown) => void): void {
  if (Array.isArray(v)) {
    if (sel.k === 'index') {
      if (sel.i < v.length) visit(sel.i, v[sel.i]);
    } else if (sel.k === 'any') {
      for (let i = 0; i < v.length; i++) visit(i, v[i]);
    }
    return;
  }
  if (sel.k === 'name') {
    if (Object.prototype.hasOwnProperty.call(v, sel.name)) visit(sel.name, v[sel.name]);
  } else if (sel.k === 'any') {
    for (const k of Object.keys(v)) visit(k, v[k]);
  }
}

function allChildren(v: Container, visit: (child: unknown) => void): void {
  if (Array.isArray(v)) for (const c of v) visit(c);
  else for (const k of Object.keys(v)) visit(v[k]);
}

/**
 * Replaces every value the paths select with `replacement`. Returns the (possibly new) root
 * and how many values were replaced. A value inside an already replaced one is not counted.
 */
export function applyJsonPaths(root: unknown, paths: readonly JsonPath[], replacement: string): { root: unknown; replaced: number } {
  let replaced = 0;
  let out = root;
  for (const path of paths) {
    if (path.length === 0) {
      if (out !== replacement) {
        out = replacement;
        replaced++;
      }
      continue;
    }
    const hits: [Container, string | number][] = [];
    const walk = (node: unknown, i: number): void => {
      if (!isContainer(node)) return;
      const seg = path[i]!;
      const last = i === path.length - 1;
      children(node, seg.sel, (key, child) => {
        if (last) hits.push([node, key]);
        else walk(child, i + 1);
      });
      if (seg.deep) {
        allChildren(node, (child) => {
          // a selected value is replaced whole: do not look for more matches inside it
          if (last && isSelected(node, child, seg.sel)) return;
          walk(child, i);
        });
      }
    };
    walk(out, 0);
    for (const [c, k] of hits) {
      if (Array.isArray(c)) c[k as number] = replacement;
      else c[k as string] = replacement;
      replaced++;
    }
  }
  return { root: out, replaced };
}

function isSelected(node: Container, child: unknown, sel: Selector): boolean {
  if (sel.k === 'any') return true;
  if (Array.isArray(node)) return sel.k === 'index' && node[sel.i] === child;
  return sel.k === 'name' && (node as Record<string, unknown>)[sel.name] === child;
}
