// The one tools decision (allow, deny, approval) for every tool, server tool and MCP tool a
// request names, and the name an MCP server's tool goes by.
import type { CompiledScope } from './compile.ts';
import { globsOverlap, matchAnyName } from '../util/glob.ts';

/**
 * The one tools decision, for every capability a request gives the model. A name with '*' (every
 * tool of an MCP server) is caught by any deny or approval rule that could match one of its
 * members, and allowed only by a rule that matches all of them.
 */
export function toolVerdict(spec: CompiledScope['scope']['spec'], name: string): 'gated' | 'denied' | 'not-allowed' | 'ok' {
  const wild = name.includes('*');
  const hits = (globs: readonly string[] | undefined) =>
    wild ? (globs ?? []).some((g) => globsOverlap(g, name)) : matchAnyName(globs, name);
  if (hits(spec.approval?.requiredFor?.tools)) return 'gated';
  if (hits(spec.tools?.deny)) return 'denied';
  // matching the name literally ('*' as a character) means the glob covers every member
  if (spec.tools?.allow && !matchAnyName(spec.tools.allow, name)) return 'not-allowed';
  return 'ok';
}

/** The name the Agent SDK gives an MCP server's tool: mcp__<endpoint>__<tool>. */
export function mcpToolName(endpoint: string, tool: string): string {
  return `mcp__${endpoint}__${tool}`;
}
