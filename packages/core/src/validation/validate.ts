// Validates ModelScope / AccessReview documents against the CRD schemas (embedded from
// crds/) plus the CEL rules the API server enforces, so file mode refuses exactly what a
// cluster would, with messages that name the file, the field and the fix.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { crdSchemas } from '../types/schemas.generated.ts';
import type { AccessReview, ModelScope } from '../types/generated.ts';
import type { JsonSchema } from '../crd/codegen.ts';

export type Kind = keyof typeof crdSchemas;
export type Resource = ModelScope | AccessReview;
export const API_VERSION = 'scopekeeper.dev/v1alpha1';

export interface ValidationIssue {
  source: string;
  kind?: string;
  name?: string;
  /** Dotted path of the field, e.g. spec.models[0]. */
  field: string;
  message: string;
}

export function formatIssue(i: ValidationIssue): string {
  const what = i.kind ? `${i.kind}${i.name ? ` ${i.name}` : ''}: ` : '';
  return `${i.source}: ${what}${i.field ? `${i.field}: ` : ''}${i.message}`;
}

export class ValidationError extends Error {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}

type CelCheck = (self: Record<string, unknown>) => boolean;

const has = (o: Record<string, unknown>, k: string) => o[k] !== undefined && o[k] !== null;

/** The CEL rules of crds/, evaluated in process. A test checks every rule there has an entry here. */
export const CEL_EQUIVALENTS: Record<string, CelCheck> = {
  "self.decision != 'Approved' || has(self.reviewer)": (s) => s.decision !== 'Approved' || has(s, 'reviewer'),
  "self.decision != 'Approved' || has(self.reviewedAt)": (s) => s.decision !== 'Approved' || has(s, 'reviewedAt'),
  "self.decision != 'Approved' || has(self.expiresAt)": (s) => s.decision !== 'Approved' || has(s, 'expiresAt'),
  "self.decision != 'Approved' || (has(self.justification) && self.justification.matches('[^ \\t\\r\\n]'))": (s) =>
    s.decision !== 'Approved' || (typeof s.justification === 'string' && /[^ \t\r\n]/.test(s.justification)),
  '!has(self.reviewedAt) || !has(self.expiresAt) || self.expiresAt > self.reviewedAt': (s) =>
    !has(s, 'reviewedAt') || !has(s, 'expiresAt') || Date.parse(String(s.expiresAt)) > Date.parse(String(s.reviewedAt)),
  "self.type != 'JustInTime' || has(self.request)": (s) => s.type !== 'JustInTime' || has(s, 'request'),
  "self.kind != 'ServiceAccount' || !has(self.issuer)": (s) => s.kind !== 'ServiceAccount' || !has(s, 'issuer'),
  '!has(self.approval) || !has(self.approval.requiredFor) || (has(self.approval.approvers) && size(self.approval.approvers) > 0)': (s) => {
    const a = s.approval as Record<string, unknown> | undefined;
    return !a || !has(a, 'requiredFor') || (Array.isArray(a.approvers) && a.approvers.length > 0);
  },
};

interface CelRule {
  path: string[];
  rule: string;
  message: string;
  fieldPath?: string;
  check: CelCheck;
}

/** Makes the schema strict (unknown fields are errors, as with kubectl's strict validation) and collects CEL rules. */
function prepare(schema: JsonSchema, path: string[], rules: CelRule[]): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-')) continue;
    if (k === 'format' && (v === 'int64' || v === 'int32')) continue;
    out[k] = v;
  }
  for (const r of (schema['x-kubernetes-validations'] as { rule: string; message: string; fieldPath?: string }[] | undefined) ?? []) {
    const check = CEL_EQUIVALENTS[r.rule];
    if (!check) throw new Error(`no in-process equivalent for the CEL rule "${r.rule}"; add it to CEL_EQUIVALENTS`);
    rules.push({ path, rule: r.rule, message: r.message, fieldPath: r.fieldPath, check });
  }
  if (schema.properties) {
    out.properties = {};
    for (const [k, v] of Object.entries(schema.properties))
      out.properties[k] = k === 'metadata' ? { type: 'object' } : prepare(v, [...path, k], rules);
    out.additionalProperties = false;
  }
  if (schema.items) out.items = prepare(schema.items, [...path, '*'], rules);
  return out;
}

interface Compiled {
  validate: ValidateFunction;
  rules: CelRule[];
  schema: JsonSchema;
}

let compiled: Map<Kind, Compiled> | undefined;

/** The file `npm run build` writes beside the compiled validate.js: the validators as code (ajv standalone). */
export const PRECOMPILED_VALIDATORS = 'validators.generated.cjs';

