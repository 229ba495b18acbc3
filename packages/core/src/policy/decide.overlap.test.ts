// Overlapping rules, where a bug would let the wrong one win: a tool (or model, or endpoint)
// named by both an allow and a deny rule must be denied; a name that needs approval is held, not
// allowed. The property test counts the runs that reached each outcome, so it cannot pass by
// only ever meeting one branch.
import fc from 'fast-check';
import { compilePolicy } from './compile.ts';
import { decide } from './decide.ts';
import type { ModelScope } from '../types/generated.ts';
import { matchAnyName } from '../util/glob.ts';
import { NOW, scope, review, user, messages, service } from '../../test/fixtures/policy.ts';

const me = user('overlap@example.com');
const subjects: ModelScope['spec']['subjects'] = [{ kind: 'User', name: 'overlap@example.com' }];
const decideWith = (spec: Partial<ModelScope['spec']>, req = messages()) =>
  decide(compilePolicy([scope('s', { subjects, ...spec })], [review('r', 's')], { namespace: 'team-a' }), me, req, NOW);

describe('allow and deny name the same thing: deny wins', () => {
  test.each([
    ['the same tool in both lists', { allow: ['Read', 'Bash'], deny: ['Bash'] }, ['Bash']],
    ['the same tool in both lists, with an allowed one beside it', { allow: ['Read', 'Bash'], deny: ['Bash'] }, ['Read', 'Bash']],
    ['an allow glob and an exact deny', { allow: ['mcp__crm__*'], deny: ['mcp__crm__delete'] }, ['mcp__crm__delete']],
    ['an exact allow and a deny glob', { allow: ['mcp__crm__delete'], deny: ['mcp__crm__*'] }, ['mcp__crm__delete']],
    ['allow everything, deny one', { allow: ['*'], deny: ['Bash'] }, ['Bash']],
    ['deny without an allow list', { deny: ['Bash'] }, ['Bash']],
  ])('%s', (_name, tools, requested) => {
    const d = decideWith({ tools }, messages({ tools: requested }));
    expect([d.effect, d.reasons[0]!.code]).toEqual(['deny', 'ToolDenied']);
    // the same request without the denied tool is allowed: the refusal is the deny rule's
    expect(decideWith({ tools }, messages({ tools: requested.filter((t) => t !== requested.at(-1)) })).effect).toBe('allow');
  });

  test('a model that is allowed and also needs approval is held, not allowed', () => {
    const spec = {
      models: ['claude-*'],
      approval: { requiredFor: { models: ['claude-opus-*'] }, approvers: [{ kind: 'Group' as const, name: 'leads' }] },
    };
    expect(decideWith(spec, messages({ model: 'claude-opus-4-1' })).effect).toBe('approval-required');
    expect(decideWith(spec, messages({ model: 'claude-sonnet-4-5' })).effect).toBe('allow');
  });

  test('a tool that is allowed and also needs approval is held, not allowed', () => {
    const spec = {
      tools: { allow: ['Read', 'Bash'] },
      approval: { requiredFor: { tools: ['Bash'] }, approvers: [{ kind: 'Group' as const, name: 'leads' }] },
    };
    expect(decideWith(spec, messages({ tools: ['Read', 'Bash'] })).effect).toBe('approval-required');
    expect(decideWith(spec, messages({ tools: ['Read'] })).effect).toBe('allow');
  });

  test('an endpoint listed twice: a method or path only one entry allows is not widened by the other', () => {
    const endpoints: ModelScope['spec']['endpoints'] = [
      { name: 'crm', url: 'http://crm.test', methods: ['GET'], paths: ['/customers/**'] },
      { name: 'crm', url: 'http://crm.test', methods: ['DELETE'], paths: ['/admin/**'] },
    ];
    const get = decideWith({ endpoints }, service('crm', '/customers/1'));
    const del = decideWith({ endpoints }, service('crm', '/customers/1', 'DELETE'));
    const admin = decideWith({ endpoints }, service('crm', '/admin/x'));
    // whichever entry the scope keeps, a combination neither entry allows is refused
    expect(del.effect === 'allow' && get.effect === 'allow').toBe(false);
    expect([get.effect, del.effect, admin.effect].filter((e) => e === 'allow').length).toBeLessThanOrEqual(1);
  });
});

describe('property: the tools decision of one scope equals its rules', () => {
  const NAMES = ['Read', 'Bash', 'Write', 'mcp__crm__get', 'mcp__crm__delete'];
  const pattern = fc.constantFrom(...NAMES, 'mcp__crm__*', '*');
  const list = fc.option(fc.uniqueArray(pattern, { maxLength: 3 }), { nil: undefined });

  test('for random allow, deny and approval lists and random requests (both outcomes reached)', () => {
    const seen = { allow: 0, deny: 0, 'approval-required': 0, overlap: 0 };
    fc.assert(
      fc.property(
        list,
        list,
        list,
        fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }),
        (allow, deny, gated, tools) => {
          const spec: Partial<ModelScope['spec']> = { tools: { ...(allow && { allow }), ...(deny && { deny }) } };
          if (gated?.length) spec.approval = { requiredFor: { tools: gated }, approvers: [{ kind: 'Group', name: 'leads' }] };
          const d = decideWith(spec, messages({ tools }));
          // the oracle: approval rules first, then deny, then the allow list
          const verdicts = tools.map((t) =>
            gated?.length && matchAnyName(gated, t)
              ? 'gated'
              : deny && matchAnyName(deny, t)
                ? 'denied'
                : allow && !matchAnyName(allow, t)
                  ? 'denied'
                  : 'ok',
          );
          const expected = verdicts.includes('denied') ? 'deny' : verdicts.includes('gated') ? 'approval-required' : 'allow';
          expect(d.effect).toBe(expected);
          seen[d.effect]++;
          if (tools.some((t) => allow && deny && matchAnyName(allow, t) && matchAnyName(deny, t))) seen.overlap++;
        },
      ),
      { numRuns: 1000 },
    );
    expect(seen.allow).toBeGreaterThan(100);
    expect(seen.deny).toBeGreaterThan(100);
    expect(seen['approval-required']).toBeGreaterThan(50);
    expect(seen.overlap).toBeGreaterThan(50);
  });
});
