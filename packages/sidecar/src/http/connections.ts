// The sidecar's two ports and their connection limits (core util/connection-limit.ts closes the
// one idle longest past the limit). Data port: a connection costs the sidecar ~13 KB even when
// idle; 9,000 keep-alive connections that had each sent one request added 115 MB of RSS, and
// 18,000 took the compiled sidecar to 273 MB, past its container's 256Mi, where the kernel kills
// it with every request in it. The concurrency gate counts requests, not connections.

/** The default of --max-connections: above --max-concurrent + --max-queued (768), ~20 MB of connections at most. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

/**
 * A burst opens its connections faster than the sidecar reads their requests. Past
 * --max-connections, a connection not used yet is not closed for room before it has been open this
 * long, and up to --max-connections more are kept (so at most twice as many, ~40 MB at the
 * default) and their requests answered 529 with retry-after, then closed: a caller of a burst gets
 * an answer its SDK retries, not a reset. Past twice the limit, up to --max-connections more are
 * answered the same 529 at once, before anything of them is read, and closed
 * (ANSWERED_UNREAD_LINGER_MS); only past three times the limit is a new one closed at once.
 */
export const FRESH_CONNECTION_GRACE_MS = 2_000;

/**
 * How long a connection answered before it was read stays open for its caller to read the answer
 * and close it (then it is closed from this side). Short, since such connections come only past
 * twice the limit: they are what bounds the sidecar's memory in a flood of connections.
 */
export const ANSWERED_UNREAD_LINGER_MS = 2_000;

/** Seconds a caller turned away for connections is asked to wait. */
export const CONNECTIONS_RETRY_AFTER_S = 1;

/**
 * The admin port's limit. It is the port other pods reach (kubelet probes, Prometheus), so a flood
 * of connections there needs no token: 18,000 took the sidecar to 254 MB.
 */
export const ADMIN_MAX_CONNECTIONS = 64;
