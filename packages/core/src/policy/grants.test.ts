// Issue 14 class 4: a held request cannot become a wildcard grant. Model names with glob
// characters are invalid requests; JustInTime approvals compare model and tool names exactly.
import { compilePolicy } from './compile.ts';
import { decide } from './decide.ts';
import { inspectMessagesRequest, RequestInspectionError } from '../anthropic/inspect.ts';
import { NOW, scope, review, sa, messages } from '../../test/fixtures/policy.ts';

const bot = sa('ops-bot');
const approver = [{ kind: 'Group' as const, name: 'security-leads' }];
const jit = (name: string, model: string | undefined, tools: string[]) =>
  review(name, 'ops', {
    type: 'JustInTime',
    reviewedAt: '2026-11-28T11:30:00Z',
    expiresAt: '2026-11-28T12:30:00Z',
    request: { subject: { kind: 'ServiceAccount', name: 'ops-bot', namespace: 'team-a' }, model, tools },
  });
const snap = compilePolicy(
  [
    scope('ops', {
      subjects: [{ kind: 'ServiceAccount', name: 'ops-bot' }],
      approval: { requiredFor: { models: ['claude-opus-*'], tools: ['Bash*'] }, approvers: approver, grantDuration: '1h' },
    }),
  ],
  [
    review('ops-1', 'ops'),
    jit('wild-model', 'claude-opus-*', []),
    jit('wild-tool', undefined, ['Bash*']),
    jit('exact', 'claude-opus-4-1', []),
  ],
  { namespace: 'team-a' },
);

test('an approval of the model "claude-opus-*" does not grant claude-opus-4-5', () => {
  const d = decide(snap, bot, messages({ model: 'claude-opus-4-5' }), NOW);
  expect(d.effect).toBe('approval-required');
});

test('an approval of the exact model grants that model', () => {
  expect(decide(snap, bot, messages({ model: 'claude-opus-4-1' }), NOW)).toMatchObject({ effect: 'allow', review: 'exact' });
});

test('an approval of the tool "Bash*" does not grant BashAdmin', () => {
  expect(decide(snap, bot, messages({ tools: ['BashAdmin'] }), NOW).effect).toBe('approval-required');
});

test.each(['claude-opus-*', 'claude-?pus-4-1', 'claude-opus-[4]-1', '*'])('model %p is an invalid request that names it', (model) => {
  const body = JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
  expect(() => inspectMessagesRequest(body, undefined, { requireMaxTokens: true })).toThrow(RequestInspectionError);
  expect(() => inspectMessagesRequest(body, undefined, { requireMaxTokens: true })).toThrow(JSON.stringify(model));
});
