// The built-in detectors, by category and in priority order. Each is documented in docs/masking.md
// with what it reports and what it deliberately does not; each category's detectors live in the
// builtin-*.ts file named for its kind of data.

import { email, phone } from './builtin-contact.ts';
import { ipv4, ipv6 } from './builtin-ip.ts';
import { jwt, privateKey } from './builtin-keys.ts';
import { creditCard, iban, ssn } from './builtin-numbers.ts';
import { apiKey } from './builtin-secrets.ts';
import { type Detector } from './detector.ts';

/** Built-in detectors by category, in priority order (on equal spans the first one wins). */
export const BUILTIN: ReadonlyArray<readonly [category: string, detectors: readonly Detector[]]> = [
  ['private-key', [privateKey]],
  ['jwt', [jwt]],
  ['api-key', [apiKey]],
  ['credit-card', [creditCard]],
  ['iban', [iban]],
  ['ssn', [ssn]],
  ['phone', [phone]],
  ['ip-address', [ipv4, ipv6]],
  ['email', [email]],
];

export const BUILTIN_CATEGORIES: readonly string[] = BUILTIN.map(([c]) => c);
