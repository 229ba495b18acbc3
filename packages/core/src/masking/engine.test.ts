import { compileMasking, MaskingConfigError, maskingBlockedMessage, BUILTIN_CATEGORIES, type MaskingPolicy } from './index.ts';
import type { ModelScopeSpecData } from '../types/generated.ts';

function configError(policy: MaskingPolicy): MaskingConfigError {
  try {
    compileMasking(policy);
  } catch (e) {
    if (e instanceof MaskingConfigError) return e;
    throw e;
  }
  throw new Error('expected a MaskingConfigError');
}

describe('compileMasking', () => {
  it('accepts the data section of a ModelScope as is', () => {
    const data: ModelScopeSpecData = {
      mask: ['email', 'phone', 'credit-card', 'iban', 'api-key', 'jwt'],
      block: ['private-key'],
      custom: [{ name: 'ticket-id', pattern: 'TCK-[0-9]{6}', action: 'mask' }],
    };
    const m = compileMasking(data);
    expect(m.active).toBe(true);
    expect(m.categories).toEqual(['private-key', 'jwt', 'api-key', 'credit-card', 'iban', 'phone', 'email', 'ticket-id']);
    expect(m.blockCategories).toEqual(['private-key']);
  });

  it('is inactive without detectors, and then changes nothing', () => {
    for (const p of [undefined, {}, { mask: [], block: [], custom: [] }]) {
      const m = compileMasking(p);
      expect(m.active).toBe(false);
      const body = Buffer.from('{"content":[{"type":"text","text":"a@b.co"}]}');
      expect(m.maskMessageJson(body).body).toBe(body);
      expect(m.maskText('a@b.co')).toEqual({ text: 'a@b.co', counts: {}, changed: false });
    }
  });

  it.each([
    [
      { mask: ['emial'] },
      'data.mask[0]',
      /unknown category "emial" \(did you mean "email"\?\); known: email|unknown category "emial" \(did you mean "email"\?\)/,
    ],
    [{ block: ['email', 'secrets'] }, 'data.block[1]', /unknown category "secrets"; known: .*api-key/],
    [{ custom: [{ name: 'Ticket ID', pattern: 'x' }] }, 'data.custom[0].name', /not a valid name: use lower-case letters/],
    [{ custom: [{ name: 'email', pattern: 'x' }] }, 'data.custom[0].name', /built-in category; list it under data.mask or data.block/],
    [
      {
        custom: [
          { name: 'a', pattern: 'x' },
          { name: 'a', pattern: 'y' },
        ],
      },
      'data.custom[1].name',
      /already used by data.custom\[0\]/,
    ],
    [{ custom: [{ name: 'a', pattern: 'x', action: 'drop' as never }] }, 'data.custom[0].action', /use mask or block/],
    [
      {
        custom: [
          { name: 'a', pattern: 'x' },
          { name: 'b', pattern: '(x+)+' },
        ],
      },
      'data.custom[1].pattern',
      /unbounded quantifier/,
    ],
  ])('rejects %j', (policy, field, message) => {
    const e = configError(policy as MaskingPolicy);
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });

  it('lets a custom category be listed under block', () => {
    const m = compileMasking({ block: ['codename'], custom: [{ name: 'codename', pattern: 'Nightjar' }] });
    expect(m.maskText('Nightjar')).toMatchObject({ blocked: 'codename' });
  });
});

describe('maskText', () => {
  const m = compileMasking({ mask: [...BUILTIN_CATEGORIES] });

  it('returns the input itself and shared empty counts when nothing matches', () => {
    const s = 'nothing to see here, version 1.2.3 at 10:30';
    const r = m.maskText(s);
    expect(r.text).toBe(s);
    expect(r.changed).toBe(false);
    expect(Object.isFrozen(r.counts)).toBe(true);
  });

  it('counts by category', () => {
    const r = m.maskText('a@b.co, c@d.io, 10.0.0.1 and 4111 1111 1111 1111');
    expect(r).toEqual({
      text: '[MASKED:email], [MASKED:email], [MASKED:ip-address] and [MASKED:credit-card]',
      counts: { email: 2, 'ip-address': 1, 'credit-card': 1 },
      changed: true,
    });
  });

  it('reports a block category and still masks everything', () => {
    const b = compileMasking({ mask: ['email', 'api-key'], block: ['api-key'] });
    const r = b.maskText('x@y.io AKIAIOSFODNN7EXAMPLE z@w.io');
    expect(r).toEqual({
      text: '[MASKED:email] [MASKED:api-key] [MASKED:email]',
      counts: { email: 2, 'api-key': 1 },
      blocked: 'api-key',
      changed: true,
    });
  });

  it('only runs the enabled detectors', () => {
    const only = compileMasking({ mask: ['email'] });
    expect(only.maskText('a@b.co 10.0.0.1 4111111111111111').text).toBe('[MASKED:email] 10.0.0.1 4111111111111111');
  });

  it('handles non-ASCII text around matches', () => {
    expect(m.maskText('Grüße an jürgen@müller-lüdenscheid.de 🌍 und max@example.de!').text).toBe(
      'Grüße an [MASKED:email] 🌍 und [MASKED:email]!',
    );
  });

  it('has a block message that names the category and the fix, never the data', () => {
    const msg = maskingBlockedMessage('private-key');
    expect(msg).toContain('"private-key"');
    expect(msg).toContain('data.block');
  });
});
