// The validators `npm run build` writes as code (ajv standalone, loaded by the compiled sidecar
// instead of compiling the schemas at start) answer exactly as the ones compiled in process.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { ValidateFunction } from 'ajv';
import { crdSchemas } from '../types/schemas.generated.ts';
import { runtimeValidators, standaloneValidators } from './validate.ts';

function loadStandalone(): Record<string, ValidateFunction> & { schemaDigest: string } {
  const module = { exports: {} as Record<string, unknown> };
  // Resolved as the file beside the compiled validate.js resolves its requires.
  const req = createRequire(new URL('./validate.ts', import.meta.url));
  new Function('module', 'exports', 'require', standaloneValidators())(module, module.exports, req);
  return module.exports as Record<string, ValidateFunction> & { schemaDigest: string };
}

const standalone = loadStandalone();
const runtime = runtimeValidators();

function answer(v: ValidateFunction, doc: unknown): { valid: boolean; errors: unknown; after: unknown } {
  const copy = structuredClone(doc);
  const valid = v(copy) as boolean;
  const errors = (v.errors ?? []).map((e) => ({ path: e.instancePath, keyword: e.keyword, params: e.params }));
  return { valid, errors, after: copy };
}

const SCOPE = {
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name: 's' },
  spec: { subjects: [{ kind: 'ServiceAccount', name: 'bot' }], models: ['claude-*'], review: { period: '90d', onExpiry: 'Deny' } },
};
const REVIEW = {
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'AccessReview',
  metadata: { name: 'r' },
  spec: { scopeRef: { name: 's' }, type: 'Periodic', decision: 'Approved', reviewer: 'c@example.com', reviewedAt: '2026-11-01T10:00:00Z' },
};

test('one validator per kind, tagged with the digest of the schemas it was made from', () => {
  expect(Object.keys(runtime).sort()).toEqual(Object.keys(crdSchemas).sort());
  for (const kind of Object.keys(crdSchemas)) expect(typeof standalone[kind]).toBe('function');
  expect(standalone.schemaDigest).toMatch(/^[0-9a-f]{64}$/);
});

test.each([
  ['a valid scope', 'ModelScope', SCOPE],
  ['a valid review', 'AccessReview', REVIEW],
  ['an unknown field', 'ModelScope', { ...SCOPE, spec: { ...SCOPE.spec, bogus: 1 } }],
  ['a bad date-time', 'AccessReview', { ...REVIEW, spec: { ...REVIEW.spec, reviewedAt: 'yesterday' } }],
  ['a bad enum and a wrong type', 'AccessReview', { ...REVIEW, spec: { ...REVIEW.spec, type: 'Sometimes', reviewer: 7 } }],
  ['no spec', 'ModelScope', { ...SCOPE, spec: undefined }],
])('%s: the same verdict, errors and defaults', (_what, kind, doc) => {
  expect(answer(standalone[kind]!, doc)).toEqual(answer(runtime[kind as keyof typeof runtime], doc));
});

test('arbitrary edits of valid resources: the same answer from both', () => {
  const edit = fc.tuple(
    fc.constantFrom<[string, Record<string, unknown>]>(['ModelScope', SCOPE], ['AccessReview', REVIEW]),
    fc.string({ maxLength: 12 }),
    fc.jsonValue({ maxDepth: 2 }),
  );
  fc.assert(
    fc.property(edit, ([[kind, doc], key, value]) => {
      const edited = { ...doc, spec: { ...(doc.spec as object), [key]: value } };
      expect(answer(standalone[kind]!, edited)).toEqual(answer(runtime[kind as keyof typeof runtime], edited));
    }),
    { numRuns: 300 },
  );
});
