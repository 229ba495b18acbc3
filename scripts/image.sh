#!/usr/bin/env bash
# npm run image: the scopekeeper image as an OCI archive, without Docker or a registry.
#
#   layer 1  a minimal Debian rootfs from Debian packages only (the content of distroless'
#            cc-debian12: libc6, libgcc-s1, libstdc++6, base-files, netbase, tzdata,
#            ca-certificates), user nonroot 65532, and the pinned Node 24 binary
#            (node_modules/node/bin/node) at /usr/local/bin/node
#   layer 2  /app: dist/ (npm run build) and the production dependencies (npm ci --omit=dev)
#
# Runs as 65532:65532, entrypoint `node /app/bin/scopekeeper.js` (the `scopekeeper` CLI: the
# arguments are its command), nothing written outside mounted volumes (read-only root fs).
# Packed with umoci (Debian package, unpacked into the cache by scripts/debs.sh).
#
#   scripts/image.sh [--out FILE] [--tag TAG]    default: dist/scopekeeper-image.oci.tar, tag = version
#
# The last stdout line is the archive's path. Needs root (file ownership in the layers).
# Push it with: skopeo copy oci-archive:dist/scopekeeper-image.oci.tar docker://REGISTRY/scopekeeper:TAG
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD
node="$root_dir/node_modules/.bin/node"
version=$("$node" -p 'require("./package.json").version')
out="$root_dir/dist/scopekeeper-image.oci.tar"
tag="$version"
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    *) echo "usage: $0 [--out FILE] [--tag TAG]" >&2; exit 2 ;;
  esac
done
log() { printf 'image: %s (%ss)\n' "$*" "$SECONDS" >&2; }
[[ $(id -u) -eq 0 ]] || { log "run as root: the layers' files must be owned by root"; exit 1; }
cache="${SCOPEKEEPER_CACHE:-${HOME:-/tmp}/.cache/scopekeeper}"

# Nothing to do when the archive was built from exactly these inputs (the e2e calls this each run).
inputs_key=$( { find bin crds examples packages/*/src scripts/image.sh scripts/build.ts scripts/bundle-sidecar.ts scripts/debs.sh tsconfig.json tsconfig.build.json \
  package.json package-lock.json packages/*/package.json node_modules/node/package.json -type f ! -name '*.test.ts' | LC_ALL=C sort | xargs sha256sum; echo "$tag"; } | sha256sum | cut -c1-16)
if [[ -f $out && "$(cat "$out.key" 2>/dev/null)" == "$inputs_key" ]]; then
  log "$out is up to date ($inputs_key)"
  echo "$out"
  exit 0
fi

# The Debian packages of the base, and umoci to pack.
base_pkgs=(libc6 libgcc-s1 gcc-12-base libstdc++6 base-files netbase tzdata ca-certificates)
base=$(bash scripts/debs.sh image-base "${base_pkgs[@]}" | tail -n1)
umoci="$(bash scripts/debs.sh umoci umoci | tail -n1)/usr/bin/umoci"

# The application: compiled, then its production dependencies (cached by lockfile).
"$node" scripts/build.ts >&2
prod_key=$( { cat package-lock.json package.json packages/*/package.json; "$node" --version; } | sha256sum | cut -c1-16)
prod="$cache/image/prod-$prod_key"
if [[ ! -f $prod/.complete ]]; then
  log "npm ci --omit=dev"
  rm -rf "$prod"; mkdir -p "$prod"
  cp package.json package-lock.json "$prod/"
  for p in packages/*/; do mkdir -p "$prod/$p"; cp "$p/package.json" "$prod/$p"; done
  (cd "$prod" && CI=true npm ci --omit=dev --ignore-scripts --no-audit --no-fund --cache "$cache/npm" --prefer-offline >&2)
  touch "$prod/.complete"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/scopekeeper-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/base"
app="$work/app"

# ---- layer 1: Debian base + node --------------------------------------------------------
mkdir -p "$rootfs"
cp -a "$base/." "$rootfs/"
# What the packages' maintainer scripts would have made: the CA bundle (update-ca-certificates),
# the users (base-passwd), /tmp; and distroless' per-package status files for image scanners.
mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/var/lib/dpkg/status.d" "$rootfs/tmp" "$rootfs/home/nonroot" "$rootfs/usr/local/bin"
find "$rootfs/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat >"$rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$rootfs/tmp"
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
EOF
chown 65532:65532 "$rootfs/home/nonroot"
for deb in "$(dirname "$base")"/debs/*.deb; do
  dpkg-deb -f "$deb" >"$rootfs/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)"
done
rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/lintian"
install -m 0755 node_modules/node/bin/node "$rootfs/usr/local/bin/node"
node_version=$("$rootfs/usr/local/bin/node" --version)

# ---- layer 2: /app ----------------------------------------------------------------------
mkdir -p "$app"
cp -a dist/bin dist/crds dist/examples dist/package.json "$app/"
cp -a "$prod/node_modules" "$app/node_modules"
mkdir -p "$app/packages"
for p in dist/packages/*/; do
  n=$(basename "$p")
  mkdir -p "$app/packages/$n"
  cp -a "$p/package.json" "$p/src" "$app/packages/$n/"
  if [[ -d $prod/packages/$n/node_modules ]]; then cp -a "$prod/packages/$n/node_modules" "$app/packages/$n/"; fi
done
chown -R 0:0 "$app"
chmod -R go-w "$app"

# ---- pack -------------------------------------------------------------------------------
layout="$work/oci"
"$umoci" init --layout "$layout"
"$umoci" new --image "$layout:$tag"
"$umoci" unpack --image "$layout:$tag" "$work/bundle" >/dev/null
cp -a "$rootfs/." "$work/bundle/rootfs/"
"$umoci" repack --image "$layout:$tag" --history.created_by "scripts/image.sh: Debian ${base_pkgs[*]}; node $node_version" "$work/bundle"
mkdir -p "$work/bundle/rootfs/app"
cp -a "$app/." "$work/bundle/rootfs/app/"
"$umoci" repack --image "$layout:$tag" --history.created_by "scripts/image.sh: /app (dist/ + production node_modules)" "$work/bundle"
"$umoci" config --image "$layout:$tag" \
  --config.user 65532:65532 \
  --config.workingdir /app \
  --config.env NODE_ENV=production \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin \
  --config.entrypoint /usr/local/bin/node --config.entrypoint /app/bin/scopekeeper.js \
  --config.cmd --help \
  --config.exposedports 9443/tcp --config.exposedports 15180/tcp --config.exposedports 15181/tcp --config.exposedports 15182/tcp \
  --config.label org.opencontainers.image.title=scopekeeper \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label org.opencontainers.image.licenses=Apache-2.0 \
  --history.created_by "scripts/image.sh: user 65532, entrypoint scopekeeper"
"$umoci" gc --layout "$layout"
mkdir -p "$(dirname "$out")"
tar -C "$layout" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "$inputs_key" >"$out.key"
log "$out: scopekeeper:$tag, $(du -h "$out" | cut -f1) ($node_version)"
echo "$out"
