// Test and benchmark fixtures for the masking engine: a seeded, programmatic corpus of
// positive and negative samples per detector family, a false-positive measurement over it, and
// a generator of realistic model output. Not part of the public API (tests and bench/ only).

import type { Masking } from './index.ts';

export type Rng = () => number;

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const ALNUM = UPPER + LOWER + DIGITS;
const B64URL = ALNUM + '-_';
const B64 = ALNUM + '+/';
const str = (r: Rng, alphabet: string, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
};
const digits = (r: Rng, n: number) => str(r, DIGITS, n);
const b64url = (s: string) => Buffer.from(s).toString('base64url');

// ------------------------------------------------------------------------------- generators

export function luhnCheckDigit(body: string): number {
  let sum = 0;
  let dbl = true;
  for (let i = body.length - 1; i >= 0; i--) {
    let d = body.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return (10 - (sum % 10)) % 10;
}

const CARD_BRANDS: readonly { brand: string; prefixes: readonly string[]; lengths: readonly number[] }[] = [
  { brand: 'visa', prefixes: ['4'], lengths: [16, 16, 16, 13, 19] },
  { brand: 'mastercard', prefixes: ['51', '52', '53', '54', '55', '2221', '2500', '2720'], lengths: [16] },
  { brand: 'amex', prefixes: ['34', '37'], lengths: [15] },
  { brand: 'discover', prefixes: ['6011', '65', '644', '649'], lengths: [16, 19] },
  { brand: 'diners', prefixes: ['36', '300', '305', '38'], lengths: [14] },
  { brand: 'jcb', prefixes: ['3528', '3589', '3530'], lengths: [16] },
  { brand: 'unionpay', prefixes: ['62'], lengths: [16, 19] },
  { brand: 'maestro', prefixes: ['50', '56', '67', '69'], lengths: [16] },
];

export function cardNumber(r: Rng): { number: string; brand: string } {
  const b = pick(r, CARD_BRANDS);
  const prefix = pick(r, b.prefixes);
  const len = pick(r, b.lengths);
  const body = prefix + digits(r, len - prefix.length - 1);
  return { number: body + luhnCheckDigit(body), brand: b.brand };
}

export function formatCard(r: Rng, n: string): string {
  const style = int(r, 0, 2);
  if (style === 0) return n;
  const sep = style === 1 ? ' ' : '-';
  if (n.length === 15) return [n.slice(0, 4), n.slice(4, 10), n.slice(10)].join(sep);
  if (n.length === 14) return [n.slice(0, 4), n.slice(4, 10), n.slice(10)].join(sep);
  const groups: string[] = [];
  for (let i = 0; i < n.length; i += 4) groups.push(n.slice(i, i + 4));
  return groups.join(sep);
}

const IBAN_FORMATS: readonly [cc: string, len: number, lettersAfterCheck: number][] = [
  ['DE', 22, 0],
  ['GB', 22, 4],
  ['FR', 27, 0],
  ['ES', 24, 0],
  ['IT', 27, 1],
  ['NL', 18, 4],
  ['BE', 16, 0],
  ['CH', 21, 0],
  ['AT', 20, 0],
  ['PL', 28, 0],
  ['SE', 24, 0],
  ['NO', 15, 0],
  ['DK', 18, 0],
  ['FI', 18, 0],
  ['IE', 22, 4],
  ['PT', 25, 0],
  ['LU', 20, 0],
  ['CZ', 24, 0],
  ['GR', 27, 0],
  ['SA', 24, 0],
  ['AE', 23, 0],
  ['BR', 29, 0],
  ['TR', 26, 0],
  ['MT', 31, 4],
  ['LC', 32, 4],
  ['RU', 33, 0],
];

function mod97(s: string): number {
  let rem = 0;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c >= 48 && c <= 57) rem = (rem * 10 + c - 48) % 97;
    else rem = (rem * 100 + c - 55) % 97;
  }
  return rem;
}

