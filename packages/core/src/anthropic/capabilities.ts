// The one list of what a Messages API request asks the model to be able to do. Every entry is
// checked by the scope's tools rules (decide()); the audit's `tools` field lists every name.
//
//   kind         name (what spec.tools allow/deny/approval match)       from
//   tool         the tool's name                                         tools[] without a type, tool_addition blocks
//   server-tool  the type without its date (web_search), and its name   tools[] with an Anthropic-defined type
//   mcp-server   mcp_server:<name> (its URL matched by spec.tools.mcpServers)   mcp_servers[]
//   mcp-tool     mcp__<server>__<tool> per allowed tool, or mcp__<server>__* for all   mcp_servers[], mcp_toolset tools
//   container    container                                               container (reuse of an existing container)
//   skill        skill:<skill_id>                                        container.skills[]
//   file         file:<file_id>                                          file sources, container_upload blocks
//   thread       thread                                                  thread: continue (server-side conversation state)
//   model        the model (checked against spec.models, not tools)      fallbacks[], advisor tools
//
// And the limits every attempt of the request may use (checked by spec.limits like the request's
// own max_tokens and thinking): a fallback's max_tokens and thinking, an advisor tool's max_tokens.
//
// Files, containers and threads live under the organisation's API key, which every caller of
// the sidecar shares: referencing one by id can read what another agent left there.

import { API_FIELDS, FILE_ID_FIELD, KNOWN_BETAS, KNOWN_BLOCK_TYPES, KNOWN_FIELDS, KNOWN_TOOL_TYPES, TOOL_NAME } from './surface.ts';
import { foldKey } from '../util/json-keys.ts';
import { serverUrlProblem } from '../util/server-url.ts';

export type CapabilityKind = 'tool' | 'server-tool' | 'mcp-server' | 'mcp-tool' | 'container' | 'skill' | 'file' | 'thread' | 'model';

export interface Capability {
  kind: CapabilityKind;
  /** The name the scope's rules match (a synthesized `mcp__<server>__*` stands for every tool of a server). */
  name: string;
  /** For mcp-server: the server's name and URL, matched against spec.tools.mcpServers. */
  server?: { name: string; url: string };
}

/** Something the sidecar does not know; refused unless the scope's spec.limits.betas lists `name`. */
export interface UnknownSurface {
  what: 'field' | 'beta' | 'tool type' | 'content block type' | 'MCP server type';
  name: string;
}

export class SurfaceError extends Error {}

type Rec = Record<string, unknown>;

/** A value met while walking the messages: what holds it, and what it is there. */
interface Node {
  v: unknown;
  /** blocks: an array of content blocks; block: one of them; source: a block's source; other: anything else. */
  role: 'blocks' | 'block' | 'source' | 'other';
  up?: Node;
  key: string | number;
}

/**
 * Where content blocks go inside a block: the content of a tool, MCP or search result, and of a
 * document whose source is content. A web search result's list holds search results, not blocks;
 * what else is an object is walked for file ids and tool additions only.
 */
function childRole(role: Node['role'], type: unknown, key: string, child: unknown): Node['role'] {
  if (role === 'block' && key === 'source') return 'source';
  if (key !== 'content' || !Array.isArray(child)) return 'other';
  if (role === 'block') return type === 'web_search_tool_result' ? 'other' : 'blocks';
  return role === 'source' && type === 'content' ? 'blocks' : 'other';
}

/** messages.3.content.0.content.1: the path of a node, for an error message. */
function pathOf(n: Node): string {
  const parts: (string | number)[] = [];
  for (let m: Node | undefined = n; m; m = m.up) parts.push(m.key);
  return parts.reverse().join('.');
}
/** The fields of an MCP server definition (BetaRequestMCPServerURLDefinition) and of its tool_configuration. */
const MCP_SERVER_FIELDS = new Set(['type', 'name', 'url', 'authorization_token', 'tool_configuration']);
const MCP_TOOL_CONFIGURATION_FIELDS = new Set(['allowed_tools', 'enabled']);
/** The per-attempt overrides of a fallbacks entry (BetaFallbackParam, server-side-fallback-2026-07-01). */
const FALLBACK_FIELDS = new Set(['model', 'max_tokens', 'thinking', 'output_config', 'speed']);

/**
 * Refuses a key of `o` (an object whose shape the API defines) that is not spelt as the API
 * spells its fields but equals one of `fields` under case folding: Go's encoding/json (Unicode
 * simple folding: `ſ` is `s`), Jackson with ACCEPT_CASE_INSENSITIVE_PROPERTIES and .NET read
 * `{"name": "Read", "Type": "web_search_20250305"}` as the web_search server tool, or
 * `container: {"ID": …}` as another container, where this collector reads a client tool and no
 * container. (Both spellings in one object are a repeated key, refused by json-keys.ts.) A key of
 * lowercase ASCII, the API's own style, costs one pass over its characters; only `o`'s own keys
 * are read, never what a tool's input_schema or a tool call's input holds.
 */
