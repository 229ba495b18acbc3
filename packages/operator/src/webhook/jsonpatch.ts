// RFC 6902 JSON Patch: the operations the mutating webhooks answer with, computed by diffing the
// object as received with the mutated deep copy (as controller-runtime's defaulting webhook and
// Pepr do), and a small applier (add / replace / remove / test) for tests and for checking a
// patch before it is sent.

export type JsonPatchOp = { op: 'add' | 'replace' | 'test'; path: string; value: unknown } | { op: 'remove'; path: string };

/** Escapes one reference token of a JSON pointer (RFC 6901): `~` → `~0`, `/` → `~1`. */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function tokens(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`JSON pointer ${JSON.stringify(path)} must start with "/"`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

/** Applies `ops` to a deep copy of `doc` and returns it; throws on a path that does not resolve. */
export function applyPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  const root = { '': clone(doc) } as Record<string, unknown>;
  for (const op of ops) {
    const ts = ['', ...tokens(op.path)];
    const last = ts.pop()!;
    let parent: unknown = root;
    for (const t of ts) {
      parent = Array.isArray(parent) ? parent[Number(t)] : member(parent as Record<string, unknown>, t);
      if (parent === null || typeof parent !== 'object') throw new Error(`JSON patch ${op.op} ${op.path}: parent does not exist`);
    }
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length || (op.op !== 'add' && i >= parent.length)) {
        throw new Error(`JSON patch ${op.op} ${op.path}: index out of range`);
      }
      if (op.op === 'add') parent.splice(i, 0, clone(op.value));
      else if (op.op === 'replace') parent[i] = clone(op.value);
      else if (op.op === 'remove') parent.splice(i, 1);
      else if (JSON.stringify(parent[i]) !== JSON.stringify(op.value)) throw new Error(`JSON patch test ${op.path} failed`);
    } else {
      const o = parent as Record<string, unknown>;
      if ((op.op === 'replace' || op.op === 'remove') && !Object.hasOwn(o, last))
        throw new Error(`JSON patch ${op.op} ${op.path}: no such member`);
      // A member is an own property whatever its name: `o['__proto__'] = v` would set o's prototype.
      if (op.op === 'add' || op.op === 'replace')
        Object.defineProperty(o, last, { value: clone(op.value), writable: true, enumerable: true, configurable: true });
      else if (op.op === 'remove') delete o[last];
      else if (JSON.stringify(member(o, last)) !== JSON.stringify(op.value)) throw new Error(`JSON patch test ${op.path} failed`);
    }
  }
  return root[''] as T;
}

/** An object's own member: a path through `__proto__` or `constructor` must not reach Object.prototype. */
function member(o: Record<string, unknown> | undefined, key: string): unknown {
  return o !== undefined && Object.hasOwn(o, key) ? o[key] : undefined;
}

/** JSON with object keys sorted (and undefined members dropped): equal values give equal strings. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Deep equality of JSON values, undefined members counting as absent (what canonicalJson compares, without the strings). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The JSON Patch that turns `from` into `to`: objects member by member, arrays of equal length
 * element by element, any other array replaced whole (a pod's lists are short, and a whole
 * replacement cannot be misapplied). Equal values give no operation, so a mutation that changes
 * nothing answers with an empty patch.
 */
export function diffPatch(from: unknown, to: unknown, path = ''): JsonPatchOp[] {
  if (jsonEqual(from, to)) return [];
  if (isObject(from) && isObject(to)) {
    const ops: JsonPatchOp[] = [];
    const has = (o: Record<string, unknown>, k: string) => Object.hasOwn(o, k) && o[k] !== undefined;
    for (const k of Object.keys(from)) {
      if (has(from, k) && !has(to, k)) ops.push({ op: 'remove', path: `${path}/${escapePointer(k)}` });
    }
    for (const k of Object.keys(to)) {
      if (!has(to, k)) continue;
      const p = `${path}/${escapePointer(k)}`;
      if (!has(from, k)) ops.push({ op: 'add', path: p, value: clone(to[k]) });
      else ops.push(...diffPatch(from[k], to[k], p));
    }
    return ops;
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length === to.length)
    return from.flatMap((x, i) => diffPatch(x, to[i], `${path}/${i}`));
  return [{ op: 'replace', path, value: clone(to) }];
}
