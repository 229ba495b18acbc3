// Property tests of CR validation: arbitrary JSON (and arbitrary edits of valid resources) never
// make it throw; the answer is always either a resource or issues that name a field; and no
// input pollutes Object.prototype.
import fc from 'fast-check';
import { validateResource, validateYaml, type ValidationIssue } from './validate.ts';

const SCOPE = {
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'ModelScope',
  metadata: { name: 'support-agent', namespace: 'team-a' },
  spec: {
    subjects: [
      { kind: 'ServiceAccount', name: 'support-bot' },
      { kind: 'Group', name: 'support-engineers' },
    ],
    models: ['claude-sonnet-4-*'],
    limits: { maxTokens: 8192, streaming: true, thinking: false },
    tools: { allow: ['Read', 'mcp__crm__*'], deny: ['Bash'] },
    data: { mask: ['email'], block: ['private-key'], custom: [{ name: 'ticket-id', pattern: 'TCK-[0-9]{6}', action: 'mask' }] },
    endpoints: [
      { name: 'crm', url: 'http://crm.team-a.svc:8080', methods: ['GET'], paths: ['/customers/**'], maskFields: ['$.customers[*].ssn'] },
    ],
    approval: {
      requiredFor: { models: ['claude-opus-*'], tools: ['Bash'] },
      approvers: [{ kind: 'Group', name: 'security-leads' }],
      grantDuration: '1h',
    },
    review: { period: '90d', reviewers: [{ kind: 'Group', name: 'security-leads' }], expiringSoonWindow: '14d', onExpiry: 'Deny' },
  },
};
const REVIEW = {
  apiVersion: 'scopekeeper.dev/v1alpha1',
  kind: 'AccessReview',
  metadata: { name: 'support-agent-2026q4', namespace: 'team-a' },
  spec: {
    scopeRef: { name: 'support-agent' },
    type: 'Periodic',
    decision: 'Approved',
    reviewer: 'carol@example.com',
    reviewedAt: '2026-11-01T10:00:00Z',
    expiresAt: '2027-01-30T10:00:00Z',
    justification: 'SEC-123',
    evidence: ['https://tickets.example.com/SEC-123'],
  },
};

function check(r: { resource?: unknown; issues: ValidationIssue[] }, objectInput: boolean): void {
  expect(r.resource === undefined).toBe(r.issues.length > 0); // exactly one of the two
  for (const i of r.issues) {
    expect(typeof i.field).toBe('string');
    expect(typeof i.message).toBe('string');
    expect(i.message.length).toBeGreaterThan(0);
    // An object that is not refused as a whole has every problem pinned to a field.
    if (objectInput) expect(i.field).not.toBe('');
  }
}

/** A path into a JSON value, and the value found there replaced, deleted or kept. */
type Edit = { path: number[]; op: 'set' | 'delete'; value: unknown };
const edit: fc.Arbitrary<Edit> = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
  op: fc.constantFrom('set' as const, 'delete' as const),
  value: fc.jsonValue({ maxDepth: 3 }),
});

function applyEdit(root: Record<string, unknown>, e: Edit): void {
  let node: unknown = root;
  for (let i = 0; i < e.path.length; i++) {
    if (typeof node !== 'object' || node === null) return;
    const keys = Array.isArray(node) ? node.map((_, k) => k) : Object.keys(node);
    if (keys.length === 0) return;
    const key = keys[e.path[i]! % keys.length]!;
    if (i === e.path.length - 1) {
      if (e.op === 'delete') {
        if (Array.isArray(node)) node.splice(key as number, 1);
        else delete (node as Record<string | number, unknown>)[key];
      } else (node as Record<string | number, unknown>)[key] = e.value;
      return;
    }
    node = (node as Record<string | number, unknown>)[key];
  }
}

