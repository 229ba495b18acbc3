# syntax=docker/dockerfile:1
#
# The one scopekeeper image: operator, sidecar and CLI (`scopekeeper <command>`), for people who
# have Docker:
#   docker build -t scopekeeper:0.1.0 .
#   docker run --rm scopekeeper:0.1.0 --help
#
# The image a release publishes is the one `npm run image` builds WITHOUT Docker (scripts/image.sh,
# an OCI archive pushed with skopeo). This file builds the equivalent: the same base (distroless'
# cc-debian12 is exactly the Debian packages scripts/image.sh unpacks: libc6, libgcc-s1,
# libstdc++6, base-files, netbase, tzdata, ca-certificates; user nonroot 65532), the same pinned
# Node binary (the lockfile's `node` package) at /usr/local/bin/node, the same /app (dist/ of
# `npm run build` plus the production dependencies), user and entrypoint. Kept correct by reading
# (no Docker engine on the development machines or CI). Pin both bases by digest for releases.

ARG BUILD_IMAGE=node:24-slim
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---- build: dist/ (npm run build) and the pinned node binary -----------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
ENV CI=true
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/kube/package.json packages/kube/
COPY packages/sidecar/package.json packages/sidecar/
COPY packages/operator/package.json packages/operator/
COPY packages/cli/package.json packages/cli/
# All dependencies (typescript builds dist/; the `node` package's install script puts the pinned
# Node 24 binary at node_modules/node/bin/node).
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts scripts/bundle-sidecar.ts scripts/
COPY bin/ bin/
COPY crds/ crds/
COPY examples/ examples/
COPY packages/ packages/
RUN node_modules/.bin/node scripts/build.ts

# ---- production dependencies, from the lockfile -------------------------------------------------
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
ENV CI=true
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/kube/package.json packages/kube/
COPY packages/sidecar/package.json packages/sidecar/
COPY packages/operator/package.json packages/operator/
COPY packages/cli/package.json packages/cli/
# No production dependency needs an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
  && rm packages/*/package.json

# ---- runtime ----------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="scopekeeper" \
      org.opencontainers.image.description="Reviewed, least-privilege access for AI agents calling the Anthropic API: operator, admission webhooks and sidecar" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/node_modules/node/bin/node /usr/local/bin/node
WORKDIR /app
ENV NODE_ENV=production PATH=/usr/local/bin:/usr/bin:/bin
# node_modules (with the @scopekeeper/* workspace links) and the nested packages/*/node_modules.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/packages ./packages
# The compiled application, without dist/'s development links.
COPY --from=build /src/dist/package.json ./
COPY --from=build /src/dist/bin ./bin
COPY --from=build /src/dist/crds ./crds
COPY --from=build /src/dist/examples ./examples
COPY --from=build /src/dist/packages/core/package.json ./packages/core/
COPY --from=build /src/dist/packages/core/src ./packages/core/src
COPY --from=build /src/dist/packages/kube/package.json ./packages/kube/
COPY --from=build /src/dist/packages/kube/src ./packages/kube/src
COPY --from=build /src/dist/packages/sidecar/package.json ./packages/sidecar/
COPY --from=build /src/dist/packages/sidecar/src ./packages/sidecar/src
COPY --from=build /src/dist/packages/operator/package.json ./packages/operator/
COPY --from=build /src/dist/packages/operator/src ./packages/operator/src
COPY --from=build /src/dist/packages/cli/package.json ./packages/cli/
COPY --from=build /src/dist/packages/cli/src ./packages/cli/src
# Root owns the files (read-only to the process); the process runs as 65532, the uid the chart and
# the injected sidecar's securityContext use (runAsNonRoot, readOnlyRootFilesystem).
USER 65532:65532
EXPOSE 9443 15180 15181 15182
ENTRYPOINT ["/usr/local/bin/node", "/app/bin/scopekeeper.js"]
CMD ["--help"]