function refuseRespelt(where: string | Node, o: Rec, fields: ReadonlySet<string> = API_FIELDS): void {
  for (const k in o) {
    const field = foldKey(k);
    if (field === k || !fields.has(field)) continue;
    throw new SurfaceError(
      `${typeof where === 'string' ? where : pathOf(where)}.${k}: the API's field is "${field}"; a server that matches keys case-insensitively would read this key as it. Spell it "${field}", or leave it out.`,
    );
  }
}

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function toolName(where: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new SurfaceError(`${where}.name: Field required. Every tool needs a name.`);
  if (!TOOL_NAME.test(name))
    throw new SurfaceError(`${where}.name: "${name.slice(0, 64)}" is not a tool name; use 1-128 letters, digits, '_' or '-'.`);
  return name;
}

/** A max_tokens, wherever the request sets one: a positive integer, or a 400 naming where. */
export function maxTokensAt(where: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new SurfaceError(`${where}: must be a positive integer.`);
  return v;
}

/** A thinking configuration (the request's, a fallback's) thinks for any type but "disabled"; without a type it does not. */
export function thinkingOn(thinking: unknown): boolean {
  const type = (thinking as { type?: unknown } | null | undefined)?.type;
  return type !== undefined && type !== 'disabled';
}

/** A name inside a capability (an MCP tool, a configs key): anything but glob characters and control characters. */
function refName(where: string, name: unknown): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (typeof name !== 'string' || name.length === 0 || name.length > 256 || /[*\x00-\x1f]/.test(name)) {
    throw new SurfaceError(`${where}: "${String(name).slice(0, 64)}" is not a tool name; send the exact name (no '*').`);
  }
  return name;
}

/** Collects capabilities and unknown parts; throws SurfaceError for a malformed one. */
export class SurfaceCollector {
  readonly capabilities: Capability[] = [];
  readonly unknown: UnknownSurface[] = [];
  /** The largest max_tokens of a fallback or a server tool (an attempt of the request may use it). */
  maxTokens: number | undefined;
  /** Whether a fallback turns thinking on (an attempt of the request may think). */
  thinking = false;
  private readonly seen = new Set<string>();
  private readonly serverNames = new Set<string>();
  /** Servers whose tools an mcp_toolset entry decides. */
  private readonly toolsets = new Set<string>();

