// nginx twice: as the fast upstream stand-in (canned Anthropic JSON and SSE) and as the plain
// reverse proxy under test. One worker each, so each is pinned to one core.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonResponse, sseResponse } from './fixtures.ts';
import { startPinned, waitFor, type Started } from './proc.ts';

export const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

function common(dir: string): string {
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, 'tmp', d), { recursive: true });
  return `
user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; multi_accept on; }
`;
}

function httpCommon(dir: string): string {
  return `
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_buffer_size 128k;
  client_body_temp_path ${dir}/tmp/client_body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server_tokens off;
`;
}

/**
 * The upstream stand-in: POST /v1/messages answers the canned JSON, or the canned event stream
 * when the request carries `x-bench-stream: 1`; GET /healthz answers 200.
 */
export function writeUpstreamConfig(dir: string, port: number): string {
  mkdirSync(join(dir, 'canned'), { recursive: true });
  writeFileSync(join(dir, 'canned', 'json'), jsonResponse());
  writeFileSync(join(dir, 'canned', 'sse'), sseResponse());
  const conf = `${common(dir)}
http {
${httpCommon(dir)}
  server {
    listen 127.0.0.1:${port} backlog=8192;
    location = /v1/messages {
      if ($http_x_bench_stream) { rewrite ^ /canned/sse last; }
      rewrite ^ /canned/json last;
    }
    # POST to a static file is a 405 in nginx; error_page re-serves the file as a GET with 200.
    location /canned/ {
      internal;
      root ${dir};
      error_page 405 =200 $uri;
      add_header request-id req_bench_upstream;
      add_header cache-control no-cache;
      etag off;
      location = /canned/sse { default_type text/event-stream; }
      location = /canned/json { default_type application/json; }
    }
    location = /healthz { return 200 'ok'; }
  }
}
`;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  return file;
}

/** nginx as a plain reverse proxy: keep-alive upstream pool, the caller's credential swapped for the key, no response buffering (SSE). */
export function writeProxyConfig(dir: string, port: number, upstreamPort: number, upstreamKey: string): string {
  mkdirSync(dir, { recursive: true });
  const conf = `${common(dir)}
http {
${httpCommon(dir)}
  upstream anthropic {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${port} backlog=8192;
    location / {
      proxy_pass http://anthropic;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "";
      proxy_set_header x-api-key "${upstreamKey}";
      proxy_buffering off;
    }
  }
}
`;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  return file;
}

export async function startNginx(
  name: string,
  core: number,
  dir: string,
  conf: string,
  port: number,
  healthPath: string,
): Promise<Started> {
  const s = startPinned(name, core, [NGINX, '-p', dir, '-c', conf], { log: join(dir, 'stdout.log') });
  await waitFor(
    name,
    async () => {
      if (s.child.exitCode !== null) throw new Error(`${name} exited (${s.child.exitCode}); see ${dir}/error.log`);
      const r = await fetch(`http://127.0.0.1:${port}${healthPath}`, {
        method: healthPath === '/v1/messages' ? 'POST' : 'GET',
        body: healthPath === '/v1/messages' ? '{}' : undefined,
      });
      await r.arrayBuffer();
      return r.status < 500;
    },
    10_000,
  );
  return s;
}
