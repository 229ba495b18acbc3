// `npm run build`: dist/ is the application compiled to JavaScript, laid out as a tree that runs
// on its own (`node dist/bin/scopekeeper.js …`) and that the image copies as it is:
//
//   dist/package.json                      type: module, the `scopekeeper` bin
//   dist/bin/scopekeeper.js                the entry point (same file as bin/scopekeeper.js)
//   dist/packages/<pkg>/package.json       the workspace manifest, exports pointing at .js
//   dist/packages/<pkg>/src/**/*.js        tsc output (tests left out)
//   dist/crds/, dist/examples/             read at run time (demo, file-mode policy)
//   dist/node_modules/@scopekeeper/<pkg>   -> ../../packages/<pkg>: the compiled workspace packages
//
// Third-party packages resolve from the repository's node_modules above dist/ (and from
// dist/packages/<pkg>/node_modules, linked to the workspace's nested installs). The image puts the
// production install in their place. Sources stay runnable as they are (bin/scopekeeper.js runs
// them with Node's type stripping); dist/ is only what a release ships.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleSidecar, SIDECAR_BUNDLE_DIR } from './bundle-sidecar.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const t0 = performance.now();

interface Manifest {
  name: string;
  exports?: Record<string, string | Record<string, string>>;
  [k: string]: unknown;
}
const readJson = (file: string): Manifest => JSON.parse(readFileSync(file, 'utf8')) as Manifest;
const writeJson = (file: string, v: unknown): void => writeFileSync(file, `${JSON.stringify(v, null, 2)}\n`);

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  process.stderr.write(`build: tsc failed (exit ${tsc.status}); dist/ is incomplete\n`);
  process.exit(1);
}

// A `./src/x.ts` export becomes `./src/x.js`: the compiled file at the same place.
const toJs = (p: string): string => {
  if (!p.endsWith('.ts')) throw new Error(`export ${p} is not a .ts file: teach scripts/build.ts about it`);
  return p.replace(/\.ts$/, '.js');
};

const rootManifest = readJson(join(root, 'package.json'));
const workspaces = (rootManifest.workspaces as string[]).map((w) => w.replace(/\/$/, ''));
mkdirSync(join(dist, 'node_modules/@scopekeeper'), { recursive: true });
for (const ws of workspaces) {
  const m = readJson(join(root, ws, 'package.json'));
  const exports: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.exports ?? {})) {
    if (typeof v !== 'string') throw new Error(`${ws}/package.json: export ${k} is conditional; scripts/build.ts maps plain paths only`);
    exports[k] = toJs(v);
    if (!existsSync(join(dist, ws, exports[k]))) throw new Error(`${ws}: export ${k} -> ${exports[k]} was not emitted`);
  }
  writeJson(join(dist, ws, 'package.json'), { ...m, exports });
  const short = m.name.replace(/^@scopekeeper\//, '');
  symlinkSync(relative(join(dist, 'node_modules/@scopekeeper'), join(dist, ws)), join(dist, 'node_modules/@scopekeeper', short));
  // npm nests a workspace's conflicting dependency versions under packages/<pkg>/node_modules.
  if (existsSync(join(root, ws, 'node_modules')))
    symlinkSync(relative(join(dist, ws), join(root, ws, 'node_modules')), join(dist, ws, 'node_modules'));
}

// File-mode policy validation without ajv's compiler at start: the validators as code.
const { standaloneValidators, PRECOMPILED_VALIDATORS } = await import('../packages/core/src/validation/validate.ts');
writeFileSync(join(dist, 'packages/core/src/validation', PRECOMPILED_VALIDATORS), standaloneValidators());

mkdirSync(join(dist, 'bin'));
// The entry point, told where the sidecar's bundle is (the marker line must be there).
const bin = readFileSync(join(root, 'bin/scopekeeper.js'), 'utf8');
const marker = 'const SIDECAR_BUNDLE = undefined;';
if (!bin.includes(marker)) throw new Error(`bin/scopekeeper.js lost its line "${marker}": teach scripts/build.ts where the bundle goes`);
writeFileSync(join(dist, 'bin/scopekeeper.js'), bin.replace(marker, `const SIDECAR_BUNDLE = './${SIDECAR_BUNDLE_DIR}/index.js';`));
await bundleSidecar(dist);
for (const d of ['crds', 'examples']) cpSync(join(root, d), join(dist, d), { recursive: true });
writeJson(join(dist, 'package.json'), {
  name: rootManifest.name,
  version: rootManifest.version,
  private: true,
  type: 'module',
  license: rootManifest.license,
  engines: rootManifest.engines,
  bin: { scopekeeper: 'bin/scopekeeper.js' },
});

const count = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? count(join(dir, e.name)) : e.name.endsWith('.js') ? 1 : 0),
    0,
  );
process.stderr.write(
  `build: ${count(join(dist, 'packages'))} modules in dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s; run: node dist/bin/scopekeeper.js --help\n`,
);