  add(kind: CapabilityKind, name: string, server?: Capability['server']): void {
    const key = `${kind}\u0000${name}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.capabilities.push(server ? { kind, name, server } : { kind, name });
  }

  /** A max_tokens an attempt may use in place of the request's; null or absent: the request's. */
  private attemptMaxTokens(where: string, v: unknown): void {
    if (v === undefined || v === null) return;
    this.maxTokens = Math.max(this.maxTokens ?? 0, maxTokensAt(where, v));
  }

  private addUnknown(what: UnknownSurface['what'], name: string): void {
    if (!this.unknown.some((u) => u.what === what && u.name === name)) this.unknown.push({ what, name: name.slice(0, 128) });
  }

  fields(req: Rec): void {
    for (const k of Object.keys(req)) if (!KNOWN_FIELDS.has(k)) this.addUnknown('field', k);
  }

  betas(betas: readonly string[]): void {
    for (const b of betas) if (!KNOWN_BETAS.has(b)) this.addUnknown('beta', b);
  }

  tool(where: string, t: unknown): void {
    if (!isRec(t)) throw new SurfaceError(`${where}: must be a tool definition object.`);
    refuseRespelt(where, t);
    const type = t.type;
    if (type === undefined || type === null || type === 'custom') {
      this.add('tool', toolName(where, t.name));
      return;
    }
    if (typeof type !== 'string') throw new SurfaceError(`${where}.type: must be a string.`);
    if (type === 'mcp_toolset') return this.mcpToolset(where, t);
    const family = KNOWN_TOOL_TYPES.get(type);
    if (family === undefined) {
      this.addUnknown('tool type', type);
      // still checked by name, so a listed unknown type cannot slip past tools.deny
      if (t.name !== undefined) this.add('server-tool', toolName(where, t.name));
      this.add('server-tool', type.replace(/_\d{8}$/, ''));
    } else {
      this.add('server-tool', family);
      if (t.name !== undefined && t.name !== family) this.add('server-tool', toolName(where, t.name));
    }
    // What a server tool generates itself (the advisor: another model, with its own max_tokens) is
    // held to the scope's models and limits, a listed unknown type too.
    if (type.startsWith('advisor_') && typeof t.model === 'string') this.add('model', t.model);
    this.attemptMaxTokens(`${where}.max_tokens`, t.max_tokens);
  }

  /** mcp_toolset (mcp-client-2025-11-20): which tools of a server in mcp_servers the model gets. */
  private mcpToolset(where: string, t: Rec): void {
    const server = t.mcp_server_name;
    if (typeof server !== 'string' || !TOOL_NAME.test(server))
      throw new SurfaceError(`${where}.mcp_server_name: name an MCP server of mcp_servers (1-128 letters, digits, '_' or '-').`);
    this.toolsets.add(server);
    const defaults = isRec(t.default_config) ? t.default_config : {};
    refuseRespelt(`${where}.default_config`, defaults);
    const configs = isRec(t.configs) ? t.configs : {};
    if (defaults.enabled !== false) this.add('mcp-tool', `mcp__${server}__*`);
    for (const [tool, cfg] of Object.entries(configs)) {
      if (isRec(cfg)) refuseRespelt(`${where}.configs.${tool}`, cfg);
      if (isRec(cfg) && cfg.enabled === false) continue;
      this.add('mcp-tool', `mcp__${server}__${refName(`${where}.configs`, tool)}`);
    }
  }

  mcpServer(where: string, s: unknown): void {
    if (!isRec(s)) throw new SurfaceError(`${where}: must be an MCP server definition ({type: "url", name, url}).`);
    refuseRespelt(where, s);
    // What the connector reaches is judged by `url`; a type or a field the sidecar does not know
    // may name the server another way, so it is refused unless the scope lists it.
    if (typeof s.type !== 'string') throw new SurfaceError(`${where}.type: must be "url".`);
    if (s.type !== 'url') this.addUnknown('MCP server type', s.type);
    for (const k of Object.keys(s)) if (!MCP_SERVER_FIELDS.has(k)) this.addUnknown('field', `mcp_servers[].${k}`);
    const cfg = isRec(s.tool_configuration) ? s.tool_configuration : undefined;
    if (cfg) refuseRespelt(`${where}.tool_configuration`, cfg);
    for (const k of Object.keys(cfg ?? {}))
      if (!MCP_TOOL_CONFIGURATION_FIELDS.has(k)) this.addUnknown('field', `mcp_servers[].tool_configuration.${k}`);
    if (typeof s.name !== 'string' || !TOOL_NAME.test(s.name))
      throw new SurfaceError(`${where}.name: give the MCP server a name of 1-128 letters, digits, '_' or '-'.`);
    // One name, one server: a second one of the name would be judged as the first (and its tools go by the same names).
    if (this.serverNames.has(s.name)) throw new SurfaceError(`${where}.name: "${s.name}" names two MCP servers; give each its own name.`);
    this.serverNames.add(s.name);
    if (typeof s.url !== 'string' || s.url.length === 0) throw new SurfaceError(`${where}.url: Field required.`);
    const problem = serverUrlProblem(s.url);
    if (problem) throw new SurfaceError(`${where}.url ${problem}.`);
    this.add('mcp-server', `mcp_server:${s.name}`, { name: s.name, url: s.url });
    if (cfg?.enabled === false) return;
    if (Array.isArray(cfg?.allowed_tools)) {
      for (const tool of cfg.allowed_tools)
        this.add('mcp-tool', `mcp__${s.name}__${refName(`${where}.tool_configuration.allowed_tools`, tool)}`);
      return;
    }
    if (!this.toolsets.has(s.name)) this.add('mcp-tool', `mcp__${s.name}__*`);
  }

  container(c: unknown): void {
    if (c === null || c === undefined) return;
    if (typeof c === 'string') return this.add('container', 'container');
    if (!isRec(c)) throw new SurfaceError('container: must be a container id or {id, skills}.');
    refuseRespelt('container', c);
    if (c.id !== undefined && c.id !== null) this.add('container', 'container');
    if (Array.isArray(c.skills)) {
      for (const [i, s] of c.skills.entries()) {
        if (isRec(s)) refuseRespelt(`container.skills.${i}`, s);
        const id = isRec(s) ? s.skill_id : undefined;
        if (typeof id !== 'string' || id.length === 0 || id.includes('*'))
          throw new SurfaceError(`container.skills.${i}.skill_id: Field required (no '*').`);
        this.add('skill', `skill:${id}`);
      }
    }
  }

  /**
   * Messages' content and the system blocks, walked whole, without a depth limit (the parse has
   * already bounded the values): a file id or a tool added mid-conversation counts wherever it
   * sits (a document whose source is content, a result nested in a result, a result whose
   * content is an object, a code execution output), and the type of every content block is
   * checked where blocks go.
   */
  blocks(where: string, content: unknown): void {
    const stack: Node[] = [{ v: content, role: 'blocks', key: where }];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      const v = n.v;
      if (typeof v !== 'object' || v === null) continue; // a message's content may be a string
      if (Array.isArray(v)) {
        const role = n.role === 'blocks' ? 'block' : 'other';
        for (let i = v.length - 1; i >= 0; i--) if (typeof v[i] === 'object' && v[i] !== null) stack.push({ v: v[i], role, up: n, key: i });
        continue;
      }
      const o = v as Rec;
      // A block and its source are the API's; of any other object the walk reads only file_id.
      refuseRespelt(n, o, n.role === 'other' ? FILE_ID_FIELD : API_FIELDS);
      const type = o.type;
      if (n.role === 'block' && typeof type === 'string' && !KNOWN_BLOCK_TYPES.has(type)) this.addUnknown('content block type', type);
      if (typeof o.file_id === 'string') this.file(o.file_id);
      if (type === 'tool_addition') this.toolAddition(pathOf(n), o.tool);
      for (const k in o) {
        const c = o[k];
        // A tool call's input is the tool's arguments (a client tool may well take a `file_id`), never read by the API.
        if (typeof c !== 'object' || c === null || (k === 'input' && n.role === 'block')) continue;
        stack.push({ v: c, role: childRole(n.role, type, k, c), up: n, key: k });
      }
    }
  }

  /** A tool added mid-conversation (mid-conversation-tool-changes): checked as a tools[] entry. */
  private toolAddition(where: string, tool: unknown): void {
    if (isRec(tool)) refuseRespelt(`${where}.tool`, tool);
    if (!isRec(tool) || tool.type !== 'tool_definition' || !isRec(tool.definition))
      throw new SurfaceError(`${where}.tool: send {type: "tool_definition", definition: {…}}, the tool as tools[] would list it.`);
    this.tool(`${where}.tool.definition`, tool.definition);
  }

  private file(id: string): void {
    this.add('file', `file:${id.replace(/\*/g, '')}`);
  }

  thread(t: unknown): void {
    if (isRec(t)) refuseRespelt('thread', t);
    if (isRec(t) && t.type === 'continue') this.add('thread', 'thread');
  }

  fallbacks(f: unknown): void {
    if (f === undefined || f === null) return;
    // "default": models the API picks, which no scope can have reviewed
    if (f === 'default') return this.add('model', 'fallbacks:default');
    if (!Array.isArray(f)) throw new SurfaceError('fallbacks: must be a list of {model} or "default".');
    for (const [i, fb] of f.entries()) {
      if (isRec(fb)) refuseRespelt(`fallbacks.${i}`, fb);
      if (!isRec(fb) || typeof fb.model !== 'string') throw new SurfaceError(`fallbacks.${i}.model: Field required.`);
      this.add('model', fb.model);
      // Each attempt's own overrides: the request's limits are the most any attempt may use.
      this.attemptMaxTokens(`fallbacks.${i}.max_tokens`, fb.max_tokens);
      if (isRec(fb.thinking)) refuseRespelt(`fallbacks.${i}.thinking`, fb.thinking);
      if (thinkingOn(fb.thinking)) this.thinking = true;
      for (const k of Object.keys(fb)) if (!FALLBACK_FIELDS.has(k)) this.addUnknown('field', `fallbacks[].${k}`);
    }
  }
}

/** Reads every capability and unknown part of a parsed request body and its betas. */
export function collectSurface(
  req: Rec,
  betas: readonly string[],
): { capabilities: Capability[]; unknown: UnknownSurface[]; maxTokens: number | undefined; thinking: boolean } {
  const c = new SurfaceCollector();
  c.fields(req);
  c.betas(betas);
  if (req.tools !== undefined) {
    if (!Array.isArray(req.tools)) throw new SurfaceError('tools: must be an array of tool definitions.');
    req.tools.forEach((t, i) => c.tool(`tools.${i}`, t));
  }
  if (req.mcp_servers !== undefined) {
    if (!Array.isArray(req.mcp_servers)) throw new SurfaceError('mcp_servers: must be an array of MCP server definitions.');
    req.mcp_servers.forEach((s, i) => c.mcpServer(`mcp_servers.${i}`, s));
  }
  c.container(req.container);
  c.thread(req.thread);
  if (isRec(req.thinking)) refuseRespelt('thinking', req.thinking); // read by inspect.ts (thinkingOn) for spec.limits
  c.fallbacks(req.fallbacks);
  if (Array.isArray(req.messages)) req.messages.forEach((m, i) => isRec(m) && c.blocks(`messages.${i}.content`, m.content));
  if (Array.isArray(req.system)) c.blocks('system', req.system);
  return { capabilities: c.capabilities, unknown: c.unknown, maxTokens: c.maxTokens, thinking: c.thinking };
}
