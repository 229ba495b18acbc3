// decide() fits one scope per shape (issue 13 item 4, the decide() speed bar): the verdict must
// be the one of evaluating every scope in order.
import { compilePolicy } from './compile.ts';
import { decide } from './decide.ts';
import { NOW, scope, review, user, messages } from '../../test/fixtures/policy.ts';

const member = user('m@example.com', ['team']);
const subjects = [{ kind: 'Group' as const, name: 'team' }];
const haiku = { subjects, models: ['claude-haiku-*'] };
const sonnet = { subjects, models: ['claude-sonnet-4-*'] };
const expired = { reviewedAt: '2026-08-01T09:00:00Z', expiresAt: '2026-10-30T09:00:00Z' };

test('the first scope in order that allows wins, across shapes and reviews', () => {
  const snap = compilePolicy(
    [
      scope('a-haiku', haiku),
      scope('b-sonnet-expired', sonnet),
      scope('c-haiku', haiku),
      scope('d-sonnet', sonnet),
      scope('e-sonnet', sonnet),
    ],
    [
      review('a', 'a-haiku'),
      review('b', 'b-sonnet-expired', expired),
      review('c', 'c-haiku'),
      review('d', 'd-sonnet'),
      review('e', 'e-sonnet'),
    ],
    { namespace: 'team-a' },
  );
  expect(decide(snap, member, messages({ model: 'claude-sonnet-4-5' }), NOW)).toMatchObject({ effect: 'allow', scope: 'd-sonnet' });
  expect(decide(snap, member, messages({ model: 'claude-haiku-4-5' }), NOW)).toMatchObject({ effect: 'allow', scope: 'a-haiku' });
  // Nothing fits: the first scope's denial, explained.
  const d = decide(snap, member, messages({ model: 'claude-opus-4-1' }), NOW);
  expect(d).toMatchObject({ effect: 'deny', scope: 'a-haiku', reasons: [{ code: 'ModelNotAllowed' }] });
  expect(d.message).toContain('claude-opus-4-1');
});

test('200 identical scopes of one group: the one with a valid review allows', () => {
  const scopes = Array.from({ length: 200 }, (_, i) => scope(`s-${String(i).padStart(3, '0')}`, sonnet));
  const reviews = scopes.map((s, i) => review(`r-${i}`, s.metadata.name, i === 150 ? {} : expired));
  const snap = compilePolicy(scopes, reviews, { namespace: 'team-a' });
  expect(decide(snap, member, messages(), NOW)).toMatchObject({ effect: 'allow', scope: 's-150' });
  expect(decide(snap, member, messages({ model: 'claude-haiku-4-5' }), NOW)).toMatchObject({ effect: 'deny', scope: 's-000' });
});
