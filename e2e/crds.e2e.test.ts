// The CRDs on a real API server: established, the examples accepted, printer columns, the status
// subresource.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateYaml } from '@scopekeeper/core';
import { CRDS, applyCrds, cluster, ensureNamespace } from './harness/cluster.ts';

const c = cluster();
const NS = 'team-a';

beforeAll(async () => {
  await ensureNamespace(NS);
});

describe('CRDs', () => {
  test('kubectl apply -f crds/ establishes both', async () => {
    const applied = await applyCrds();
    for (const n of CRDS)
      expect(applied.stdout).toMatch(new RegExp(`customresourcedefinition.apiextensions.k8s.io/${n} (created|configured|unchanged)`));
    for (const n of CRDS) {
      const crd = JSON.parse((await c.kubectl(['get', 'crd', n, '-o', 'json'])).stdout) as {
        status: { conditions: { type: string; status: string }[]; acceptedNames: { shortNames?: string[] } };
      };
      expect(crd.status.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Established', status: 'True' }),
          expect.objectContaining({ type: 'NamesAccepted', status: 'True' }),
        ]),
      );
      expect(crd.status.acceptedNames.shortNames).toEqual([n.startsWith('modelscopes') ? 'ms' : 'ar']);
    }
    const res = (await c.kubectl(['api-resources', '--api-group=scopekeeper.dev', '-o', 'name'])).stdout;
    expect(res.split('\n').sort()).toEqual(expect.arrayContaining(['accessreviews.scopekeeper.dev', 'modelscopes.scopekeeper.dev']));
  });

  const examples = readdirSync(join(c.repoRoot, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .sort();

  test.each(examples)('examples/%s is accepted', async (file) => {
    await applyCrds();
    const path = join(c.repoRoot, 'examples', file);
    const applied = await c.kubectl(['apply', '--validate=strict', '-f', path]);
    const lines = applied.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^(modelscope|accessreview)\.scopekeeper\.dev\/\S+ (created|configured|unchanged)$/);
    // The server stores each resource as file-mode validation reads it: same fields, same defaults.
    const { resources, issues } = validateYaml(readFileSync(path, 'utf8'), path);
    expect(issues).toEqual([]);
    expect(resources).toHaveLength(lines.length);
    for (const r of resources) {
      const stored = JSON.parse(
        (await c.kubectl(['get', (r.kind ?? '').toLowerCase(), r.metadata.name, '-n', r.metadata.namespace ?? NS, '-o', 'json'])).stdout,
      ) as { spec: unknown };
      expect(stored.spec).toEqual(r.spec);
    }
  });

  test("a held request's subject keeps its issuer (a SAML or second OIDC issuer): the server does not prune it", async () => {
    await applyCrds();
    const subject = { kind: 'User', name: 'dana@example.com', issuer: 'https://idp.example.test/saml' };
    await c.kubectl(['apply', '--validate=strict', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'scopekeeper.dev/v1alpha1',
        kind: 'AccessReview',
        metadata: { name: 'held-issuer', namespace: NS },
        spec: {
          scopeRef: { name: 'support-agent' },
          type: 'JustInTime',
          decision: 'Pending',
          request: { subject, model: 'claude-opus-4-1' },
        },
      }),
    });
    const stored = JSON.parse((await c.kubectl(['get', 'accessreview', 'held-issuer', '-n', NS, '-o', 'json'])).stdout) as {
      spec: { request: { subject: unknown } };
    };
    expect(stored.spec.request.subject).toEqual(subject);
    await c.kubectl(['delete', 'accessreview', 'held-issuer', '-n', NS]);
  });

  test('kubectl get ms,ar shows the printer columns', async () => {
    await applyCrds();
    await c.kubectl(['apply', '-f', join(c.repoRoot, 'examples')]);
    const out = (await c.kubectl(['get', 'ms,ar', '-n', NS])).stdout;
    const tables = out
      .trim()
      .split(/\n\s*\n/)
      .map((t) => t.split('\n'));
    const header = (prefix: string) => {
      const t = tables.find((rows) => rows.slice(1).some((r) => r.startsWith(prefix)));
      expect(t).toBeDefined();
      return { cols: t![0]!.trim().split(/\s+/), rows: t!.slice(1) };
    };
    const ms = header('modelscope.scopekeeper.dev/');
    expect(ms.cols).toEqual(['NAME', 'READY', 'REVIEW', 'EXPIRES', 'AGE']);
    expect(ms.rows.some((r) => r.startsWith('modelscope.scopekeeper.dev/support-agent '))).toBe(true);
    const ar = header('accessreview.scopekeeper.dev/');
    expect(ar.cols).toEqual(['NAME', 'SCOPE', 'DECISION', 'VALID', 'EXPIRES', 'AGE']);
    const row = ar.rows.find((r) => r.startsWith('accessreview.scopekeeper.dev/support-agent-2026q4 '));
    expect(row?.split(/\s+/).slice(1, 3)).toEqual(['support-agent', 'Approved']);
  });
});

