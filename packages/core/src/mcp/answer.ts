// What an MCP server sends back, made fit for the caller: list answers filtered to what the
// scope allows, tool results' structuredContent (and JSON text content) masked by the
// endpoint's maskFields, every string, object key and number the server wrote masked by the
// scope's detectors (as an internal service's answer: masking/json-values.ts). Works
// the same on a JSON answer and on an event stream, where each complete event (one JSON-RPC
// message) goes out as soon as its blank line arrives and nothing is held longer.
import type { Masking } from '../masking/index.ts';
import { maskingBlockedMessage } from '../masking/sse-masker.ts';
import { parsePreservingNumbers } from '../masking/json-values.ts';
import { JsonTooLargeError } from '../util/json-size.ts';
import { firstDuplicateKey } from '../util/json-keys.ts';
import { applyJsonPaths, parseJsonPath, type JsonPath } from '../masking/jsonpath.ts';
import { RPC, rpcError, type JsonRpcId } from './jsonrpc.ts';
import { McpSseRelay } from './answer-stream.ts';

export interface McpAnswerRules {
  /** The scope's detectors; undefined or inactive: none. */
  masking?: Masking;
  /** The endpoint's maskFields (JSONPath), applied to tool results' structuredContent. */
  maskFields: readonly string[];
  /** Whether the caller may see the server's tool `name` in tools/list (the tools/call rule). */
  keepTool(name: string): boolean;
  keepResource(uri: string): boolean;
  keepPrompt(name: string): boolean;
}

/** What happened to one message of the answer. */
export interface McpMessageOutcome {
  /** The id of a response (to find its call), undefined for the server's own requests and notifications. */
  id?: JsonRpcId | null;
  counts: Record<string, number>;
  /** A data.block category matched: a response became an error, anything else was dropped. */
  blocked?: string;
  /** List entries hidden because the scope does not allow them. */
  hidden: number;
  /** The message could not be read (not JSON): it was not delivered. */
  unreadable?: boolean;
}

export interface Work {
  counts: Record<string, number>;
  blocked?: string;
  hidden: number;
  changed: boolean;
}

const J = JSON as unknown as { isRawJSON(v: unknown): boolean };
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !J.isRawJSON(v);
/** A message's id as parsed (numbers arrive as raw JSON, to keep their digits): the id, or null. */
const idOf = (v: unknown): JsonRpcId | null =>
  typeof v === 'string' || typeof v === 'number' ? v : J.isRawJSON(v) ? (JSON.parse(JSON.stringify(v)) as number) : null;
/** Protocol members the client needs verbatim (a masked id, version or cursor would break the session). */
const VERBATIM_MESSAGE = new Set(['jsonrpc', 'id', 'method']);
/** The same, for a message whose result was masked on its own (its own protocol members kept). */
const VERBATIM_MESSAGE_BESIDE_RESULT = new Set([...VERBATIM_MESSAGE, 'result']);
const VERBATIM_RESULT = new Set(['protocolVersion', 'nextCursor']);

function tally(w: Work, counts: Readonly<Record<string, number>>, blocked: string | undefined): void {
  for (const k in counts) w.counts[k] = (w.counts[k] ?? 0) + counts[k]!;
  if (blocked !== undefined && w.blocked === undefined) w.blocked = blocked;
}

/** `value` masked by the rule of an internal service's answer (Masking.maskData), tallied into `w`. */
function maskInto(value: unknown, masking: Masking, w: Work, kept?: ReadonlySet<string>): unknown {
  const r = masking.maskData(value, kept);
  if (!r.changed) return value;
  tally(w, r.counts, r.blocked);
  w.changed = true;
  return r.value;
}

/**
 * Masks every string value, object key and number of a message (masking/json-values.ts, as an
 * internal service's answer is), except its protocol members, name and value: jsonrpc, id and
 * method of the message, protocolVersion and nextCursor of its result.
 */
function maskMessage(msg: Record<string, unknown>, masking: Masking, w: Work): void {
  if (isObject(msg.result)) maskInto(msg.result, masking, w, VERBATIM_RESULT);
  maskInto(msg, masking, w, isObject(msg.result) ? VERBATIM_MESSAGE_BESIDE_RESULT : VERBATIM_MESSAGE);
}

function filterList(result: Record<string, unknown>, key: string, field: string, keep: (s: string) => boolean, w: Work): void {
  const list = result[key];
  if (!Array.isArray(list)) return;
  const kept = list.filter((e) => isObject(e) && typeof e[field] === 'string' && keep(e[field]));
  if (kept.length !== list.length) {
    w.hidden += list.length - kept.length;
    w.changed = true;
    result[key] = kept;
  }
}

function maskFieldsIn(value: unknown, paths: readonly JsonPath[], w: Work): unknown {
  const r = applyJsonPaths(value, paths, '[MASKED:field]');
  if (r.replaced > 0) {
    w.counts.field = (w.counts.field ?? 0) + r.replaced;
    w.changed = true;
  }
  return r.root;
}

