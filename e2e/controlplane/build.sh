#!/usr/bin/env bash
# Builds the real control plane for the e2e tests from the pinned Go tool modules:
#   kube-apiserver, kubectl, helm   <- ./go.mod   (k8s.io/kubernetes, helm.sh/helm/v4)
#   etcd                            <- ./etcd/go.mod (go.etcd.io/etcd/server/v3)
# and, with `build.sh node`, what the one-node cluster adds (e2e/harness/node.ts):
#   kubelet, kube-controller-manager, kube-scheduler, kube-proxy <- ./go.mod
#   pause (the sandbox image's program)                          <- ./pause
# into a version-keyed cache outside the repo:
#   ${SCOPEKEEPER_CACHE:-$HOME/.cache/scopekeeper}/controlplane/<key>/bin
# where <key> hashes go.mod, go.sum, etcd/go.mod, etcd/go.sum, this script and OS/arch.
# A run that finds the binaries in place does no work.
#
# Contract: the LAST line on stdout is a directory holding kube-apiserver, etcd,
# kubectl and helm (and with `node` the node's binaries too). Everything else (build log,
# progress) goes to stderr.
#
# KUBEBUILDER_ASSETS: if set and it holds kube-apiserver, etcd and kubectl, nothing of
# Kubernetes is built; helm is taken from there, else from PATH, else built. When helm
# is not in KUBEBUILDER_ASSETS itself, a directory of symlinks to the four is printed.
#
# Options: --force  rebuild even if the cache entry exists
#          --key    print the cache key and exit
#          node     also the node's binaries (KUBEBUILDER_ASSETS is not used then)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
force=0
with_node=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    --key) ;;
    node) with_node=1 ;;
    *) echo "usage: $0 [--force|--key] [node]" >&2; exit 2 ;;
  esac
done

log() { printf 'controlplane: %s\n' "$*" >&2; }

cache_root="${SCOPEKEEPER_CACHE:-${HOME:-/tmp}/.cache/scopekeeper}/controlplane"

key=$(cd "$here" && { cat go.mod go.sum etcd/go.mod etcd/go.sum pause/main.go build.sh; uname -sm; } \
  | sha256sum | cut -c1-16)
if [[ "${1:-}" == "--key" ]]; then echo "$key"; exit 0; fi

keydir="$cache_root/$key"
bindir="$keydir/bin"
all=(kube-apiserver etcd kubectl helm)
node_bins=(kubelet kube-controller-manager kube-scheduler kube-proxy pause)
if [[ $with_node -eq 1 ]]; then all+=("${node_bins[@]}"); unset KUBEBUILDER_ASSETS; fi

has_all() { # dir names...
  local d=$1; shift
  local b
  for b in "$@"; do [[ -x "$d/$b" && ! -d "$d/$b" ]] || return 1; done
}

# Versions come from the go.mod files: they are the single source of truth.
modver() { # file module
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }
                 $1 == "require" && $2 == m { print $3; exit }' "$1"
}

# ---- fast path: already built -------------------------------------------------
if [[ -z "${KUBEBUILDER_ASSETS:-}" && $force -eq 0 ]] && has_all "$bindir" "${all[@]}"; then
  log "up to date ($key)"
  echo "$bindir"
  exit 0
fi

