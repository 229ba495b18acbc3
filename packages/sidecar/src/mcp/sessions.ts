// An MCP session belongs to the caller that opened it: another identity presenting its
// Mcp-Session-Id would read the session's server stream (and act in its server-side state).
// Bounded: the oldest bindings go first; an id the sidecar never saw (it restarted) is left to
// the server, which answers 404 for a session it does not know.

const MAX_SESSIONS = 10_000;

export class McpSessions {
  private readonly owners = new Map<string, string>();

  /** Records the owner of a session the server just named (on any answer carrying Mcp-Session-Id). */
  bind(endpoint: string, sessionId: string, owner: string): void {
    const key = `${endpoint}\u0000${sessionId}`;
    if (this.owners.has(key)) return;
    if (this.owners.size >= MAX_SESSIONS) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(key, owner);
  }

  /** False when the session is known to belong to someone else. */
  mayUse(endpoint: string, sessionId: string, owner: string): boolean {
    const bound = this.owners.get(`${endpoint}\u0000${sessionId}`);
    return bound === undefined || bound === owner;
  }

  end(endpoint: string, sessionId: string): void {
    this.owners.delete(`${endpoint}\u0000${sessionId}`);
  }
}