function newAjv(source: boolean): InstanceType<typeof AjvModule.default> {
  // Loaded on first use: only file-mode policy validates CRs in process, and ajv costs the
  // sidecar of every pod memory and start-up time it otherwise never uses.
  const require = createRequire(import.meta.url);
  const Ajv = (require('ajv') as typeof AjvModule).default;
  const addFormats = (require('ajv-formats') as { default: (a: InstanceType<typeof AjvModule.default>, f: string[]) => void }).default;
  // Standalone code names the date-time check by a require() of ajv-formats, built with this
  // ajv's own code template (ajv-formats may sit on another ajv copy, whose template this one
  // would not recognise).
  const { _ } = require('ajv') as typeof AjvModule;
  const code = source ? { code: { source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` } } : {};
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, ...code });
  addFormats(ajv, ['date-time']);
  return ajv;
}

function preparedSchemas(): Map<Kind, { schema: JsonSchema; rules: CelRule[] }> {
  const out = new Map<Kind, { schema: JsonSchema; rules: CelRule[] }>();
  for (const kind of Object.keys(crdSchemas) as Kind[]) {
    const rules: CelRule[] = [];
    out.set(kind, { schema: prepare(crdSchemas[kind] as unknown as JsonSchema, [], rules), rules });
  }
  return out;
}

/**
 * The validators as one CommonJS module (ajv's standalone code), keyed by kind and by a digest of
 * the prepared schemas. `npm run build` writes it beside the compiled validate.js, so the sidecar
 * in file mode neither loads ajv's compiler nor compiles the schemas at start (~100 ms).
 */
export function standaloneValidators(): string {
  const require = createRequire(import.meta.url);
  const standaloneCode = (require('ajv/dist/standalone') as { default: (a: unknown, refs: Record<string, string>) => string }).default;
  const ajv = newAjv(true);
  const refs: Record<string, string> = {};
  for (const [kind, p] of preparedSchemas()) {
    ajv.addSchema(p.schema, kind);
    refs[kind] = kind;
  }
  return `${standaloneCode(ajv, refs)}\nmodule.exports.schemaDigest = ${JSON.stringify(schemaDigest())};\n`;
}

function schemaDigest(): string {
  return createHash('sha256').update(JSON.stringify(crdSchemas)).digest('hex');
}

/** The build's precompiled validators when they are there and were made from these schemas; else undefined. */
function precompiled(): Record<string, ValidateFunction> | undefined {
  try {
    const m = createRequire(import.meta.url)(`./${PRECOMPILED_VALIDATORS}`) as Record<string, ValidateFunction> & { schemaDigest?: string };
    const complete = Object.keys(crdSchemas).every((k) => typeof m[k] === 'function');
    return complete && m.schemaDigest === schemaDigest() ? m : undefined;
  } catch {
    return undefined; // the sources, run as they are: compile below
  }
}

/** The validators compiled now, in process (what the sources use; the build's file must agree: a test checks). */
export function runtimeValidators(): Record<Kind, ValidateFunction> {
  const ajv = newAjv(false);
  const out = {} as Record<Kind, ValidateFunction>;
  for (const [kind, p] of preparedSchemas()) out[kind] = ajv.compile(p.schema);
  return out;
}

function compiledSchemas(): Map<Kind, Compiled> {
  if (compiled) return compiled;
  const validators = precompiled() ?? runtimeValidators();
  compiled = new Map();
  for (const [kind, p] of preparedSchemas()) compiled.set(kind, { validate: validators[kind]!, rules: p.rules, schema: p.schema });
  return compiled;
}

function fieldOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function schemaAt(root: JsonSchema, field: string): JsonSchema | undefined {
  let s: JsonSchema | undefined = root;
  for (const part of field.split(/\.|\[\d+\]/).filter(Boolean)) s = s?.properties?.[part] ?? s?.items?.properties?.[part];
  return s;
}

function describe(e: ErrorObject, root: JsonSchema): { field: string; message: string } {
  const field = fieldOf(e.instancePath);
  const p = e.params as Record<string, unknown>;
  // An empty key still gets a visible place in the path.
  const join = (a: string, b: string) => (b === '' ? `${a}[""]` : a ? `${a}.${b}` : b);
  switch (e.keyword) {
    case 'required': {
      const missing = join(field, String(p.missingProperty));
      const desc = schemaAt(root, missing)?.description;
      return { field: missing, message: `Required value: add ${p.missingProperty}${desc ? ` (${desc.replace(/\.$/, '')})` : ''}.` };
    }
    case 'additionalProperties': {
      const known = Object.keys(schemaAt(root, field)?.properties ?? {}).join(', ');
      return { field: join(field, String(p.additionalProperty)), message: `unknown field; check the spelling (allowed here: ${known}).` };
    }
    case 'enum':
      return { field, message: `Unsupported value; use one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}.` };
    case 'type':
      return { field, message: `Invalid value: must be of type ${p.type}.` };
    case 'pattern': {
      const desc = schemaAt(root, field)?.description;
      return { field, message: `Invalid value: must match ${p.pattern}${desc ? ` (${desc.replace(/\.$/, '')})` : ''}.` };
    }
    case 'format':
      return { field, message: `Invalid value: must be an RFC 3339 ${p.format}, for example 2026-11-01T10:00:00Z.` };
    case 'minItems':
      return { field, message: `must have at least ${p.limit} item(s).` };
    case 'maxItems':
      return { field, message: `must have at most ${p.limit} items.` };
    case 'minLength':
      return { field, message: `must not be empty.` };
    case 'maxLength':
      return { field, message: `is too long: at most ${p.limit} characters.` };
    case 'minimum':
    case 'maximum':
      return { field, message: `must be ${e.keyword === 'minimum' ? '>=' : '<='} ${p.limit}.` };
    default:
      return { field, message: e.message ?? e.keyword };
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function valueAt(obj: unknown, path: string[]): unknown[] {
  let values: unknown[] = [obj];
  for (const part of path) {
    const next: unknown[] = [];
    for (const v of values) {
      if (part === '*') {
        if (Array.isArray(v)) next.push(...v);
      } else if (v && typeof v === 'object' && (v as Record<string, unknown>)[part] !== undefined)
        next.push((v as Record<string, unknown>)[part]);
    }
    values = next;
  }
  return values;
}

/** Validates one parsed object. Defaults of the schema are applied in place, as the API server would. */
export function validateResource(obj: unknown, source: string): { resource?: Resource; issues: ValidationIssue[] } {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    return { issues: [{ source, field: '', message: 'is not a YAML mapping; each document must be one ModelScope or AccessReview.' }] };
  }
  const o = obj as Record<string, unknown>;
  const kind = o.kind as string | undefined;
  const meta = o.metadata as Record<string, unknown> | undefined;
  const name = typeof meta?.name === 'string' ? meta.name : undefined;
  const base = { source, kind, name };
  const schemas = compiledSchemas();
  if (o.apiVersion !== API_VERSION) {
    return { issues: [{ ...base, field: 'apiVersion', message: `must be ${API_VERSION} (got ${JSON.stringify(o.apiVersion)}).` }] };
  }
  const c = kind ? schemas.get(kind as Kind) : undefined;
  if (!c) return { issues: [{ ...base, field: 'kind', message: `must be ModelScope or AccessReview (got ${JSON.stringify(kind)}).` }] };
  const issues: ValidationIssue[] = [];
  if (!name) issues.push({ ...base, field: 'metadata.name', message: 'Required value: give the resource a name.' });
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    issues.push({
      ...base,
      field: 'metadata.name',
      message: 'must be a lowercase RFC 1123 subdomain: letters, digits, - and ., starting and ending with a letter or digit.',
    });
  }
  if (!c.validate(o)) {
    const seen = new Set<string>();
    for (const e of c.validate.errors ?? []) {
      const d = describe(e, c.schema);
      const key = `${d.field}|${d.message}`;
      if (!seen.has(key)) issues.push({ ...base, ...d });
      seen.add(key);
    }
  }
  if (issues.length === 0) {
    for (const r of c.rules) {
      for (const self of valueAt(o, r.path)) {
        if (self && typeof self === 'object' && !r.check(self as Record<string, unknown>)) {
          const field = [...r.path, ...(r.fieldPath ? r.fieldPath.split('.').filter(Boolean) : [])].join('.');
          issues.push({ ...base, field, message: `Invalid value: ${r.message}.` });
        }
      }
    }
  }
  return issues.length ? { issues } : { resource: o as unknown as Resource, issues };
}

/** Parses a multi-document YAML text and validates each document. */
export function validateYaml(text: string, source: string): { resources: Resource[]; issues: ValidationIssue[] } {
  const resources: Resource[] = [];
  const issues: ValidationIssue[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    const where = `${source}#${i + 1}`;
    if (doc.errors.length) {
      issues.push({ source: where, field: '', message: `is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}` });
      continue;
    }
    let value: unknown;
    try {
      // toJS() throws for an alias without its anchor, or for alias expansion past the
      // library's limit (a "billion laughs" document): report it like any other YAML error.
      value = doc.toJS();
    } catch (e) {
      issues.push({ source: where, field: '', message: `is not valid YAML: ${(e as Error).message.split('\n')[0]}` });
      continue;
    }
    if (value === null || value === undefined) continue;
    const r = validateResource(value, where);
    issues.push(...r.issues);
    if (r.resource) resources.push(r.resource);
  }
  return { resources, issues };
}

export function isModelScope(r: Resource): r is ModelScope {
  return r.kind === 'ModelScope';
}
export function isAccessReview(r: Resource): r is AccessReview {
  return r.kind === 'AccessReview';
}
