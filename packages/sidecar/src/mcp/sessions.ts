// An MCP session belongs to the caller that opened it: another identity presenting its
// Mcp-Session-Id would read the session's server stream (and act in its server-side state).
// Bounded per caller: a caller that opens more than MAX_PER_OWNER sessions forgets its own
// oldest, never another caller's (else opening thousands of sessions would unbind a victim's
// session, whose POSTs the sidecar then leaves to the server). The whole table is bounded too.
// A session also keeps the path it was opened on (the path under /services/<endpoint>, as
// forwarded): GET (the server's stream) and DELETE (the end of the session) pass only for a
// session of this caller, on that path, so that they cannot reach the other routes of a server
// that serves a REST API beside MCP. A POST with an id the sidecar never saw (it restarted, or
// forgot the id) is left to the server, which answers 404 for a session it does not know; a GET or
// DELETE with such an id is answered 404 by the sidecar (open a new session), and a POST answered
// with that id binds it again.

const MAX_SESSIONS = 10_000;
const MAX_PER_OWNER = 256;

export class McpSessions {
  /** Each session's owner and the path it was opened on. */
  private readonly owners = new Map<string, { owner: string; path: string }>();
  /** Each owner's sessions, oldest first. */
  private readonly byOwner = new Map<string, Set<string>>();

  private readonly limits: { total: number; perOwner: number };

  constructor(limits = { total: MAX_SESSIONS, perOwner: MAX_PER_OWNER }) {
    this.limits = limits;
  }

  /** Records the owner of a session the server just named (on any answer carrying Mcp-Session-Id), and the path it was named on. */
  bind(endpoint: string, sessionId: string, owner: string, path: string): void {
    const key = `${endpoint}\u0000${sessionId}`;
    if (this.owners.has(key)) return;
    const mine = this.byOwner.get(owner) ?? new Set<string>();
    if (mine.size >= this.limits.perOwner) this.forget(mine.values().next().value!);
    // Past the total, the owner with the most sessions gives up its oldest.
    if (this.owners.size >= this.limits.total) this.forget(this.largest().values().next().value!);
    this.owners.set(key, { owner, path });
    this.byOwner.set(owner, mine.add(key));
  }

  /** False when the session is known to belong to someone else. */
  mayUse(endpoint: string, sessionId: string, owner: string): boolean {
    const bound = this.owners.get(`${endpoint}\u0000${sessionId}`);
    return bound === undefined || bound.owner === owner;
  }

  /** The path `owner` opened the session on; undefined when the sidecar does not know the session as `owner`'s. */
  pathOf(endpoint: string, sessionId: string, owner: string): string | undefined {
    const bound = this.owners.get(`${endpoint}\u0000${sessionId}`);
    return bound?.owner === owner ? bound.path : undefined;
  }

  end(endpoint: string, sessionId: string): void {
    this.forget(`${endpoint}\u0000${sessionId}`);
  }

  private forget(key: string): void {
    const owner = this.owners.get(key)?.owner;
    if (owner === undefined) return;
    this.owners.delete(key);
    const mine = this.byOwner.get(owner)!;
    mine.delete(key);
    if (mine.size === 0) this.byOwner.delete(owner);
  }

  /** The owner with the most sessions; of several, the one that has been bound longest. */
  private largest(): Set<string> {
    let most: Set<string> | undefined;
    for (const s of this.byOwner.values()) if (!most || s.size > most.size) most = s;
    return most!;
  }

  /** How many callers hold a session (tests: an owner with none is forgotten). */
  get callers(): number {
    return this.byOwner.size;
  }
}