# ---- build (under a lock, so concurrent callers build once) ---------------------
build() { # binaries...
  local want=("$@")
  mkdir -p "$keydir"
  exec 9>"$keydir/.lock"
  if command -v flock >/dev/null; then flock 9; fi
  if [[ $force -eq 0 ]] && has_all "$bindir" "${want[@]}"; then return 0; fi

  # Go is preinstalled on these machines; a non-login shell may lack /usr/local/go/bin on PATH.
  if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
  command -v go >/dev/null || { log "go is not on PATH (need Go >= 1.26)"; exit 1; }

  local kube_version helm_version etcd_version
  kube_version=$(modver "$here/go.mod" k8s.io/kubernetes)
  helm_version=$(modver "$here/go.mod" helm.sh/helm/v4)
  etcd_version=$(modver "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)
  [[ -n $kube_version && -n $helm_version && -n $etcd_version ]] \
    || { log "cannot read versions from go.mod files"; exit 1; }

  # Every staging replace must match the Kubernetes release: vX.N.M <-> v0.N.M.
  local staging="v0.${kube_version#v*.}"
  local bad
  bad=$(awk -v s="$staging" '$2 == "=>" && $1 ~ /^k8s\.io\// && $4 != s { print $1 " " $4 }' \
    "$here/go.mod")
  if [[ -n $bad ]]; then
    log "staging replaces do not match k8s.io/kubernetes $kube_version (want $staging):"
    printf '  %s\n' "$bad" >&2
    exit 1
  fi

  local major minor rest
  IFS=. read -r major minor rest <<<"${kube_version#v}"
  local date
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  # The module proxy does not carry upstream's commit: gitCommit is left empty.
  local -a kx=()
  local pkg
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    kx+=("-X" "$pkg.gitVersion=$kube_version" "-X" "$pkg.gitMajor=$major"
         "-X" "$pkg.gitMinor=$minor" "-X" "$pkg.gitTreeState=clean"
         "-X" "$pkg.gitCommit="
         "-X" "$pkg.buildDate=$date")
  done
  local ldflags="-s -w ${kx[*]} -X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

  local tmp="$keydir/bin.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  # Keep what is already built (e.g. helm built alone before), build the rest.
  if [[ -d $bindir && $force -eq 0 ]]; then cp -a "$bindir/." "$tmp/"; fi

  export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
  local -a gobuild=(go build -trimpath -ldflags "$ldflags")
  local -a pkgs=()
  local b
  for b in "${want[@]}"; do
    [[ $force -eq 0 && -x "$tmp/$b" ]] && continue
    case $b in
      kube-apiserver) pkgs+=(k8s.io/kubernetes/cmd/kube-apiserver) ;;
      kubectl) pkgs+=(k8s.io/kubernetes/cmd/kubectl) ;;
      helm) pkgs+=(helm.sh/helm/v4/cmd/helm) ;;
      kubelet|kube-controller-manager|kube-scheduler|kube-proxy) pkgs+=("k8s.io/kubernetes/cmd/$b") ;;
      pause) pkgs+=(./pause) ;;
      etcd) ;;
    esac
  done

  local t0=$SECONDS
  log "building into $bindir (kubernetes $kube_version, etcd $etcd_version, helm $helm_version; $(go env GOVERSION))"
  if [[ ${#pkgs[@]} -gt 0 ]]; then
    log "go build ${pkgs[*]}"
    # One invocation for the three: they share most packages (client-go, cli-runtime...).
    (cd "$here" && "${gobuild[@]}" -o "$tmp/" "${pkgs[@]}") >&2
  fi
  if [[ " ${want[*]} " == *" etcd "* ]] && [[ $force -eq 1 || ! -x "$tmp/etcd" ]]; then
    log "go build go.etcd.io/etcd/server/v3 (etcd)"
    (cd "$here/etcd" && "${gobuild[@]}" -o "$tmp/etcd" go.etcd.io/etcd/server/v3) >&2
  fi
  has_all "$tmp" "${want[@]}" || { log "build did not produce: ${want[*]}"; exit 1; }

  cat >"$tmp/VERSIONS" <<EOF
kubernetes $kube_version
etcd $etcd_version
helm $helm_version
$(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)
built $date
EOF
  rm -rf "$bindir.old"
  [[ -d $bindir ]] && mv "$bindir" "$bindir.old"
  mv "$tmp" "$bindir"
  rm -rf "$bindir.old"
  log "built in $((SECONDS - t0))s"
}

# ---- KUBEBUILDER_ASSETS ------------------------------------------------------
if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  kba=$(cd "$KUBEBUILDER_ASSETS" 2>/dev/null && pwd) || kba=""
  if [[ -n $kba ]] && has_all "$kba" kube-apiserver etcd kubectl; then
    if has_all "$kba" helm; then
      log "using KUBEBUILDER_ASSETS=$kba"
      echo "$kba"
      exit 0
    fi
    helm_bin=$(command -v helm || true)
    if [[ -z $helm_bin ]]; then
      build helm
      helm_bin="$bindir/helm"
    fi
    links="$cache_root/assets-$(printf '%s\n%s\n' "$kba" "$helm_bin" | sha256sum | cut -c1-16)"
    mkdir -p "$links"
    for b in kube-apiserver etcd kubectl; do ln -sfn "$kba/$b" "$links/$b"; done
    ln -sfn "$helm_bin" "$links/helm"
    log "using KUBEBUILDER_ASSETS=$kba with helm $helm_bin"
    echo "$links"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver/etcd/kubectl; building"
fi

build "${all[@]}"
echo "$bindir"
