#!/usr/bin/env bash
# Provisions Debian packages WITHOUT installing them: downloads the .debs with `apt-get download`
# and unpacks them (dpkg-deb -x, no maintainer scripts) into a cache outside the clone:
#   ${SCOPEKEEPER_CACHE:-$HOME/.cache/scopekeeper}/debs/<name>-<key>/root
# where <key> hashes the package list, this script and the architecture. The system is left as it
# was (nothing in /usr, no services); a second call with the same list does no work.
#
#   root=$(scripts/debs.sh prometheus prometheus | tail -n1)   # then $root/usr/bin/promtool
#
# Contract: the LAST line on stdout is the root directory; progress goes to stderr. The .debs
# stay in <name>-<key>/debs (the image build reads their control data). Packages are named
# exactly: dependencies are not followed (the callers list what they need).
# Needs apt's package lists: on a machine that has none yet, root runs `apt-get update` once.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 NAME PACKAGE..." >&2; exit 2; }
name=$1; shift
log() { printf 'debs(%s): %s\n' "$name" "$*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${SCOPEKEEPER_CACHE:-${HOME:-/tmp}/.cache/scopekeeper}/debs"
key=$( { printf '%s\n' "$@" | sort; cat "$here/debs.sh"; dpkg --print-architecture; } | sha256sum | cut -c1-12)
dir="$cache/$name-$key"

if [[ -f $dir/.complete ]]; then echo "$dir/root"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.$name-$key.lock"
command -v flock >/dev/null && flock 9
if [[ -f $dir/.complete ]]; then echo "$dir/root"; exit 0; fi

t0=$SECONDS
tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/debs" "$tmp/root"
trap 'rm -rf "$tmp"' EXIT

download() { (cd "$tmp/debs" && apt-get download -qq "$@" >&2 2>"$tmp/apt.err") ; }
if ! download "$@"; then
  if [[ $(id -u) -eq 0 ]] && grep -q 'Unable to locate\|has no installation candidate' "$tmp/apt.err"; then
    log "apt has no package lists for these yet: apt-get update"
    apt-get update -qq >&2
    download "$@" || { cat "$tmp/apt.err" >&2; exit 1; }
  else
    cat "$tmp/apt.err" >&2
    log "apt-get download failed; as root run \`apt-get update\` first (the package lists are missing or stale)"
    exit 1
  fi
fi

for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
{ for deb in "$tmp"/debs/*.deb; do dpkg-deb -f "$deb" Package Version; done; } >"$tmp/VERSIONS"
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
log "$(ls "$dir/debs" | wc -l) packages unpacked in $((SECONDS - t0))s into $dir/root"
echo "$dir/root"
