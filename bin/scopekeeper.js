#!/usr/bin/env node
// The one binary for every role. Node >= 22.18 strips TypeScript types natively, so the
// sources run as they are: no build step between the repo and the container image.
import '@scopekeeper/cli/main';
