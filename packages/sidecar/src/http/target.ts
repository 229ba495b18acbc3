// The request target, judged once before any route runs. The router reads the path through
// url.parse, which drops everything after a '#' and reads '\' as '/'; the upstream gets the target
// as it was sent. `POST /v1/messages#/count_tokens` was routed as Messages but judged as
// count_tokens (no token or streaming limits), and `GET /services/crm/customers/1#/notes` matched
// a path glob for notes while the service served the customer. Such a target is refused whole.

/** Why the sidecar refuses this request target, or undefined. */
export function targetProblem(url: string): string | undefined {
  if (url.includes('#')) return "carries '#' (a fragment: the router drops it, an upstream may not); send the path without it";
  if (url.includes('\\')) return "carries a backslash, which servers can read as '/'; send the path with '/'";
  if (/[^\x21-\x7e]/.test(url)) return 'carries a control, space or non-ASCII character; percent-encode it';
  return undefined;
}