function governResult(result: Record<string, unknown>, rules: McpAnswerRules, paths: readonly JsonPath[], w: Work): void {
  filterList(result, 'tools', 'name', rules.keepTool, w);
  filterList(result, 'prompts', 'name', rules.keepPrompt, w);
  filterList(result, 'resources', 'uri', rules.keepResource, w);
  filterList(result, 'resourceTemplates', 'uriTemplate', rules.keepResource, w);
  if (paths.length > 0) {
    if ('structuredContent' in result) result.structuredContent = maskFieldsIn(result.structuredContent, paths, w);
    // Servers usually send the structured result a second time as JSON text: mask it alike.
    if (Array.isArray(result.content)) {
      for (const block of result.content) {
        if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string') continue;
        const text = block.text.trimStart();
        if (!text.startsWith('{') && !text.startsWith('[')) continue;
        let parsed: unknown;
        try {
          parsed = parsePreservingNumbers(block.text);
        } catch {
          continue;
        }
        const before = w.counts.field ?? 0;
        const masked = maskFieldsIn(parsed, paths, w);
        if ((w.counts.field ?? 0) !== before) block.text = JSON.stringify(masked);
      }
    }
  }
}

/** Governs one message object in place; returns what to send instead (undefined: drop it). */
export function governMessage(msg: unknown, rules: McpAnswerRules, paths: readonly JsonPath[], w: Work): unknown {
  if (!isObject(msg)) {
    return rules.masking?.active ? maskInto(msg, rules.masking, w) : msg;
  }
  const isResponse = !('method' in msg);
  if (isResponse && isObject(msg.result)) governResult(msg.result, rules, paths, w);
  if (rules.masking?.active) maskMessage(msg, rules.masking, w);
  if (w.blocked !== undefined) {
    if (!isResponse) return undefined;
    // the raw id, so a large number goes back with the digits the client sent
    return rpcError((J.isRawJSON(msg.id) ? msg.id : idOf(msg.id)) as JsonRpcId | null, RPC.blocked, maskingBlockedMessage(w.blocked), {
      category: w.blocked,
    });
  }
  return msg;
}

export class McpAnswer {
  private readonly rules: McpAnswerRules;
  private readonly paths: readonly JsonPath[];

  constructor(rules: McpAnswerRules) {
    this.rules = rules;
    this.paths = rules.maskFields.map((f, i) => parseJsonPath(f, `maskFields[${i}]`));
  }

  /**
   * One JSON body (a message or a batch). The original bytes come back when nothing changed.
   * `extra` (our own refusals of a batch's entries) is merged into the answer.
   */
  json(body: Buffer, extra: readonly Record<string, unknown>[] = []): { body: Buffer; outcomes: McpMessageOutcome[] } {
    let value: unknown;
    let text = '';
    try {
      value = parsePreservingNumbers((text = body.toString('utf8')));
    } catch (e) {
      const why =
        e instanceof JsonTooLargeError
          ? `The MCP server's answer was not checked (${e.message}), so scopekeeper did not pass it on; ask for less at a time.`
          : 'The MCP server answered with something that is not JSON, so scopekeeper did not pass it on; check the server.';
      return {
        body: Buffer.from(JSON.stringify(rpcError(null, RPC.unavailable, why))),
        outcomes: [{ counts: {}, hidden: 0, unreadable: true }],
      };
    }
    const batch = Array.isArray(value);
    const list = batch ? (value as unknown[]) : [value];
    const out: unknown[] = [];
    const outcomes: McpMessageOutcome[] = [];
    let changed = extra.length > 0;
    for (const msg of list) {
      const w: Work = { counts: {}, hidden: 0, changed: false };
      const sent = governMessage(msg, this.rules, this.paths, w);
      changed ||= w.changed || sent !== msg;
      if (sent !== undefined) out.push(sent);
      outcomes.push(outcome(msg, w));
    }
    // A key repeated in one object: JSON.parse (and so every rule above) read its last copy, a
    // client that keeps the first would read one nobody checked; serialized from the checked tree.
    if (!changed && firstDuplicateKey(text, { caseFold: false }) === undefined) return { body, outcomes };
    const all = [...out, ...extra];
    return { body: Buffer.from(JSON.stringify(batch || all.length > 1 ? all : all[0]), 'utf8'), outcomes };
  }

  /** A relay for one event stream of this server. */
  stream(onMessage: (o: McpMessageOutcome) => void = () => {}): McpSseRelay {
    return new McpSseRelay((msg, w) => governMessage(msg, this.rules, this.paths, w), onMessage, this.rules.masking);
  }
}

export function outcome(msg: unknown, w: Work): McpMessageOutcome {
  const o: McpMessageOutcome = { counts: w.counts, hidden: w.hidden };
  if (w.blocked !== undefined) o.blocked = w.blocked;
  if (isObject(msg) && !('method' in msg)) o.id = idOf(msg.id);
  return o;
}
