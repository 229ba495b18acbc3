// The sidecar role as one ES module (plus a chunk for Kubernetes mode): dist/bin/sidecar/index.js,
// bundled by esbuild from the compiled files of dist/packages and the third-party packages the
// role loads. The sidecar starts in every opted-in pod and must be ready fast; loading ~300 small
// modules (express 5 alone is ~60 files) is most of its start-up, and one file spares Node the
// resolution, the package.json reads and the per-module compile of each of them.
//
// What the bundle leaves out and loads from dist/ or node_modules as before:
//   - the other commands (dist/bin/scopekeeper.js sends only `sidecar` to the bundle);
//   - packages loaded late or only in some modes (the Kubernetes client, SAML's XML libraries,
//     ajv: see EXTERNAL), resolved by Node from the bundle's place as from dist/;
//   - files found next to a module at run time: a module that uses `import.meta.url` (the
//     precompiled validators of core/validation) keeps seeing its own dist/ address;
//   - the parts of express the sidecar never calls, which express loads at import (LAZY): its
//     body parsers, static files and sendFile; each is a stand-in that loads the real package
//     from node_modules on first call;
//   - what express and its request helpers load at import only for helpers the sidecar never
//     calls (ON_FIRST_USE): mime-types (with mime-db, a table of every media type built at load),
//     qs (the extended query parser, which the sidecar turns off) and http-errors. Each becomes a
//     proxy that requires the package as its importer would, on the first property read or call.
//     They were ~40% of the bundle's evaluation at start.
// A package installed more than once at the same version (express 5 brings four copies of
// mime-types and mime-db, each building its tables at load) is bundled once.
// Not minified: the bundle reads like the compiled sources, and a linked source map names them.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const SIDECAR_BUNDLE_DIR = 'sidecar';

/** Loaded only in some modes or on first use (and big): left to Node's resolution at run time. */
const EXTERNAL = [
  '@kubernetes/client-node',
  'undici',
  'xml-crypto',
  '@xmldom/xmldom',
  '@peculiar/x509',
  'ajv',
  'ajv-formats',
  '@modelcontextprotocol/sdk',
];

/** Loaded by express at import, never used by the sidecar: stand-ins that load them on first call. */
const LAZY: Record<string, string> = {
  'body-parser': `const load = () => require('body-parser');
module.exports = (...a) => load()(...a);
for (const k of ['json', 'raw', 'text', 'urlencoded']) module.exports[k] = (...a) => load()[k](...a);`,
  'serve-static': `module.exports = (...a) => require('serve-static')(...a);`,
  send: `module.exports = (...a) => require('send')(...a);`,
};

/** Required by express (and its request helpers) at import, used only by helpers the sidecar never calls. */
const ON_FIRST_USE = ['mime-types', 'qs', 'http-errors'];
/** The importers whose requires of ON_FIRST_USE become proxies. */
const EXPRESS_PARTS = /\/node_modules\/(express\/lib|accepts|type-is)\//;

/**
 * A proxy for `pkg` as the module at `importer` (a path below node_modules) requires it: the real
 * package, resolved from that module as Node would, on first use. A function target, so that a
 * package that is a function (http-errors) can be called through it.
 */
function onFirstUse(pkg: string, importer: string): string {
  return `const { createRequire } = require('node:module');
let real;
const load = () => (real ??= createRequire(require.resolve(${JSON.stringify(importer)}))(${JSON.stringify(pkg)}));
module.exports = new Proxy(function () {}, {
  get: (_, k) => load()[k],
  has: (_, k) => k in load(),
  apply: (_, self, args) => Reflect.apply(load(), self, args),
  construct: (_, args) => Reflect.construct(load(), args),
});`;
}

export async function bundleSidecar(dist: string): Promise<void> {
  const outdir = join(dist, 'bin', SIDECAR_BUNDLE_DIR);
  const cliSrc = join(dist, 'packages/cli/src');
  const fromOut = (file: string) => {
    const r = relative(outdir, file);
    return r.startsWith('.') ? r : `./${r}`;
  };
  const plugin: Plugin = {
    name: 'scopekeeper-sidecar',
    setup(b) {
      // Every command but `sidecar` stays where it is (never reached through the bundle).
      b.onResolve({ filter: /^\.\/commands\/[^/]+\.js$/ }, (a) =>
        a.importer.startsWith(cliSrc) && a.path !== './commands/sidecar.js'
          ? { path: fromOut(join(a.resolveDir, a.path)), external: true }
          : undefined,
      );
      // express's unused parts: a stand-in in place of the package, which requires the real one at run time.
      b.onResolve({ filter: new RegExp(`^(${Object.keys(LAZY).join('|')})$`) }, (a) =>
        a.namespace === 'lazy'
          ? { path: a.path, external: true }
          : /\/node_modules\/express\/lib\//.test(a.importer)
            ? { path: a.path, namespace: 'lazy' }
            : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy' }, (a) => ({ contents: LAZY[a.path]!, loader: 'js' }));
      // What express's parts load for helpers the sidecar never calls: a proxy per importer.
      b.onResolve({ filter: new RegExp(`^(${ON_FIRST_USE.join('|')})$`) }, (a) => {
        const m = /\/node_modules\/(.*)$/.exec(a.importer);
        if (a.namespace !== 'file' || !EXPRESS_PARTS.test(a.importer) || !m) return undefined;
        return { path: `${a.path} ${m[1]}`, namespace: 'on-first-use' };
      });
      b.onLoad({ filter: /.*/, namespace: 'on-first-use' }, (a) => {
        const [pkg, importer] = a.path.split(' ') as [string, string];
        return { contents: onFirstUse(pkg, importer), loader: 'js' };
      });
      // One copy per package name and version.
      const first = new Map<string, string>();
      b.onResolve({ filter: /^[^./]/ }, async (a) => {
        if (a.pluginData === 'dedupe' || a.namespace !== 'file') return undefined;
        const r = await b.resolve(a.path, { importer: a.importer, resolveDir: a.resolveDir, kind: a.kind, pluginData: 'dedupe' });
        const m = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(r.path);
        if (r.errors.length || r.external || !m) return undefined;
        const { name, version } = JSON.parse(readFileSync(join(m[1]!, 'package.json'), 'utf8')) as { name: string; version: string };
        const root = first.get(`${name}@${version}`) ?? m[1]!;
        first.set(`${name}@${version}`, root);
        return { path: join(root, m[2]!) };
      });
      // A module that finds files beside itself keeps its dist/ address.
      b.onLoad({ filter: /\/dist\/packages\/.*\.js$/ }, (a) => {
        const text = readFileSync(a.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const own = JSON.stringify(fromOut(a.path));
        return {
          contents: text.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`),
          loader: 'js',
          resolveDir: dirname(a.path),
        };
      });
    },
  };
  const result = await build({
    entryPoints: { index: join(cliSrc, 'main.js') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: EXTERNAL,
    plugins: [plugin],
    // CommonJS packages (express and its parts) call require(): give the module one.
    banner: { js: "import { createRequire as __skCreateRequire } from 'node:module'; const require = __skCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'linked',
    logLevel: 'warning',
    metafile: true,
  });
  const inputs = Object.keys(result.metafile.inputs).length;
  process.stderr.write(`build: the sidecar role bundled from ${inputs} modules into ${pathToFileURL(outdir).pathname}\n`);
}
