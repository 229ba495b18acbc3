// A scope's fit to a Messages (or count_tokens) request: its model, limits, unknown fields and
// every capability the request gives the model (anthropic/capabilities.ts lists them).
import type { MessagesRequestFacts } from '../anthropic/inspect.ts';
import type { Capability } from '../anthropic/capabilities.ts';
import type { CompiledScope } from './compile.ts';
import type { Fit } from './fit.ts';
import { toolVerdict } from './tools.ts';
import { matchAnyName } from '../util/glob.ts';
import { matchServer } from '../util/server-url.ts';

export function fitMessages(s: CompiledScope, facts: MessagesRequestFacts, route: 'messages' | 'count_tokens', explain: boolean): Fit {
  const spec = s.scope.spec;
  const fit: Fit = { denies: [], gatedTools: [] };
  const requiredFor = spec.approval?.requiredFor;
  if (matchAnyName(requiredFor?.models, facts.model)) fit.gatedModel = facts.model;
  else if (!matchAnyName(spec.models, facts.model)) {
    fit.denies.push({
      code: 'ModelNotAllowed',
      rule: 'spec.models',
      detail: explain ? `model ${facts.model} is not in [${spec.models.join(', ')}]; use one of those models` : '',
    });
  }
  if (route === 'messages') {
    const max = spec.limits?.maxTokens;
    if (max !== undefined && facts.maxTokens !== undefined && facts.maxTokens > max) {
      fit.denies.push({
        code: 'MaxTokensExceeded',
        rule: 'spec.limits.maxTokens',
        detail: explain
          ? `max_tokens ${facts.maxTokens} is over the limit of ${max}; lower max_tokens (the request's, and any in fallbacks[] or an advisor tool)`
          : '',
      });
    }
    if (facts.stream && spec.limits?.streaming === false) {
      fit.denies.push({
        code: 'StreamingNotAllowed',
        rule: 'spec.limits.streaming',
        detail: 'streaming is off for this scope; send the request with stream: false',
      });
    }
  }
  if (facts.thinking && spec.limits?.thinking !== true) {
    fit.denies.push({
      code: 'ThinkingNotAllowed',
      rule: 'spec.limits.thinking',
      detail: "extended thinking is off for this scope; remove the thinking parameter (the request's, and any in fallbacks[])",
    });
  }
  for (const u of facts.unknown ?? []) {
    if (matchAnyName(spec.limits?.betas, u.name)) continue;
    fit.denies.push({
      code: 'UnknownRequestField',
      rule: 'spec.limits.betas',
      detail: explain
        ? `the request's ${u.what} "${u.name}" is not one scopekeeper knows; remove it, or ask the scope's reviewers to list it in spec.limits.betas`
        : '',
    });
  }
  for (const c of facts.capabilities ?? facts.tools.map((name): Capability => ({ kind: 'tool', name }))) {
    if (c.kind === 'model') {
      if (!matchAnyName(spec.models, c.name)) {
        fit.denies.push({
          code: 'ModelNotAllowed',
          rule: 'spec.models',
          detail: explain
            ? `the request's fallbacks or advisor tool name model ${c.name}, which is not in [${spec.models.join(', ')}]; use one of those models`
            : '',
        });
      }
      continue;
    }
    if (c.kind === 'mcp-server') {
      const listed = spec.tools?.mcpServers;
      // By URL, and by name where the entry binds one: the request names its servers itself (util/server-url.ts).
      if (!c.server || !matchServer(listed, c.server)) {
        fit.denies.push({
          code: 'McpServerNotAllowed',
          rule: 'spec.tools.mcpServers',
          detail: explain
            ? `MCP server ${c.server?.name ?? c.name} (${shownUrl(c.server?.url ?? '')}) is not in [${(listed ?? []).join(', ')}]; remove it from mcp_servers or ask the scope's reviewers to list it`
            : '',
        });
      }
      continue;
    }
    const verdict = toolVerdict(spec, c.name);
    // A tool of the scope's own MCP endpoint is held where it is called (tools/call through the
    // sidecar), not where it is offered: holding every Messages request that lists it would
    // stop the agent before it could ask.
    if (verdict === 'gated') {
      if (!(c.kind === 'tool' && isSidecarMcpTool(s, c.name))) fit.gatedTools.push(c.name);
    } else if (verdict === 'denied') {
      fit.denies.push({
        code: 'ToolDenied',
        rule: 'spec.tools.deny',
        detail: explain ? `${KIND_LABEL[c.kind]} ${c.name} is denied; remove it from the request` : '',
      });
    } else if (verdict === 'not-allowed') {
      fit.denies.push({
        code: 'ToolNotAllowed',
        rule: 'spec.tools.allow',
        detail: explain ? `${KIND_LABEL[c.kind]} ${c.name} is not in [${spec.tools!.allow!.join(', ')}]; remove it from the request` : '',
      });
    }
  }
  return fit;
}

/** A URL as an error may show it: no credentials, query or fragment (they can carry tokens). */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`.slice(0, 256);
  } catch {
    return 'not a URL';
  }
}

const KIND_LABEL: Record<Capability['kind'], string> = {
  tool: 'tool',
  'server-tool': 'server tool',
  'mcp-server': 'MCP server',
  'mcp-tool': 'MCP tool',
  container: 'container reuse',
  skill: 'skill',
  file: 'file reference',
  thread: 'thread continuation',
  model: 'model',
};

function isSidecarMcpTool(s: CompiledScope, tool: string): boolean {
  if (!tool.startsWith('mcp__')) return false;
  const end = tool.indexOf('__', 5);
  return end > 5 && s.endpoints.get(tool.slice(5, end))?.protocol === 'mcp';
}
