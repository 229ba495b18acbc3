// Public API of the masking engine (see docs/masking.md).

import { EMPTY_COUNTS, newTally } from './engine.ts';
import { buildEngine, type MaskingPolicy } from './policy.ts';
import { maskMessageBody, maskServiceBody, type BodyMaskResult } from './json-body.ts';
import { maskKeys, maskStringValues } from './json-values.ts';
import { parseJsonPath, type JsonPath } from './jsonpath.ts';
import { AnthropicSseMasker, type SseMasker } from './sse-masker.ts';
import { SseParser, type SseEvent } from '../sse/parser.ts';

export type { MaskingPolicy, CustomPatternPolicy } from './policy.ts';
export type { BodyMaskResult } from './json-body.ts';
export type { SseMasker } from './sse-masker.ts';
export { maskingBlockedMessage } from './sse-masker.ts';
export { MaskingConfigError } from './errors.ts';
export { BUILTIN_CATEGORIES } from './builtin.ts';
export { CUSTOM_MAX_MATCH } from './custom-parser.ts';
export { parseJsonPath, type JsonPath } from './jsonpath.ts';

export interface MaskResult {
  /** The masked text; the input string itself when nothing matched. */
  text: string;
  /** Masked values by category (read-only; a shared empty object when nothing matched). */
  counts: Readonly<Record<string, number>>;
  /** A block category found; the caller must not deliver this content. */
  blocked?: string;
  changed: boolean;
}

export interface DataMaskResult {
  value: unknown;
  counts: Readonly<Record<string, number>>;
  blocked?: string;
  changed: boolean;
}

export interface Masking {
  /** False when the policy enables no detector: callers can skip masking (and buffering) entirely. */
  readonly active: boolean;
  /** Enabled categories, in priority order. */
  readonly categories: readonly string[];
  /** Enabled categories whose match blocks the response. */
  readonly blockCategories: readonly string[];
  maskText(text: string): MaskResult;
  /**
   * A non-streamed Messages API response body: every block type with text or data (text and
   * citations, tool inputs, tool results of every kind, unknown types) is masked; thinking and
   * redacted_thinking blocks, identifiers, signatures and base64 payloads are not touched. The
   * caller fixes content-length.
   */
  maskMessageJson(body: Buffer): BodyMaskResult;
  /**
   * A response of an internal service: values selected by `maskFields` (JSONPath subset) become
   * "[MASKED:field]", then the detectors run on every string value, object key and number. A body
   * that is not JSON (skipped: 'not-json') or not UTF-8 (skipped: 'binary') is returned unchanged:
   * the caller must not deliver it.
   * Throws MaskingConfigError for a malformed path (validate them earlier with parseJsonPath).
   */
  maskServiceJson(body: Buffer, maskFields: readonly string[]): BodyMaskResult;
  /**
   * Parsed data whose shape nobody fixed (an MCP server's messages), masked in place by the rule of
   * an internal service's answer: every string value, object key and number. `kept`: names of the
   * root object's own members left alone, name and value (protocol members). `value` is the new
   * root (a string or number root is replaced).
   */
  maskData(value: unknown, kept?: ReadonlySet<string>): DataMaskResult;
  /**
   * A masker for one streamed Messages API response (text/event-stream). `observe` sees every
   * event as the upstream sent it, before masking (usage, errors), from the masker's own parse.
   */
  createSseMasker(observe?: (ev: SseEvent) => void): SseMasker;
}

class PassThroughSse implements SseMasker {
  readonly counts = EMPTY_COUNTS;
  readonly blocked = undefined;
  readonly held = 0;
  readonly #parser: SseParser | undefined;
  get pendingBytes(): number {
    return this.#parser?.pendingBytes ?? 0;
  }
  readonly #observe: ((ev: SseEvent) => void) | undefined;
  constructor(observe?: (ev: SseEvent) => void) {
    this.#observe = observe;
    if (observe) this.#parser = new SseParser();
  }
  push(chunk: Buffer): Buffer {
    if (this.#parser) for (const ev of this.#parser.push(chunk)) this.#observe!(ev);
    return chunk;
  }
  end(): Buffer {
    if (this.#parser) for (const ev of this.#parser.end()) this.#observe!(ev);
    return Buffer.alloc(0);
  }
}

/**
 * Compiles a ModelScope's `data` section. Throws MaskingConfigError (with the field and what to
 * change) for an unknown category, a bad custom name or an unsupported custom pattern. Compile
 * once per scope generation and reuse: the result is immutable and cheap to call.
 */
export function compileMasking(policy: MaskingPolicy | undefined): Masking {
  const engine = buildEngine(policy);
  const active = engine.detectors.length > 0;
  const pathCache = new Map<string, JsonPath>();
  const paths = (fields: readonly string[]): JsonPath[] =>
    fields.map((f, i) => {
      let p = pathCache.get(f);
      if (p === undefined) {
        p = parseJsonPath(f, `maskFields[${i}]`);
        if (pathCache.size < 1024) pathCache.set(f, p);
      }
      return p;
    });
  return {
    active,
    categories: engine.categories,
    blockCategories: engine.blockCategories,
    maskText(text: string): MaskResult {
      if (!active) return { text, counts: EMPTY_COUNTS, changed: false };
      const tally = newTally();
      const out = engine.maskString(text, tally);
      if (tally.matches === 0) return { text, counts: EMPTY_COUNTS, changed: false };
      const r: MaskResult = { text: out, counts: tally.counts!, changed: true };
      if (tally.blocked !== undefined) r.blocked = tally.blocked;
      return r;
    },
    maskMessageJson: (body) => maskMessageBody(engine, body),
    maskServiceJson: (body, maskFields) => maskServiceBody(engine, body, paths(maskFields)),
    maskData(value: unknown, kept?: ReadonlySet<string>): DataMaskResult {
      if (!active) return { value, counts: EMPTY_COUNTS, changed: false };
      const tally = newTally();
      let out = value;
      if (kept !== undefined && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const rec = value as Record<string, unknown>;
        maskKeys(engine, rec, tally, kept);
        for (const k of Object.keys(rec)) if (!kept.has(k)) rec[k] = maskStringValues(engine, rec[k], tally);
      } else out = maskStringValues(engine, value, tally);
      if (tally.matches === 0) return { value: out, counts: EMPTY_COUNTS, changed: false };
      const r: DataMaskResult = { value: out, counts: tally.counts!, changed: true };
      if (tally.blocked !== undefined) r.blocked = tally.blocked;
      return r;
    },
    createSseMasker: (observe) => (active ? new AnthropicSseMasker(engine, observe) : new PassThroughSse(observe)),
  };
}
