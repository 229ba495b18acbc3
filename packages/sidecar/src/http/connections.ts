// The sidecar's two ports and their connection limits (core util/connection-limit.ts closes the
// one idle longest past the limit). Data port: a connection costs the sidecar ~13 KB even when
// idle; 9,000 keep-alive connections that had each sent one request added 115 MB of RSS, and
// 18,000 took the compiled sidecar to 273 MB, past its container's 256Mi, where the kernel kills
// it with every request in it. The concurrency gate counts requests, not connections.

/** The default of --max-connections: above --max-concurrent + --max-queued (768), ~20 MB of connections at most. */
export const DEFAULT_MAX_CONNECTIONS = 1024;

/**
 * The admin port's limit. It is the port other pods reach (kubelet probes, Prometheus), so a flood
 * of connections there needs no token: 18,000 took the sidecar to 254 MB.
 */
export const ADMIN_MAX_CONNECTIONS = 64;
