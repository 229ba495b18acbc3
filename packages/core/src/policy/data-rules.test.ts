// Class 3 of issue 14: the data rules of a caller are the union of every scope naming it (or the
// pinned scope's alone), whatever the request asks for.
import { compilePolicy } from './compile.ts';
import { decide } from './decide.ts';
import { unionOf } from './data-rules.ts';
import { NOW, scope, review, sa, messages, service } from '../../test/fixtures/policy.ts';

const bot = sa('rules-bot');
const snap = compilePolicy(
  [
    scope('masks', {
      subjects: [{ kind: 'ServiceAccount', name: 'rules-bot' }],
      tools: { allow: ['Read'] },
      data: { mask: ['email'], custom: [{ name: 'ticket', pattern: 'TCK-[0-9]{6}' }] },
      endpoints: [{ name: 'crm', url: 'http://crm:80', maskFields: ['$.ssn'] }],
    }),
    scope('open', {
      subjects: [{ kind: 'ServiceAccount', name: 'rules-bot' }],
      tools: { allow: ['Read', 'Grep'] },
      endpoints: [{ name: 'crm', url: 'http://crm:80', maskFields: ['$.phone'] }],
    }),
    scope('blocks', {
      subjects: [{ kind: 'Group', name: 'blockers' }],
      data: { block: ['email'], custom: [{ name: 'ticket', pattern: 'TCK-[0-9]{4}', action: 'block' }] },
    }),
  ],
  ['masks', 'open', 'blocks'].map((s) => review(`${s}-1`, s)),
  { namespace: 'team-a' },
);

test("a request that fits only the scope without masking still gets the other scope's masking", () => {
  const d = decide(snap, bot, messages({ tools: ['Grep'] }), NOW);
  expect(d).toMatchObject({ effect: 'allow', scope: 'open' });
  expect(d.data!.masking.active).toBe(true);
  expect(d.data!.masking.maskText('write to a@b.example now').text).toContain('[MASKED:email]');
  expect(d.data!.masking.maskText('ticket TCK-123456').text).toContain('[MASKED:ticket]');
});

test('the rules do not depend on the request: every allowed shape gets the same object', () => {
  const a = decide(snap, bot, messages({ tools: ['Grep'] }), NOW).data;
  const b = decide(snap, bot, messages({ tools: ['Read'] }), NOW).data;
  const c = decide(snap, bot, messages(), NOW).data;
  expect(a).toBe(b);
  expect(b).toBe(c);
});

test('maskFields of an endpoint are the union over the scopes that define it', () => {
  const d = decide(snap, bot, service('crm', '/x'), NOW);
  expect(d.effect).toBe('allow');
  expect([...d.data!.maskFields('crm')].sort()).toEqual(['$.phone', '$.ssn']);
  expect(d.data!.maskFields('other')).toEqual([]);
});

test('the pinned scope alone', () => {
  const d = decide(snap, bot, messages({ tools: ['Grep'] }), NOW, { pinnedScope: 'open' });
  expect(d.effect).toBe('allow');
  expect(d.data!.masking.active).toBe(false);
  expect(d.data!.maskFields('crm')).toEqual(['$.phone']);
});

test('a category masked by one scope and blocked by another is blocked; same-named custom patterns are both kept', () => {
  const both = unionOf(snap.scopes);
  expect(both.masking.blockCategories).toContain('email');
  expect(both.masking.maskText('a@b.example').blocked).toBe('email');
  expect(both.masking.maskText('TCK-123456').text).toContain('[MASKED:ticket]');
  expect(both.masking.maskText('id TCK-1234 x').blocked).toBe('ticket-2');
});
