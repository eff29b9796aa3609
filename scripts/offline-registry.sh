#!/bin/bash
# For machines that cannot reach Docker Hub: start a local registry on loopback with busybox
# (and, unless SKIP_DEBIAN=1, debian:bookworm) made offline, and print the mirror setting to use.
# usage: scripts/offline-registry.sh [DIR] [ADDR]   (default DIR ~/.cache/strata-registry, ADDR 127.0.0.1:5000)
# Stop it with: kill "$(cat DIR/registry.pid)"
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$HOME/.cache/strata-registry} ADDR=${2:-127.0.0.1:5000}
mkdir -p "$DIR/storage"
if ! curl -fs "http://$ADDR/v2/" >/dev/null 2>&1; then
  printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s/storage}}\nhttp: {addr: "%s"}\n' "$DIR" "$ADDR" > "$DIR/registry.yml"
  setsid docker-registry serve "$DIR/registry.yml" > "$DIR/registry.log" 2>&1 < /dev/null &
  echo $! > "$DIR/registry.pid"
  for _ in $(seq 100); do curl -fs "http://$ADDR/v2/" >/dev/null && break; sleep 0.1; done
  curl -fs "http://$ADDR/v2/" >/dev/null || { echo "registry did not start; see $DIR/registry.log" >&2; exit 1; }
fi
curl -fs "http://$ADDR/v2/library/busybox/tags/list" 2>/dev/null | grep -q 1.35 || \
  SKIP_DEBIAN=${SKIP_DEBIAN:-1} bash "$here/test/support/base-images.sh" "$DIR/cache" "$ADDR" >&2
echo "STRATA_REGISTRY_MIRRORS=docker.io=http://$ADDR"