describe('validateResource', () => {
  afterEach(() => {
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
  });

  test('the two base resources are valid (the properties below are not vacuous)', () => {
    expect(validateResource(structuredClone(SCOPE), 's').issues).toEqual([]);
    expect(validateResource(structuredClone(REVIEW), 'r').issues).toEqual([]);
  });

  test('spec.tools.mcpServers lists URLs, optionally after a name and "=" (the CRD pattern): a bare name is an issue', () => {
    const withServers = (mcpServers: string[]) => {
      const s = structuredClone(SCOPE) as { spec: { tools: Record<string, unknown> } };
      s.spec.tools.mcpServers = mcpServers;
      return validateResource(s, 's').issues;
    };
    expect(withServers(['https://crm.example.com/mcp', 'crm=https://crm.example.com/mcp'])).toEqual([]);
    expect(withServers(['crm']).map((i) => [i.field, i.message.slice(0, 60)])).toEqual([
      ['spec.tools.mcpServers[0]', 'Invalid value: must match ^([a-zA-Z0-9_-]{1,128}=)?https:// '],
    ]);
    expect(withServers(['crm=http://crm.example.com/mcp']).map((i) => i.field)).toEqual(['spec.tools.mcpServers[0]']);
  });

  test('arbitrary JSON never throws; a resource or issues, never both', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        check(validateResource(v, 'fuzz'), false);
      }),
      { numRuns: 600 },
    );
  });

  test('arbitrary JSON under apiVersion and kind: every issue names its field', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('ModelScope', 'AccessReview'),
        fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
        fc.jsonValue({ maxDepth: 4 }),
        fc.jsonValue({ maxDepth: 2 }),
        (kind, extra, spec, metadata) => {
          const obj = { ...extra, apiVersion: 'scopekeeper.dev/v1alpha1', kind, metadata, spec };
          check(validateResource(obj, 'fuzz'), true);
        },
      ),
      { numRuns: 600 },
    );
  });

  test.each([
    ['ModelScope', SCOPE],
    ['AccessReview', REVIEW],
  ] as const)('random edits of a valid %s: never throws, every issue names its field', (_kind, base) => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        const obj = structuredClone(base) as Record<string, unknown>;
        for (const e of edits) applyEdit(obj, e);
        const objectInput = typeof obj === 'object' && obj.apiVersion === base.apiVersion && obj.kind === base.kind;
        check(validateResource(obj, 'fuzz'), objectInput);
      }),
      { numRuns: 800 },
    );
  });

  test('__proto__ and constructor keys are data, not a way into Object.prototype', () => {
    const hostile = JSON.parse(
      '{"apiVersion":"scopekeeper.dev/v1alpha1","kind":"ModelScope","metadata":{"name":"x","__proto__":{"polluted":1}},"spec":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}',
    ) as unknown;
    check(validateResource(hostile, 'fuzz'), true);
    expect(validateResource(hostile, 'fuzz').issues.length).toBeGreaterThan(0);
  });
});

describe('validateYaml', () => {
  test('arbitrary text never throws', () => {
    const yamlish = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '---\n',
            'apiVersion: scopekeeper.dev/v1alpha1\n',
            'kind: ModelScope\n',
            'spec:\n',
            '  models: [',
            ']\n',
            '&a ',
            '*a',
            '!!js/function ',
            ': ',
            '- ',
            '"',
            "'",
            '{',
            '}',
            '\t',
            '\n',
          ),
          fc.string({ maxLength: 10 }),
        ),
        { maxLength: 30 },
      )
      .map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ maxLength: 200 })), (text) => {
        const r = validateYaml(text, 'fuzz.yaml');
        expect(Array.isArray(r.resources) && Array.isArray(r.issues)).toBe(true);
        for (const i of r.issues) expect(i.source.startsWith('fuzz.yaml#')).toBe(true);
      }),
      { numRuns: 600 },
    );
  });

  test('an alias without its anchor, or a billion-laughs alias bomb, is an issue, not a throw', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const t0 = process.cpuUsage();
    const bomb = validateYaml(lines.join('\n'), 'bomb.yaml');
    expect(bomb.resources).toEqual([]);
    expect(bomb.issues).toEqual([
      expect.objectContaining({ source: 'bomb.yaml#1', message: expect.stringMatching(/^is not valid YAML: .*alias/i) }),
    ]);
    const cpu = process.cpuUsage(t0); // CPU time: expanding the aliases would take ages of it; other work adds none
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(2000);
    expect(validateYaml('spec: *nowhere\n', 'alias.yaml').issues).toEqual([
      expect.objectContaining({ message: expect.stringContaining('is not valid YAML') }),
    ]);
  });
});
