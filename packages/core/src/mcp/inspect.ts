// What a JSON-RPC message to an MCP server asks for, in the terms policy decides on: a tool,
// a resource, a prompt, a protocol message every MCP session needs, or a method scopekeeper
// does not know (which passes only when the endpoint lists it).
import { hash } from 'node:crypto';
import type { McpCall } from '../policy/decision.ts';
import type { JsonRpcMessage } from './jsonrpc.ts';

/**
 * Methods every session needs and that carry nothing policy governs. The list methods are
 * answered, then filtered (tools/list by spec.tools, resources/list by mcp.resources, …).
 * Anything else not named below — tasks/*, experimental and vendor methods — is a 'method'.
 */
const PROTOCOL_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'prompts/list',
  'logging/setLevel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
]);

const RESOURCE_METHODS = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe']);

/** Names and URIs longer than this are refused as invalid params (they would only be truncated in audit). */
const MAX_NAME = 2048;

export type McpInspection = { call: McpCall } | { problem: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function named(value: unknown, field: string): string | { problem: string } {
  if (typeof value !== 'string' || value === '') return { problem: `params.${field} must be a non-empty string` };
  if (value.length > MAX_NAME) return { problem: `params.${field} is longer than ${MAX_NAME} characters` };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return { problem: `params.${field} contains a control character` };
  return value;
}

/** Classifies a request or notification (responses and invalid entries have no call). */
export function inspectMcpMessage(m: Extract<JsonRpcMessage, { kind: 'request' | 'notification' }>): McpInspection {
  const method = m.method;
  const params = isObject(m.params) ? m.params : {};
  if (method === 'tools/call') {
    const tool = named(params.name, 'name');
    if (typeof tool !== 'string') return tool;
    if ('arguments' in params && !isObject(params.arguments)) return { problem: 'params.arguments must be an object' };
    return { call: { kind: 'tool', method, tool } };
  }
  if (RESOURCE_METHODS.has(method)) {
    const uri = named(params.uri, 'uri');
    return typeof uri === 'string' ? { call: { kind: 'resource', method, uri } } : uri;
  }
  if (method === 'prompts/get') {
    const prompt = named(params.name, 'name');
    return typeof prompt === 'string' ? { call: { kind: 'prompt', method, prompt } } : prompt;
  }
  if (method === 'completion/complete') {
    // Completions reveal a prompt's or a resource template's argument values: the same rule as reading them.
    const ref = isObject(params.ref) ? params.ref : {};
    if (ref.type === 'ref/prompt') {
      const prompt = named(ref.name, 'ref.name');
      return typeof prompt === 'string' ? { call: { kind: 'prompt', method, prompt } } : prompt;
    }
    if (ref.type === 'ref/resource') {
      const uri = named(ref.uri, 'ref.uri');
      return typeof uri === 'string' ? { call: { kind: 'resource', method, uri } } : uri;
    }
    return { problem: 'params.ref must be a ref/prompt or a ref/resource' };
  }
  if (PROTOCOL_METHODS.has(method)) return { call: { kind: 'protocol', method } };
  return { call: { kind: 'method', method } };
}

/** sha256 of a tool call's arguments as sent (canonical JSON), for the audit record; never the arguments themselves. */
export function argumentsHash(m: Extract<JsonRpcMessage, { kind: 'request' | 'notification' }>): string | undefined {
  if (m.method !== 'tools/call' || !isObject(m.params) || !('arguments' in m.params)) return undefined;
  return hash('sha256', stableJson(m.params.arguments), 'hex');
}

/** JSON with object keys sorted, iteratively (arguments may nest deeply). */
function stableJson(value: unknown): string {
  const parts: string[] = [];
  const stack: { v?: unknown; lit?: string }[] = [{ v: value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (item.lit !== undefined) {
      parts.push(item.lit);
      continue;
    }
    const v = item.v;
    if (Array.isArray(v)) {
      parts.push('[');
      stack.push({ lit: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ v: v[i] });
        if (i > 0) stack.push({ lit: ',' });
      }
    } else if (isObject(v)) {
      const keys = Object.keys(v).sort();
      parts.push('{');
      stack.push({ lit: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ v: v[keys[i]!] });
        stack.push({ lit: JSON.stringify(keys[i]) + ':' });
        if (i > 0) stack.push({ lit: ',' });
      }
    } else parts.push(JSON.stringify(v) ?? 'null');
  }
  return parts.join('');
}
