// Canonical JSON: the one serialisation that audit hashes are computed over.
//
// Object keys are sorted (by UTF-16 code unit, Array.prototype.sort's default) at every depth;
// everything else follows JSON.stringify: `undefined`, functions and symbols are left out of
// objects and become `null` in arrays, non-finite numbers become `null`, `toJSON` is honoured.
// JSON.parse of the output followed by canonicalJson gives the same string back, which is
// what lets a verifier demand that every line is byte-for-byte canonical.

export function canonicalJson(value: unknown): string {
  const out = serialize(value, false);
  if (out === undefined) throw new TypeError('canonicalJson: the value has no JSON representation');
  return out;
}

/**
 * The canonical text of a plain object, and the same text without one top-level key: the
 * members are serialised once. (Verification needs both: the line, and what was hashed.)
 */
export function canonicalWithout(obj: Record<string, unknown>, omit: string): { full: string; without: string } {
  let full = '{';
  let without = '{';
  for (const key of Object.keys(obj).sort()) {
    const v = serialize(obj[key], false);
    if (v === undefined) continue;
    const member = JSON.stringify(key) + ':' + v;
    full += (full.length > 1 ? ',' : '') + member;
    if (key !== omit) without += (without.length > 1 ? ',' : '') + member;
  }
  return { full: full + '}', without: without + '}' };
}

function serialize(value: unknown, inArray: boolean): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('canonicalJson: BigInt has no JSON representation');
    case 'undefined':
    case 'function':
    case 'symbol':
      return inArray ? 'null' : undefined;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + serialize(value[i], true);
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const key of Object.keys(obj).sort()) {
    const v = serialize(obj[key], false);
    if (v === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + v;
    first = false;
  }
  return out + '}';
}