describe('status subresource', () => {
  const conditionOf = (type: string, status: string) => ({
    type,
    status,
    reason: status === 'True' ? 'Approved' : 'Pending',
    message: `e2e: ${type} is ${status}`,
    lastTransitionTime: '2026-11-28T00:00:00Z',
    observedGeneration: 1,
  });
  const cases = [
    {
      kind: 'AccessReview',
      short: 'ar',
      spec: { scopeRef: { name: 'support-agent' }, type: 'Periodic', decision: 'Pending', justification: 'e2e status check' },
      status: { observedGeneration: 1, expiresAt: '2027-01-30T10:00:00Z', conditions: [conditionOf('Valid', 'True')] },
      column: ['VALID', 'True'],
    },
    {
      kind: 'ModelScope',
      short: 'ms',
      spec: {
        subjects: [{ kind: 'User', name: 'alice@example.com' }],
        models: ['claude-haiku-*'],
        review: { reviewers: [{ kind: 'Group', name: 'security-leads' }] },
      },
      status: {
        observedGeneration: 1,
        validReview: 'e2e-review',
        expiresAt: '2027-01-30T10:00:00Z',
        conditions: [conditionOf('Ready', 'True')],
      },
      column: ['READY', 'True'],
    },
  ];

  test.each(cases)(
    '$kind: a status patch sets status only, a spec patch leaves status alone',
    async ({ kind, short, spec, status, column }) => {
      await applyCrds();
      const name = 'e2e-status-check';
      await c.kubectl(['delete', short, name, '-n', NS, '--ignore-not-found', '--wait']);
      await c.kubectl(['create', '--validate=strict', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'scopekeeper.dev/v1alpha1', kind, metadata: { name, namespace: NS }, spec }),
      });
      const get = async () =>
        JSON.parse((await c.kubectl(['get', short, name, '-n', NS, '-o', 'json'])).stdout) as {
          metadata: { generation: number };
          spec: Record<string, unknown>;
          status?: Record<string, unknown>;
        };
      const created = await get();
      expect(created.metadata.generation).toBe(1);
      expect(created.status).toBeUndefined();

      await c.kubectl(['patch', short, name, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
      const patched = await get();
      expect(patched.status).toEqual(status);
      expect(patched.spec).toEqual(created.spec);
      expect(patched.metadata.generation).toBe(1);

      // The printer columns read the status.
      const table = (await c.kubectl(['get', short, name, '-n', NS])).stdout.trim().split('\n');
      const cols = table[0]!.trim().split(/\s+/);
      const vals = table[1]!.trim().split(/\s+/);
      expect(vals[cols.indexOf(column[0]!)]).toBe(column[1]);
      expect(vals[cols.indexOf('EXPIRES')]).toBe('2027-01-30T10:00:00Z');

      // A patch of the main resource ignores status; a status patch ignores spec.
      const specPatch = kind === 'AccessReview' ? { justification: 'e2e status check, edited' } : { models: ['claude-sonnet-4-*'] };
      await c.kubectl([
        'patch',
        short,
        name,
        '-n',
        NS,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: specPatch, status: { expiresAt: '2030-01-01T00:00:00Z' } }),
      ]);
      const specPatched = await get();
      expect(specPatched.spec).toEqual({ ...created.spec, ...specPatch });
      expect(specPatched.metadata.generation).toBe(2);
      expect(specPatched.status).toEqual(status);

      await c.kubectl([
        'patch',
        short,
        name,
        '-n',
        NS,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: created.spec, status: { observedGeneration: 2 } }),
      ]);
      const statusPatched = await get();
      expect(statusPatched.spec).toEqual(specPatched.spec);
      expect(statusPatched.status).toEqual({ ...status, observedGeneration: 2 });

      // The status schema is enforced too.
      const bad = await c.kubectl(
        [
          'patch',
          short,
          name,
          '-n',
          NS,
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({ status: { conditions: [{ ...status.conditions[0], status: 'Maybe' }] } }),
        ],
        { allowFailure: true },
      );
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('status.conditions[0].status: Unsupported value: "Maybe"');

      await c.kubectl(['delete', short, name, '-n', NS]);
    },
  );
});
