// A stand-in API server on loopback for unit tests of informers and the policy source: the
// list and watch protocol of custom resources (resourceVersion, ADDED/MODIFIED/DELETED events,
// 410 Gone), create with 409 AlreadyExists, and switches to break it (refuse, fail, expire).
// The e2e suite tests the same code against a real kube-apiserver.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; generation?: number };
  [k: string]: unknown;
}

interface Change {
  rv: number;
  plural: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  plural: string;
  namespace?: string;
  res: ServerResponse;
}

const PATH = /^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?$/;

export class FakeApiServer {
  readonly requests: { method: string; path: string }[] = [];
  /** Answer every request with this status (e.g. 500 or 403) until cleared. */
  failWith: number | undefined;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly objects = new Map<string, Obj>();
  private readonly log: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  /** Changes older than this are compacted away: a watch from before it gets 410 Gone. */
  private compactedBefore = 0;
  private port = 0;

  private constructor(server: Server) {
    this.server = server;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(port = 0): Promise<FakeApiServer> {
    const api = new FakeApiServer(createServer((req, res) => api.handle(req, res)));
    await api.listen(port);
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: 'fake', server: this.url, skipTLSVerify: true }, { name: 'fake' });
    return kc;
  }

  /** Creates or replaces an object (a new resourceVersion, watchers told). */
  put(plural: string, obj: Obj): Obj {
    const key = this.key(plural, obj.metadata.namespace, obj.metadata.name);
    const existed = this.objects.has(key);
    const stored: Obj = structuredClone({
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(++this.rv), uid: obj.metadata.uid ?? `uid-${obj.metadata.name}` },
    });
    this.objects.set(key, stored);
    this.record({ rv: this.rv, plural, type: existed ? 'MODIFIED' : 'ADDED', object: stored });
    return stored;
  }

  remove(plural: string, namespace: string, name: string): void {
    const key = this.key(plural, namespace, name);
    const obj = this.objects.get(key);
    if (!obj) return;
    this.objects.delete(key);
    this.record({
      rv: ++this.rv,
      plural,
      type: 'DELETED',
      object: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv) } },
    });
  }

  get(plural: string, namespace: string, name: string): Obj | undefined {
    return this.objects.get(this.key(plural, namespace, name));
  }

  /** Forgets the change history: watches resuming from an older version get 410 Gone. */
  compact(): void {
    this.compactedBefore = this.rv + 1;
    this.log.length = 0;
  }

  /** Ends every open watch (as an API server restart or a load balancer does). */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Stops listening and drops every connection: clients see ECONNREFUSED until up(). */
  async down(): Promise<void> {
    this.watchers.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    await this.down().catch(() => {});
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private key(plural: string, namespace: string | undefined, name: string): string {
    return `${plural}/${namespace ?? ''}/${name}`;
  }

  private record(c: Change): void {
    this.log.push(c);
    for (const w of this.watchers) if (this.matches(w, c)) this.send(w.res, c.type, c.object);
  }

  private matches(w: { plural: string; namespace?: string }, c: Change): boolean {
    return c.plural === w.plural && (w.namespace === undefined || c.object.metadata.namespace === w.namespace);
  }

  private send(res: ServerResponse, type: string, object: unknown): void {
    res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res
      .writeHead(code, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}` });
    if (this.failWith) return this.status(res, this.failWith, 'InternalError', `fake API server told to fail with ${this.failWith}`);
    const m = PATH.exec(url.pathname);
    if (!m) return this.status(res, 404, 'NotFound', `no route for ${url.pathname}`);
    const [, , , namespace, plural, name] = m as unknown as [string, string, string, string | undefined, string, string | undefined];
    if (req.method === 'POST' && !name) {
      let body = '';
      req.on('data', (b: Buffer) => (body += b.toString()));
      req.on('end', () => {
        const obj = JSON.parse(body) as Obj;
        obj.metadata.namespace ??= namespace;
        if (this.objects.has(this.key(plural, obj.metadata.namespace, obj.metadata.name))) {
          return this.status(res, 409, 'AlreadyExists', `${plural} "${obj.metadata.name}" already exists`);
        }
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(this.put(plural, obj)));
      });
      return;
    }
    if (req.method !== 'GET') return this.status(res, 405, 'MethodNotAllowed', `${req.method} is not served by the fake API server`);
    if (name) {
      const obj = this.get(plural, namespace ?? '', name);
      if (!obj) return this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
    }
    const sel = { plural, ...(namespace ? { namespace } : {}) };
    if (url.searchParams.get('watch') !== 'true') {
      const items = [...this.objects.entries()]
        .filter(([k, o]) => k.startsWith(`${plural}/`) && (!namespace || o.metadata.namespace === namespace))
        .map(([, o]) => o);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: String(this.rv) }, items }));
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') || this.rv);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (from < this.compactedBefore - 1) {
      this.send(res, 'ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        code: 410,
        reason: 'Expired',
        message: `too old resource version: ${from}`,
      });
      res.end();
      return;
    }
    for (const c of this.log) if (c.rv > from && this.matches(sel, c)) this.send(res, c.type, c.object);
    const w: Watcher = { ...sel, res };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }
}
