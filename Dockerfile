# syntax=docker/dockerfile:1
#
# The one scopekeeper image: operator, sidecar and CLI (`scopekeeper <command>`).
#   docker build -t scopekeeper:0.1.0 .
#   docker run --rm scopekeeper:0.1.0 --help
#
# NOT BUILT HERE: the development machines and CI have no Docker engine, so this file is kept
# correct by reading (hadolint's rules: pinned base tag, no `latest`, WORKDIR before relative
# paths, JSON-form ENTRYPOINT, a non-root USER, npm cache cleaned, COPY rather than ADD).
# Pin the base by digest for releases: FROM node:24-slim@sha256:<digest>.
#
# Node 24 strips TypeScript types natively, so the sources run as they are (no build step).
# Type stripping does not apply under node_modules, but the workspace packages are reached
# through symlinks into /app/packages, which Node resolves to their real (non node_modules) path.

ARG NODE_IMAGE=node:24-slim

# ---- dependencies: production only, from the lockfile ----------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV CI=true NODE_ENV=production
# The workspaces' manifests first, so source changes do not re-run the install.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/kube/package.json packages/kube/
COPY packages/sidecar/package.json packages/sidecar/
COPY packages/operator/package.json packages/operator/
COPY packages/cli/package.json packages/cli/
# --ignore-scripts: no production dependency needs an install script (the ones npm warns about,
# node@24, @swc/core and @parcel/watcher, are development tools and are omitted).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

# ---- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="scopekeeper" \
      org.opencontainers.image.description="Reviewed, least-privilege access for AI agents calling the Anthropic API: operator, admission webhooks and sidecar" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
# Installed dependencies, including the per-workspace node_modules npm nests under packages/*.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/packages ./packages
COPY package.json package-lock.json ./
COPY packages/ ./packages/
COPY bin/ ./bin/
COPY crds/ ./crds/
COPY examples/ ./examples/
# Root owns the files (read-only to the process); the process runs as 65532, the uid the chart
# and the injected sidecar's securityContext use (runAsNonRoot, readOnlyRootFilesystem).
USER 65532:65532
EXPOSE 9443 15180 15181 15182
ENTRYPOINT ["node", "bin/scopekeeper.js"]
CMD ["--help"]
