// Verified tokens, so a caller that sends the same token again is not verified again (an RSA
// verify is most of the sidecar's per-request CPU). Keyed by the SHA-256 of the token, so the
// cache never holds a token. An entry lives until the earlier of the token's `exp` and any change
// of its issuer's key set (the key-cache generation it was verified under); the cache is bounded
// and drops the least recently used entry first.
import { hash } from 'node:crypto';
import type { Identity } from '@scopekeeper/core';

interface Entry {
  identity: Identity;
  /** The token's exp, ms since the epoch. */
  expiresAt: number;
  issuer: string;
  generation: number;
}

export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;

export class VerifiedTokenCache {
  readonly maxEntries: number;
  #entries = new Map<string, Entry>();
  /** The key inserted last, so the last in the Map's order while it is there. */
  #newest: string | undefined;

  constructor(maxEntries = DEFAULT_TOKEN_CACHE_SIZE) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new Error('the token cache size must be a non-negative integer');
    this.maxEntries = maxEntries;
  }

  static keyOf(token: string): string {
    return hash('sha256', token, 'base64url');
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The identity verified for this token, if it is still good at `now` under the issuer's current key generation. */
  get(key: string, now: number, generationOf: (issuer: string) => number | undefined): Identity | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (now >= entry.expiresAt || generationOf(entry.issuer) !== entry.generation) {
      this.#entries.delete(key);
      return undefined;
    }
    // Most recently used last: Map keeps insertion order. A pod's agent sends one token over and
    // over; moving the entry that is last already would only churn the Map's table.
    if (key !== this.#newest) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      this.#newest = key;
    }
    return entry.identity;
  }

  set(key: string, identity: Identity, expiresAt: number, generation: number): void {
    if (this.maxEntries === 0 || expiresAt <= Date.now()) return;
    this.#entries.delete(key);
    this.#entries.set(key, { identity, expiresAt, issuer: identity.issuer, generation });
    this.#newest = key;
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#newest = undefined;
  }
}
