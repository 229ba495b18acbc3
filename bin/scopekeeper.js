#!/usr/bin/env node
// The one binary for every role. Here, in the repository, it runs the TypeScript sources as they
// are (Node >= 22.18 strips types natively). `npm run build` copies this file to
// dist/bin/scopekeeper.js, where the same import resolves to the compiled packages of dist/: that
// is what the image and the injected sidecar run. Which one runs is decided by where this file
// is, never by whether a (possibly stale) dist/ exists.
import '@scopekeeper/cli/main';
