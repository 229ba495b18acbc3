// Reads what policy needs from a Messages API request without changing a byte of it: the
// body is parsed for inspection only and the original buffer is what gets forwarded.
import { collectSurface, maxTokensAt, SurfaceError, thinkingOn, type Capability, type UnknownSurface } from './capabilities.ts';
import { duplicateKeyMessage, firstDuplicateKey } from '../util/json-keys.ts';
import { JsonTooLargeError, parseJson } from '../util/json-size.ts';

export interface MessagesRequestFacts {
  model: string;
  /** The largest max_tokens of the request, its fallbacks and its advisor tools: the most any attempt may use. */
  maxTokens?: number;
  stream: boolean;
  /** Whether the request or any of its fallbacks turns thinking on. */
  thinking: boolean;
  /** The name of every capability (what the audit's `tools` lists); models as model:<name>. */
  tools: string[];
  betas: string[];
  /** Every capability of the request (see capabilities.ts); absent: `tools` are client tools. */
  capabilities?: Capability[];
  /** Fields, betas, tool and block types scopekeeper does not know (refused unless spec.limits.betas lists them). */
  unknown?: UnknownSurface[];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export class RequestInspectionError extends Error {}

function fail(message: string): never {
  throw new RequestInspectionError(message);
}

/** Runs a check of capabilities.ts, its SurfaceError a refusal of the request. */
function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof SurfaceError) fail(e.message);
    throw e;
  }
}

/** Parses the anthropic-beta header(s): comma-separated, possibly repeated. */
export function parseBetas(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: string[] = [];
  for (const v of values) for (const part of v.split(',')) if (part.trim()) out.push(part.trim());
  return out;
}

export function inspectMessagesRequest(
  body: Uint8Array | string,
  betaHeader: string | string[] | undefined,
  opts: { requireMaxTokens: boolean } = { requireMaxTokens: true },
): MessagesRequestFacts {
  let parsed: unknown;
  let text: string;
  try {
    text = typeof body === 'string' ? body : UTF8.decode(body);
    parsed = parseJson(text);
  } catch (e) {
    if (e instanceof JsonTooLargeError)
      fail(`The request body is not inspected: ${e.message}. Send fewer, larger values (a long text rather than many small objects).`);
    fail('The request body is not valid UTF-8 JSON. Send a JSON object as the Messages API documents it.');
  }
  const repeated = firstDuplicateKey(text);
  if (repeated !== undefined) fail(duplicateKeyMessage(repeated));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail('The request body must be a JSON object with model and messages.');
  }
  const req = parsed as Record<string, unknown>;
  if (typeof req.model !== 'string' || req.model.length === 0)
    fail('model: Field required. Name the model to call, for example claude-sonnet-4-5.');
  refuseGlob('model', req.model);
  let maxTokens: number | undefined;
  if (req.max_tokens !== undefined) {
    maxTokens = checked(() => maxTokensAt('max_tokens', req.max_tokens));
  } else if (opts.requireMaxTokens) {
    fail('max_tokens: Field required. Set max_tokens to the most output tokens you want.');
  }
  if (req.stream !== undefined && typeof req.stream !== 'boolean') fail('stream: must be true or false.');
  const betas = parseBetas(betaHeader);
  const surface = checked(() => collectSurface(req, betas));
  for (const c of surface.capabilities) if (c.kind === 'model') refuseGlob('a model named in the request', c.name);
  return {
    model: req.model,
    // every max_tokens is at least 1: 0 is none
    maxTokens: Math.max(maxTokens ?? 0, surface.maxTokens ?? 0) || undefined,
    stream: req.stream === true,
    thinking: thinkingOn(req.thinking) || surface.thinking,
    tools: surface.capabilities.map((c) => (c.kind === 'model' ? `model:${c.name}` : c.name)),
    betas,
    capabilities: surface.capabilities,
    unknown: surface.unknown,
  };
}

/**
 * A model is named, never matched: a name with glob characters would be held for approval as
 * written and its approval would then cover every model the pattern matches (issue 14 class 4).
 * And a name is printable ASCII, as every model id is: a server or gateway that cuts a name at a
 * NUL or a line break, trims it or folds look-alike characters would call another model than the
 * one the scope matched (`claude-opus-4-1\u0000haiku` matches `*haiku*`).
 */
function refuseGlob(field: string, name: string): void {
  const shown = () => JSON.stringify(name.length > 100 ? `${name.slice(0, 97)}...` : name);
  if (/[*?[\]]/.test(name))
    fail(
      `${field}: ${shown()} is not a model name: glob characters (* ? [ ]) are not accepted. Name exactly one model, for example claude-sonnet-4-5.`,
    );
  if (/[^\x21-\x7e]/.test(name))
    fail(
      `${field}: ${shown()} is not a model name: it holds a space, a control or a non-ASCII character. Name the model as its id is written, for example claude-sonnet-4-5.`,
    );
}
