import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateSchemas, generateTypes, type JsonSchema } from '../src/crd/codegen.ts';
import { formatIssue, validateYaml, validateResource, CEL_EQUIVALENTS } from '../src/validation/validate.ts';
import { readCrds, outputs } from '../scripts/generate-types.ts';
import { brokenCases } from './fixtures/broken-crs.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const crds = readCrds();

describe('CRDs', () => {
  test('generated types and schemas match crds/ (run `npm run generate` after changing a CRD)', () => {
    expect(readFileSync(outputs.types, 'utf8')).toBe(generateTypes(crds));
    expect(readFileSync(outputs.schemas, 'utf8')).toBe(generateSchemas(crds));
  });

  test('both kinds: group, version, namespaced, short names, status subresource, printer columns', () => {
    const byKind = Object.fromEntries(crds.map((c) => [c.spec.names.kind, c as unknown as Record<string, any>]));
    expect(Object.keys(byKind).sort()).toEqual(['AccessReview', 'ModelScope']);
    for (const [kind, short] of [
      ['ModelScope', 'ms'],
      ['AccessReview', 'ar'],
    ] as const) {
      const c = byKind[kind]!;
      expect(c.spec.group).toBe('scopekeeper.dev');
      expect(c.spec.scope).toBe('Namespaced');
      expect(c.spec.names.shortNames).toEqual([short]);
      expect(c.spec.versions[0].name).toBe('v1alpha1');
      expect(c.spec.versions[0].subresources).toEqual({ status: {} });
    }
    const arColumns = byKind.AccessReview!.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name);
    expect(arColumns).toEqual(['Scope', 'Decision', 'Valid', 'Expires', 'Age']);
  });

  test('every field in both schemas has a description', () => {
    const missing: string[] = [];
    const walk = (s: JsonSchema, path: string) => {
      // metadata is the API server's own: a CRD may not describe it.
      if (!s.description && !path.endsWith('.metadata')) missing.push(path);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
    };
    for (const c of crds) walk(c.spec.versions[0]!.schema.openAPIV3Schema, c.spec.names.kind);
    expect(missing).toEqual([]);
  });

  test('every CEL rule in crds/ has an in-process equivalent', () => {
    const rules: string[] = [];
    const walk = (s: JsonSchema) => {
      for (const r of (s['x-kubernetes-validations'] as { rule: string }[] | undefined) ?? []) rules.push(r.rule);
      for (const v of Object.values(s.properties ?? {})) walk(v);
      if (s.items) walk(s.items);
    };
    for (const c of crds) walk(c.spec.versions[0]!.schema.openAPIV3Schema);
    for (const r of rules) expect(Object.keys(CEL_EQUIVALENTS)).toContain(r);
    // and no equivalent is left over from a rule the CRDs no longer carry
    expect(new Set(rules)).toEqual(new Set(Object.keys(CEL_EQUIVALENTS)));
  });
});

describe('examples/', () => {
  const files = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml'));
  test('hold what the demo plays: scopes, and reviews of both types', () => {
    const kinds = files.flatMap((f) =>
      validateYaml(readFileSync(join(root, 'examples', f), 'utf8'), f).resources.map((r) =>
        r.kind === 'AccessReview' ? `AccessReview/${(r.spec as { type: string }).type}` : r.kind,
      ),
    );
    expect(new Set(kinds)).toEqual(new Set(['ModelScope', 'AccessReview/Periodic', 'AccessReview/JustInTime']));
  });
  test.each(files)('%s validates', (f) => {
    const r = validateYaml(readFileSync(join(root, 'examples', f), 'utf8'), `examples/${f}`);
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect(r.resources.length).toBeGreaterThan(0);
  });
});

describe('broken CRs are refused naming the field', () => {
  test.each(brokenCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = validateResource(structuredClone(c.object), 'broken.yaml');
    expect(r.resource).toBeUndefined();
    const messages = r.issues.map(formatIssue);
    expect(messages.some((m) => m.includes(`${c.field}:`) || m.includes(`${c.field} `))).toBe(true);
    for (const m of messages) expect(m.startsWith('broken.yaml: ')).toBe(true);
  });
});

describe('validateYaml', () => {
  test('names the document in a multi-document file and says what to do', () => {
    const text = `apiVersion: scopekeeper.dev/v1alpha1\nkind: ModelScope\nmetadata: {name: ok}\nspec: {subjects: [{kind: User, name: a}], models: [x]}\n---\napiVersion: scopekeeper.dev/v1alpha1\nkind: AccessReview\nmetadata: {name: bad}\nspec: {scopeRef: {name: ok}, type: Periodic, decision: Maybe}\n`;
    const r = validateYaml(text, 'team.yaml');
    expect(r.resources).toHaveLength(1);
    expect(r.issues.map(formatIssue)).toEqual([
      'team.yaml#2: AccessReview bad: spec.decision: Unsupported value; use one of: Pending, Approved, Revoked.',
    ]);
  });
  test('applies schema defaults like the API server', () => {
    const r = validateYaml(
      `apiVersion: scopekeeper.dev/v1alpha1\nkind: ModelScope\nmetadata: {name: d}\nspec: {subjects: [{kind: User, name: a}], models: [x], limits: {}, review: {}}\n`,
      'd.yaml',
    );
    const spec = (r.resources[0] as { spec: Record<string, any> }).spec;
    expect(spec.limits).toEqual({ streaming: true, thinking: false });
    expect(spec.review).toEqual({ period: '90d', expiringSoonWindow: '14d', onExpiry: 'Deny' });
  });
  test('refuses invalid YAML, a wrong kind, a wrong apiVersion and a bad name', () => {
    expect(validateYaml('a: [', 'x.yaml').issues[0]!.message).toMatch(/not valid YAML/);
    expect(validateResource({ apiVersion: 'scopekeeper.dev/v1alpha1', kind: 'Pod', metadata: { name: 'p' } }, 'x').issues[0]!.field).toBe(
      'kind',
    );
    expect(validateResource({ apiVersion: 'v1', kind: 'ModelScope' }, 'x').issues[0]!.field).toBe('apiVersion');
    const bad = validateResource(
      {
        apiVersion: 'scopekeeper.dev/v1alpha1',
        kind: 'ModelScope',
        metadata: { name: 'Bad_Name' },
        spec: { subjects: [{ kind: 'User', name: 'a' }], models: ['x'] },
      },
      'x',
    );
    expect(bad.issues[0]!.field).toBe('metadata.name');
  });
});
