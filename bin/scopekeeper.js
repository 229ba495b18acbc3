#!/usr/bin/env node
// The one binary for every role. Here, in the repository, it runs the TypeScript sources as they
// are (Node >= 22.18 strips types natively). `npm run build` copies this file to
// dist/bin/scopekeeper.js, where the same import resolves to the compiled packages of dist/: that
// is what the image and the injected sidecar run. Which one runs is decided by where this file
// is, never by whether a (possibly stale) dist/ exists.

// The sidecar runs in every opted-in pod: left alone, V8 grows its heap to hundreds of MB under
// load before it collects, and glibc keeps an arena of freed memory per thread. The injected
// container passes these bounds in NODE_OPTIONS and MALLOC_ARENA_MAX (the operator's
// SIDECAR_NODE_OPTIONS and SIDECAR_MALLOC_ARENA_MAX; a test keeps them equal), so Node starts
// once. Started without any heap limit (flags or NODE_OPTIONS), the process replaces itself
// (same PID, no second process) with one whose young and old generations are bounded, at the
// price of a second Node start (~45 ms).
const SIDECAR_HEAP = ['--max-semi-space-size=4', '--max-old-space-size=96'];
const SIDECAR_MALLOC_ARENA_MAX = '2';
if (process.argv[2] === 'sidecar' && typeof process.execve === 'function') {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (!given.some((a) => a.startsWith('--max-old-space-size') || a.startsWith('--max-semi-space-size'))) {
    const env = { MALLOC_ARENA_MAX: SIDECAR_MALLOC_ARENA_MAX, ...process.env };
    process.execve(process.execPath, [process.execPath, ...SIDECAR_HEAP, ...process.execArgv, ...process.argv.slice(1)], env);
  }
}
// The sidecar role bundled into one module by `npm run build` (scripts/bundle-sidecar.ts): the
// build writes its place here in dist/bin/scopekeeper.js; the sources have none.
const SIDECAR_BUNDLE = undefined;
// Run from the sources, Node keeps what it compiled (the type-stripped TypeScript too) in a cache
// of its own, keyed by content (os.tmpdir()/node-compile-cache): the next start of the demo or of
// any command loads its ~1,300 modules in about half the time. dist/ does without: a container
// starts with an empty /tmp, and the sidecar's start is measured as it runs in one.
if (SIDECAR_BUNDLE === undefined) (await import('node:module')).enableCompileCache?.();
await import(SIDECAR_BUNDLE !== undefined && process.argv[2] === 'sidecar' ? SIDECAR_BUNDLE : '@scopekeeper/cli/main');