export function ibanNumber(r: Rng): string {
  const [cc, len, letters] = pick(r, IBAN_FORMATS);
  const bban = str(r, UPPER, letters) + digits(r, len - 4 - letters);
  const check = 98 - mod97(bban + cc + '00');
  return cc + String(check).padStart(2, '0') + bban;
}

export const spacedIban = (iban: string) => iban.replace(/(.{4})(?=.)/g, '$1 ');

function ipv6(r: Rng): string {
  const g = () => int(r, 0, 0xffff).toString(16);
  const style = int(r, 0, 4);
  if (style === 0) return Array.from({ length: 8 }, g).join(':');
  if (style === 1) return `fe80::${g()}:${g()}:${g()}:${g()}`;
  if (style === 2) return `2001:db8:${g()}::${g()}`;
  if (style === 3) return `::ffff:${int(r, 1, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
  return Array.from({ length: 8 }, () => g().padStart(4, '0'))
    .join(':')
    .toUpperCase();
}

function ipv4(r: Rng): string {
  return `${int(r, 1, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 0, 255)}`;
}

function phone(r: Rng): string {
  const d = (n: number) => String(int(r, 2, 9)) + digits(r, n - 1);
  switch (int(r, 0, 13)) {
    case 0:
      return `+1 (${d(3)}) ${d(3)}-${digits(r, 4)}`;
    case 1:
      return `+1-${d(3)}-${d(3)}-${digits(r, 4)}`;
    case 2:
      return `+44 20 ${digits(r, 4)} ${digits(r, 4)}`;
    case 3:
      return `+44 7${digits(r, 3)} ${digits(r, 6)}`;
    case 4:
      return `+49 30 ${digits(r, 8)}`;
    case 5:
      return `+49 151 ${digits(r, 8)}`;
    case 6:
      return `+33 ${int(r, 1, 9)} ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)} ${digits(r, 2)}`;
    case 7:
      return `+61 2 ${digits(r, 4)} ${digits(r, 4)}`;
    case 8:
      return `+81 3-${digits(r, 4)}-${digits(r, 4)}`;
    case 9:
      return `+91 ${d(5)} ${digits(r, 5)}`;
    case 10:
      return `+55 11 9${digits(r, 4)}-${digits(r, 4)}`;
    case 11:
      return `+${pick(r, ['49', '44', '33', '34', '39'])}${d(10)}`;
    case 12:
      return `(${d(3)}) ${d(3)}-${digits(r, 4)}`;
    default: {
      const sep = pick(r, ['-', '.']);
      return `${d(3)}${sep}${d(3)}${sep}${digits(r, 4)}`;
    }
  }
}

function ssn(r: Rng): string {
  let area = int(r, 1, 899);
  if (area === 666) area = 665;
  return `${String(area).padStart(3, '0')}-${String(int(r, 1, 99)).padStart(2, '0')}-${String(int(r, 1, 9999)).padStart(4, '0')}`;
}

function email(r: Rng): string {
  const first = pick(r, ['john', 'maria', 'wei', 'olga', 'ahmed', 'lena', 'sam', 'priya', 'k', 'jo']);
  const last = pick(r, ['doe', 'smith', 'garcia', 'li', 'kowalski', 'nguyen', 'muller', 'o']);
  const local = pick(r, [
    `${first}.${last}`,
    `${first}_${last}${int(r, 1, 99)}`,
    `${first}+${pick(r, ['news', 'test', 'x'])}`,
    `${first[0]}${last}`,
    `${first}${digits(r, 3)}`,
  ]);
  const domain = pick(r, [
    'example.com',
    'mail.example.co.uk',
    'corp.acme.io',
    'uni-heidelberg.de',
    'gmail.com',
    'outlook.com',
    'sub.domain.example.museum',
    'x.org',
  ]);
  return `${local}@${domain}`;
}

function jwt(r: Rng): string {
  const alg = pick(r, ['HS256', 'RS256', 'ES256', 'none']);
  const header = b64url(JSON.stringify({ alg, typ: 'JWT', ...(r() < 0.5 ? { kid: str(r, ALNUM, 8) } : {}) }));
  const payload = b64url(
    JSON.stringify({
      sub: str(r, ALNUM, int(r, 4, 20)),
      iat: 1700000000 + int(r, 0, 1e6),
      exp: 1800000000,
      aud: 'scopekeeper',
      ...(r() < 0.5 ? { email: 'a@b.co', groups: ['x', 'y'] } : {}),
    }),
  );
  const sigLen = alg === 'none' ? 0 : alg === 'HS256' ? 43 : alg === 'ES256' ? 86 : 342;
  return `${header}.${payload}.${str(r, B64URL, sigLen)}`;
}

function apiKey(r: Rng): { text: string; masked: string } {
  const plain = (t: string) => ({ text: t, masked: '[MASKED:api-key]' });
  switch (int(r, 0, 8)) {
    case 0:
      return plain(`sk-ant-api03-${str(r, B64URL, 93)}AA`);
    case 1:
      return plain(`sk-ant-${pick(r, ['admin01', 'oat01'])}-${str(r, B64URL, 80)}`);
    case 2:
      return plain(`sk-proj-${str(r, B64URL, int(r, 48, 156))}`);
    case 3:
      return plain(`sk-${str(r, ALNUM, 48)}`);
    case 4:
      return plain(`${pick(r, ['AKIA', 'ASIA'])}${str(r, UPPER + DIGITS, 16)}`);
    case 5:
      return plain(`${pick(r, ['ghp', 'gho', 'ghs', 'ghu', 'ghr'])}_${str(r, ALNUM, 36)}`);
    case 6:
      return plain(`github_pat_${str(r, ALNUM, 22)}_${str(r, ALNUM, 59)}`);
    case 7:
      return plain(`${pick(r, ['xoxb', 'xoxp', 'xoxa', 'xoxr'])}-${digits(r, 12)}-${digits(r, 13)}-${str(r, ALNUM, 24)}`);
    default: {
      const tok = str(r, ALNUM, 8) + digits(r, 2) + str(r, B64URL + '.~', int(r, 20, 60));
      return { text: `Bearer ${tok}`, masked: 'Bearer [MASKED:api-key]' };
    }
  }
}

function privateKeyBlock(r: Rng): string {
  const label = pick(r, [
    'PRIVATE KEY',
    'RSA PRIVATE KEY',
    'EC PRIVATE KEY',
    'OPENSSH PRIVATE KEY',
    'ENCRYPTED PRIVATE KEY',
    'DSA PRIVATE KEY',
    'PGP PRIVATE KEY BLOCK',
  ]);
  const lines: string[] = [`-----BEGIN ${label}-----`];
  if (label === 'RSA PRIVATE KEY' && r() < 0.5)
    lines.push('Proc-Type: 4,ENCRYPTED', `DEK-Info: AES-128-CBC,${str(r, '0123456789ABCDEF', 32)}`, '');
  if (label.startsWith('PGP')) lines.push('Version: GnuPG v2', '');
  const n = int(r, 3, 25);
  for (let i = 0; i < n; i++) lines.push(str(r, B64, i === n - 1 ? int(r, 4, 64) : 64));
  if (label.startsWith('PGP')) lines.push(`=${str(r, B64, 4)}`);
  lines.push(`-----END ${label}-----`);
  return lines.join(pick(r, ['\n', '\n', '\r\n']));
}

// -------------------------------------------------------------------------------- corpus

export interface Positive {
  /** The sample as it appears in text. */
  text: string;
  /** What maskText must turn it into. */
  masked: string;
}
export interface Negative {
  text: string;
  /** What kind of near-miss this is (reported per kind). */
  kind: string;
}
export interface CorpusFamily {
  category: string;
  positives: Positive[];
  negatives: Negative[];
}

/** Sentences the samples are embedded in (a sample is never detected only because it stands alone). */
const CONTEXTS = ['Please use {} for this.', 'value: {}\n', '({})', '"{}"', 'Details - {} - end', '{}'];

function fill<T>(n: number, make: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => make(i));
}

function near(r: Rng, kinds: readonly [string, (r: Rng) => string][], n: number): Negative[] {
  return fill(n, (i) => {
    const [kind, make] = kinds[i % kinds.length]!;
    return { kind, text: make(r) };
  });
}

export function buildCorpus(seed = 20260101, perFamily = 250): CorpusFamily[] {
  const r = rng(seed);
  const mutateDigit = (s: string, at: number) => {
    const c = s.charCodeAt(at) - 48;
    return s.slice(0, at) + String((c + int(r, 1, 9)) % 10) + s.slice(at + 1);
  };
  const fam = (category: string, pos: (r: Rng) => Positive, negs: readonly [string, (r: Rng) => string][]): CorpusFamily => ({
    category,
    positives: fill(perFamily, () => pos(r)),
    negatives: near(r, negs, perFamily),
  });
  const tok =
    (category: string) =>
    (text: string): Positive => ({ text, masked: `[MASKED:${category}]` });
  return [
    fam('email', (r) => tok('email')(email(r)), [
      ['no dot in domain', (r) => `${pick(r, ['admin', 'root', 'user'])}@${pick(r, ['localhost', 'intranet', 'server1'])}`],
      ['handle / mention', (r) => `@${pick(r, ['john', 'team-infra', 'everyone', 'here'])}${int(r, 0, 99)}`],
      [
        'decorator / scoped package',
        (r) => pick(r, ['@Component({ selector })', '@types/node', '@anthropic-ai/sdk', '@Override', '@media screen']),
      ],
      ['obfuscated address', (r) => `${pick(r, ['john', 'maria'])} (at) example (dot) com`],
      ['one-letter TLD', (r) => `${pick(r, ['a', 'info'])}@example.${pick(r, LOWER.split(''))}`],
      ['price / at-sign prose', (r) => `${int(r, 2, 99)} units @ $${int(r, 1, 99)}.99 each`],
      ['empty local part', (r) => `@${pick(r, ['example.com', 'corp.io'])}`],
      ['numeric TLD', (r) => `user@10.0.${int(r, 0, 255)}.${int(r, 1, 9)}x`],
    ]),
    fam('phone', (r) => tok('phone')(phone(r)), [
      ['ISO date', (r) => `${int(r, 1990, 2030)}-${String(int(r, 1, 12)).padStart(2, '0')}-${String(int(r, 1, 28)).padStart(2, '0')}`],
      ['time', (r) => `${int(r, 10, 23)}:${int(r, 10, 59)}:${int(r, 10, 59)}`],
      ['version', (r) => `v${int(r, 1, 20)}.${int(r, 0, 30)}.${int(r, 0, 99)}`],
      ['money', (r) => `$${int(r, 1, 999)},${digits(r, 3)},${digits(r, 3)}.${digits(r, 2)}`],
      ['percentage change', (r) => `+${int(r, 1, 99)}.${int(r, 0, 9)}%`],
      ['ISBN', (r) => `978-${int(r, 0, 9)}-${digits(r, 3)}-${digits(r, 5)}-${int(r, 0, 9)}`],
      ['ZIP+4', (r) => `${digits(r, 5)}-${digits(r, 4)}`],
      ['coordinates', (r) => `+${int(r, 10, 80)}.${digits(r, 4)}, -${int(r, 10, 170)}.${digits(r, 4)}`],
      ['score', (r) => `+${int(r, 1, 500)} points`],
      ['order number', (r) => `#${digits(r, 6)}-${digits(r, 2)}`],
      ['SSN format', () => ssn(r)],
      ['short international', (r) => `+${int(r, 1, 99)} ${digits(r, 3)}`],
      ['float with sign', (r) => `+${int(r, 1, 9)}.${digits(r, 12)}`],
    ]),
    fam('credit-card', (r) => tok('credit-card')(formatCard(r, cardNumber(r).number)), [
      [
        'Luhn-failing card',
        (r) => {
          const n = cardNumber(r).number;
          return formatCard(r, mutateDigit(n, n.length - 1));
        },
      ],
      [
        'Luhn-failing card (middle digit)',
        (r) => {
          const n = cardNumber(r).number;
          return formatCard(r, mutateDigit(n, int(r, 6, n.length - 2)));
        },
      ],
      ['millisecond timestamp', (r) => String(1600000000000 + int(r, 0, 2e11))],
      ['phone number', () => phone(r)],
      ['ISBN-13', (r) => `978${digits(r, 10)}`],
      ['UUID-ish digits', (r) => `${digits(r, 8)}-${digits(r, 4)}-${digits(r, 4)}`],
      ['too short', (r) => `4${digits(r, 11)}`],
      ['too long', (r) => `4${digits(r, 19)}`],
      ['random 16-digit id', (r) => digits(r, 16)],
      ['random 16-digit id, grouped', (r) => formatCard(r, digits(r, 16))],
    ]),
    fam(
      'iban',
      (r) => {
        const i = ibanNumber(r);
        return tok('iban')(r() < 0.5 ? i : spacedIban(i));
      },
      [
        [
          'checksum-failing IBAN',
          (r) => {
            const i = ibanNumber(r);
            return spacedIban(mutateDigit(i, int(r, 4, i.length - 1 - (/[A-Z]/.test(i[i.length - 1]!) ? 1 : 0))));
          },
        ],
        [
          'bad check digits',
          (r) => {
            const i = ibanNumber(r);
            return mutateDigit(i, 2);
          },
        ],
        [
          'wrong length',
          (r) => {
            const i = ibanNumber(r);
            return i.slice(0, -1);
          },
        ],
        ['not an IBAN country', (r) => `${pick(r, ['US', 'CA', 'JP', 'CN', 'ZZ'])}${digits(r, 2)}${digits(r, 16)}`],
        ['product / part code', (r) => `${str(r, UPPER, 2)}${digits(r, 2)}-${str(r, UPPER + DIGITS, 10)}`],
        ['upper-case words', (r) => `${pick(r, ['ERROR', 'WARNING', 'NOTE'])} ${pick(r, ['HTTP 404', 'CODE 12', 'ID AB12'])}`],
        [
          'irregular spacing',
          (r) => {
            const i = ibanNumber(r);
            return `${i.slice(0, 6)} ${i.slice(6, 9)} ${i.slice(9)}`;
          },
        ],
        [
          'IBAN-shaped, random check digits',
          (r) => {
            const i = ibanNumber(r);
            return i.slice(0, 2) + digits(r, 2) + i.slice(4);
          },
        ],
      ],
    ),
    fam('ssn', (r) => tok('ssn')(ssn(r)), [
      ['area 000', (r) => `000-${String(int(r, 1, 99)).padStart(2, '0')}-${digits(r, 4).replace(/^0000$/, '1234')}`],
      ['area 666', (r) => `666-${String(int(r, 1, 99)).padStart(2, '0')}-${String(int(r, 1, 9999)).padStart(4, '0')}`],
      ['area 9xx (ITIN)', (r) => `9${digits(r, 2)}-${String(int(r, 1, 99)).padStart(2, '0')}-${String(int(r, 1, 9999)).padStart(4, '0')}`],
      ['group 00', (r) => `${int(r, 100, 599)}-00-${String(int(r, 1, 9999)).padStart(4, '0')}`],
      ['serial 0000', (r) => `${int(r, 100, 599)}-${String(int(r, 1, 99)).padStart(2, '0')}-0000`],
      ['phone number', (r) => `${int(r, 200, 999)}-${int(r, 200, 999)}-${digits(r, 4)}`],
      ['ISO date', (r) => `${int(r, 1990, 2030)}-${String(int(r, 1, 12)).padStart(2, '0')}-${String(int(r, 1, 28)).padStart(2, '0')}`],
      ['part number', (r) => `${digits(r, 3)}-${digits(r, 2)}-${digits(r, 5)}`],
      ['unformatted 9 digits', (r) => `${int(r, 100, 599)}${digits(r, 6)}`],
    ]),
    fam('ip-address', (r) => tok('ip-address')(r() < 0.5 ? ipv4(r) : ipv6(r)), [
      ['three-part version', (r) => `${int(r, 0, 20)}.${int(r, 0, 20)}.${int(r, 0, 99)}`],
      ['five-part version', (r) => `${int(r, 1, 9)}.${int(r, 0, 9)}.${int(r, 0, 9)}.${int(r, 0, 9)}.${int(r, 0, 9)}`],
      ['octet out of range', (r) => `${int(r, 256, 999)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 0, 255)}`],
      ['v-prefixed version', (r) => `v${int(r, 1, 9)}.${int(r, 0, 9)}.${int(r, 0, 9)}.${int(r, 0, 99)}`],
      ['time of day', (r) => `${int(r, 10, 23)}:${int(r, 10, 59)}:${int(r, 10, 59)}`],
      ['MAC address', (r) => Array.from({ length: 6 }, () => str(r, '0123456789ABCDEF', 2)).join(':')],
      ['C++ / Rust path', (r) => pick(r, ['std::vector<int>', 'Foo::bar()', 'crate::config::load', 'Vec::new()', 'a::b::c'])],
      ['aspect ratio / score', (r) => `${int(r, 1, 21)}:${int(r, 1, 9)}`],
      ['too few IPv6 groups', (r) => Array.from({ length: 7 }, () => int(r, 0, 0xffff).toString(16)).join(':')],
      ['double "::"', (r) => `${int(r, 1, 0xfff).toString(16)}::${int(r, 1, 0xff).toString(16)}::${int(r, 1, 0xff).toString(16)}`],
      ['loopback shorthand', () => pick(r, ['::1', '::'])],
      ['four-part version', (r) => `${int(r, 1, 9)}.${int(r, 0, 20)}.${int(r, 0, 20)}.${int(r, 0, 200)}`],
    ]),
    fam('api-key', (r) => apiKey(r), [
      [
        'sk- words',
        (r) =>
          `sk-${pick(r, ['learn', 'image', 'video'])}-${pick(r, ['compatible', 'estimator', 'pipeline'])}-${pick(r, ['wrapper', 'transformers', 'helper'])}`,
      ],
      ['risk-/task- compounds', (r) => `${pick(r, ['risk', 'task', 'desk', 'disk'])}-${str(r, LOWER, 12)}-${str(r, LOWER + DIGITS, 16)}`],
      ['short sk- token', (r) => `sk-${str(r, ALNUM, int(r, 4, 19))}`],
      ['AKIA too short', (r) => `AKIA${str(r, UPPER + DIGITS, int(r, 8, 15))}`],
      ['ASIA word', (r) => `ASIAN markets ${pick(r, ['rallied', 'fell'])}`],
      ['ghp_ too short', (r) => `ghp_${str(r, ALNUM, int(r, 8, 35))}`],
      ['slack prefix only', (r) => `xoxb-${str(r, LOWER, 6)}`],
      [
        'bearer prose',
        (r) =>
          `${pick(r, ['Bearer', 'bearer'])} ${pick(r, ['token authentication', 'of bad news', 'tokens are short-lived', 'bonds matured'])}`,
      ],
      ['Bearer placeholder', (r) => `Bearer ${pick(r, ['<token>', '$TOKEN', '${API_KEY}', 'YOUR_TOKEN_HERE'])}`],
      ['hex digest', (r) => `sha256:${str(r, '0123456789abcdef', 64)}`],
    ]),
    fam('jwt', (r) => tok('jwt')(jwt(r)), [
      ['header only', (r) => b64url(JSON.stringify({ alg: pick(r, ['HS256', 'RS256']), typ: 'JWT' }))],
      [
        'two segments',
        (r) => {
          const t = jwt(r).split('.');
          return `${t[0]}.${t[1]}`;
        },
      ],
      ['dotted identifier', (r) => `com.${str(r, LOWER, 6)}.${str(r, LOWER, 8)}.${str(r, LOWER, 5)}`],
      ['base64 blob', (r) => Buffer.from(str(r, ALNUM, int(r, 20, 80))).toString('base64')],
      ['eyJ without payload', (r) => `eyJ${str(r, B64URL, 20)}.${str(r, B64URL, 30)}.${str(r, B64URL, 43)}`],
      ['file name', (r) => `${str(r, LOWER, 8)}.min.${pick(r, ['js', 'css', 'map'])}`],
    ]),
    fam('private-key', (r) => tok('private-key')(privateKeyBlock(r)), [
      ['public key', (r) => `-----BEGIN PUBLIC KEY-----\n${str(r, B64, 64)}\n${str(r, B64, 40)}\n-----END PUBLIC KEY-----`],
      ['certificate', (r) => `-----BEGIN CERTIFICATE-----\n${str(r, B64, 64)}\n-----END CERTIFICATE-----`],
      ['OpenSSH public key', (r) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${str(r, B64, 43)} user@host`],
      [
        'prose about keys',
        (r) => `Store the ${pick(r, ['private key', 'PRIVATE KEY', 'signing key'])} in a ${pick(r, ['Secret', 'vault', 'HSM'])}.`,
      ],
      ['header without dashes', (r) => `BEGIN ${pick(r, ['RSA ', 'EC ', ''])}PRIVATE KEY`],
      ['truncated header', (r) => `-----BEGIN ${pick(r, ['RSA ', ''])}PRIVATE KEY`],
      ['CSR', (r) => `-----BEGIN CERTIFICATE REQUEST-----\n${str(r, B64, 64)}\n-----END CERTIFICATE REQUEST-----`],
    ]),
  ];
}

export interface CorpusMeasurement {
  category: string;
  positives: number;
  falseNegatives: { sample: string; got: string }[];
  negatives: number;
  /** Negatives reported as this family's category. */
  falsePositives: { sample: string; kind: string; got: string }[];
  /** Negatives reported as any category at all. */
  anyCategory: number;
  byKind: Record<string, { n: number; fp: number }>;
}

/** Runs every sample, embedded in a sentence, through maskText (all built-in detectors on). */
export function measureCorpus(masking: Masking, corpus = buildCorpus()): CorpusMeasurement[] {
  return corpus.map((fam) => {
    const m: CorpusMeasurement = {
      category: fam.category,
      positives: fam.positives.length,
      falseNegatives: [],
      negatives: fam.negatives.length,
      falsePositives: [],
      anyCategory: 0,
      byKind: {},
    };
    fam.positives.forEach((p, i) => {
      const ctx = CONTEXTS[i % CONTEXTS.length]!;
      const input = ctx.replace('{}', p.text);
      const want = ctx.replace('{}', p.masked);
      const got = masking.maskText(input).text;
      if (got !== want) m.falseNegatives.push({ sample: p.text, got });
    });
    fam.negatives.forEach((n, i) => {
      const ctx = CONTEXTS[i % CONTEXTS.length]!;
      const r = masking.maskText(ctx.replace('{}', n.text));
      const k = (m.byKind[n.kind] ??= { n: 0, fp: 0 });
      k.n++;
      if ((r.counts[fam.category] ?? 0) > 0) {
        k.fp++;
        m.falsePositives.push({ sample: n.text, kind: n.kind, got: r.text });
      }
      if (r.changed) m.anyCategory++;
    });
    return m;
  });
}

// --------------------------------------------------------------------- realistic text

const WORDS = (
  'the of and to in is that for it as was with be by on not this are or from at which but have an they you were ' +
  'her she there been one all we their has would when if so no out up into do can about more other some time only ' +
  'could then them these two may first any my now such like our over even most made after also did many before must ' +
  'through back years where much your way well down should because each just those people how too little state good ' +
  'very make world still own see work long get here between both life being under never day same another know while ' +
  'last might great old year off come since against go came right used take three deployment cluster request service ' +
  'configuration response latency token model review approval namespace container function variable parameter'
).split(' ');

const CODE = [
  'const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" } });',
  'for (let i = 0; i < items.length; i++) { total += items[i].price * items[i].qty; }',
  'if err != nil {\n\treturn fmt.Errorf("reading %s: %w", path, err)\n}',
  "SELECT id, name, created_at FROM users WHERE created_at > '2024-01-15' ORDER BY id LIMIT 100;",
  'def handler(event, context):\n    return {"statusCode": 200, "body": json.dumps(event)}',
  'std::vector<int> v{1, 2, 3}; auto it = std::find(v.begin(), v.end(), 2);',
  'kubectl -n team-a get pods -o wide --selector app=support-bot',
  '{"id": 4821, "status": "ok", "items": [1, 2, 3], "ratio": 0.75, "at": "2024-03-05T10:30:45Z"}',
  '| name | replicas | cpu |\n|------|----------|-----|\n| api  | 3        | 250m |',
  'docker run --rm -p 8080:8080 -e LOG_LEVEL=debug ghcr.io/example/app:1.4.2',
];

/**
 * Text shaped like model output: prose, markdown, code, numbers, dates, times, versions, URLs,
 * and (at the given rate per paragraph) a sensitive value of a random family.
 */
export function realisticText(chars: number, seed = 7, sensitiveRate = 0.02): string {
  const r = rng(seed);
  const parts: string[] = [];
  let n = 0;
  const sensitive = (): string => {
    switch (int(r, 0, 7)) {
      case 0:
        return email(r);
      case 1:
        return phone(r);
      case 2:
        return formatCard(r, cardNumber(r).number);
      case 3:
        return spacedIban(ibanNumber(r));
      case 4:
        return ipv4(r);
      case 5:
        return apiKey(r).text;
      case 6:
        return jwt(r);
      default:
        return ssn(r);
    }
  };
  while (n < chars) {
    let p: string;
    const x = r();
    if (x < 0.12) p = '```\n' + pick(r, CODE) + '\n```';
    else if (x < 0.18)
      p = `- Order #${int(r, 1000, 999999)} ships in ${int(r, 1, 14)} days for $${int(r, 5, 999)}.${digits(r, 2)} (version ${int(r, 1, 9)}.${int(r, 0, 20)}.${int(r, 0, 9)}, ${int(r, 10, 23)}:${int(r, 10, 59)}).`;
    else if (x < 0.22) p = `See https://docs.example.com/${str(r, LOWER, 6)}/${str(r, LOWER, 8)}?page=${int(r, 1, 40)} for details.`;
    else {
      const k = int(r, 8, 28);
      const w: string[] = [];
      for (let i = 0; i < k; i++) w.push(pick(r, WORDS));
      w[0] = w[0]![0]!.toUpperCase() + w[0]!.slice(1);
      if (r() < sensitiveRate * 4) w.splice(int(r, 1, w.length - 1), 0, sensitive());
      p = w.join(' ') + pick(r, ['.', '.', '.', ':', '?', '!']);
      if (r() < 0.1) p = '## ' + p;
    }
    p += r() < 0.3 ? '\n\n' : ' ';
    parts.push(p);
    n += p.length;
  }
  return parts.join('').slice(0, chars);
}
