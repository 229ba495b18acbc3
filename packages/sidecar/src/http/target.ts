// The request target, judged once before any route runs. The router reads the path through
// url.parse, which drops everything after a '#' and reads '\' as '/'; the upstream gets the target
// as it was sent. `POST /v1/messages#/count_tokens` was routed as Messages but judged as
// count_tokens (no token or streaming limits), and `GET /services/crm/customers/1#/notes` matched
// a path glob for notes while the service served the customer. Such a target is refused whole.
// So is a target that is not a path (origin-form): the router reads an absolute-form target
// through url.parse, the forwarder through new URL, and `POST http:///v1/messages` was judged as
// Messages but forwarded as `POST /messages`, `POST http://@/v1/messages` as `POST /`.

/** Why the sidecar refuses this request target, or undefined. */
export function targetProblem(url: string): string | undefined {
  // absolute-form (http://host/path), authority-form, asterisk-form ('*') and '//' (read as a host by URL parsers)
  if (url.charCodeAt(0) !== 0x2f || url.charCodeAt(1) === 0x2f)
    return "is not a path starting with one '/' (origin-form): a URL such as http://host/v1/messages is read one way by the router and another by the upstream; send the path alone, as in POST /v1/messages";
  if (url.includes('#')) return "carries '#' (a fragment: the router drops it, an upstream may not); send the path without it";
  if (url.includes('\\')) return "carries a backslash, which servers can read as '/'; send the path with '/'";
  if (/[^\x21-\x7e]/.test(url)) return 'carries a control, space or non-ASCII character; percent-encode it';
  return undefined;
}
