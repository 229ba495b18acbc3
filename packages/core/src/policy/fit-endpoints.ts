// A scope's fit to a request for one of its endpoints: an internal service (method and path) or
// one JSON-RPC message to an MCP server (its tool, resource, prompt or method).
import type { CompiledScope } from './compile.ts';
import type { McpCall, Reason } from './decision.ts';
import type { Fit } from './fit.ts';
import { mcpToolName, toolVerdict } from './tools.ts';
import { matchAnyName, matchPath } from '../util/glob.ts';

export function fitMcp(s: CompiledScope, endpoint: string, url: string, call: McpCall, explain: boolean): Fit {
  const ep = s.endpoints.get(endpoint);
  const fit: Fit = { denies: [], gatedTools: [], endpoint: ep };
  if (!ep || ep.protocol !== 'mcp' || ep.url !== url) {
    // Another scope's endpoint of the same name (another URL or protocol) does not vouch for
    // messages sent to this one.
    const detail = !ep
      ? `endpoint ${endpoint} is not one of [${[...s.endpoints.keys()].join(', ')}]`
      : `endpoint ${endpoint} of this scope is not the MCP server at ${url}`;
    fit.denies.push({ code: ep ? 'EndpointNotMcp' : 'EndpointNotAllowed', rule: 'spec.endpoints', detail: explain ? detail : '' });
    return fit;
  }
  const rule = `spec.endpoints[${ep.name}].mcp`;
  switch (call.kind) {
    case 'protocol':
      break;
    case 'tool': {
      const name = mcpToolName(endpoint, call.tool);
      const v = toolVerdict(s.scope.spec, name);
      if (v === 'gated') fit.gatedTools.push(name);
      else if (v === 'denied')
        fit.denies.push({
          code: 'ToolDenied',
          rule: 'spec.tools.deny',
          detail: explain ? `tool ${name} is denied; the agent may not call it` : '',
        });
      else if (v === 'not-allowed') {
        fit.denies.push({
          code: 'ToolNotAllowed',
          rule: 'spec.tools.allow',
          detail: explain ? `tool ${name} is not in [${(s.scope.spec.tools?.allow ?? []).join(', ')}]; the agent may not call it` : '',
        });
      }
      break;
    }
    case 'resource':
      if (!matchAnyName(ep.mcp?.resources, call.uri)) {
        fit.denies.push({
          code: 'McpResourceNotAllowed',
          rule: `${rule}.resources`,
          detail: explain ? `${call.method} of ${call.uri} is not in [${(ep.mcp?.resources ?? []).join(', ')}]` : '',
        });
      }
      break;
    case 'prompt':
      if (!matchAnyName(ep.mcp?.prompts, call.prompt)) {
        fit.denies.push({
          code: 'McpPromptNotAllowed',
          rule: `${rule}.prompts`,
          detail: explain ? `${call.method} of prompt ${call.prompt} is not in [${(ep.mcp?.prompts ?? []).join(', ')}]` : '',
        });
      }
      break;
    case 'method':
      if (!matchAnyName(ep.mcp?.methods, call.method)) {
        fit.denies.push({
          code: 'McpMethodNotAllowed',
          rule: `${rule}.methods`,
          detail: explain ? `${call.method} is not a method scopekeeper knows and is not in [${(ep.mcp?.methods ?? []).join(', ')}]` : '',
        });
      }
      break;
  }
  return fit;
}

const MCP_HTTP_METHODS = ['POST', 'GET', 'DELETE'];

export function fitService(s: CompiledScope, endpoint: string, method: string, path: string, explain: boolean): Fit {
  const ep = s.endpoints.get(endpoint);
  if (!ep) {
    const names = [...s.endpoints.keys()];
    return {
      denies: [
        {
          code: 'EndpointNotAllowed',
          rule: 'spec.endpoints',
          detail: explain ? `endpoint ${endpoint} is not one of [${names.join(', ')}]` : '',
        },
      ],
      gatedTools: [],
    };
  }
  const denies: Reason[] = [];
  // An MCP endpoint speaks the streamable HTTP transport (POST messages, GET the server's
  // stream, DELETE the session); what passes is then decided per JSON-RPC message (route mcp),
  // and GET and DELETE only for the caller's own session on its path (sidecar mcp/server-stream.ts).
  const methods = ep.protocol === 'mcp' ? MCP_HTTP_METHODS : (ep.methods ?? ['GET']);
  if (!methods.includes(method as never)) {
    denies.push({
      code: 'MethodNotAllowed',
      rule: `spec.endpoints[${ep.name}].methods`,
      detail: explain ? `${method} is not in [${methods.join(', ')}]` : '',
    });
  }
  const paths = ep.paths ?? (ep.protocol === 'mcp' ? mcpDefaultPaths(ep.url) : undefined);
  if (paths && !paths.some((p) => matchPath(p, path))) {
    const why = ep.paths
      ? ''
      : `: an MCP endpoint without paths passes its MCP path only; to reach another path of the server, list the paths in spec.endpoints[${ep.name}].paths`;
    denies.push({
      code: 'PathNotAllowed',
      rule: `spec.endpoints[${ep.name}].paths`,
      detail: explain ? `path ${path} matches none of [${paths.join(', ')}]${why}` : '',
    });
  }
  return { denies, gatedTools: [], endpoint: ep };
}

/**
 * The paths of an MCP endpoint that lists none: its MCP path, and nothing else of the server.
 * The transport has one path, and many MCP servers serve a REST API or actuators in the same
 * process (FastAPI + FastMCP, Spring AI), which a JSON-RPC message the scope allows must not
 * reach (`POST /actuator/shutdown` takes any body). The MCP path is the endpoint's URL when
 * the URL names a path (`http://crm:8080/mcp`: /services/crm), else `/mcp` under it, where the
 * official SDKs and FastMCP serve it (`http://crm:8080`: /services/crm/mcp).
 */
export function mcpDefaultPaths(url: string): string[] {
  return /^\/*$/.test(new URL(url).pathname) ? ['/mcp'] : ['/'];
}
