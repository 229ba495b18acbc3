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
 * an answer its SDK retries, not a reset. Past twice the limit a new connection is closed at once.
 */
export const FRESH_CONNECTION_GRACE_MS = 2_000;

/** Seconds a caller turned away for connections is asked to wait. */
export const CONNECTIONS_RETRY_AFTER_S = 1;

/**
 * The admin port's limit. It is the port other pods reach (kubelet probes, Prometheus), so a flood
 * of connections there needs no token: 18,000 took the sidecar to 254 MB.
 */
export const ADMIN_MAX_CONNECTIONS = 64;
