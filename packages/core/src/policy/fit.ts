// A scope's fit to a request: what in the request the scope denies, and what it holds for a
// person's approval, without looking at reviews. One function per route; fitOf picks it.
import type { ModelScopeSpecEndpoint } from '../types/generated.ts';
import type { CompiledScope } from './compile.ts';
import type { PolicyRequest, Reason } from './decision.ts';
import { fitMessages } from './fit-messages.ts';
import { fitMcp, fitService } from './fit-endpoints.ts';

export interface Fit {
  denies: Reason[];
  gatedModel?: string;
  gatedTools: string[];
  endpoint?: ModelScopeSpecEndpoint;
}

/**
 * One scope's verdict. With explain=false it only finds the effect (no strings are built),
 * which is what decide() needs for every scope but the one it reports.
 */
export function fitOf(s: CompiledScope, req: PolicyRequest, explain: boolean): Fit {
  return req.route === 'service'
    ? fitService(s, req.endpoint, req.method, req.path, explain)
    : req.route === 'mcp'
      ? fitMcp(s, req.endpoint, req.url, req.call, explain)
      : req.route === 'models'
        ? { denies: [], gatedTools: [] }
        : fitMessages(s, req.facts, req.route, explain);
}
