// node:http through process.getBuiltinModule, not an ES module import: importing node:http as an
// ES module builds its namespace, which reads every export, the lazy WebSocket / EventSource ones
// too, and so loads Node's bundled undici with TLS and HTTP/2 (~14 MB of RSS, ~15 ms of start-up)
// that the sidecar never uses. Types still come from `import type … from 'node:http'`.
import type * as Http from 'node:http';

export const http: typeof Http = process.getBuiltinModule('node:http');
