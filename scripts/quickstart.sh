#!/bin/bash
# One command from a fresh clone to a built, run and locked environment:
# installs Debian packages and npm dependencies, builds, then builds, runs and locks examples/quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
# Docker Hub unreachable (offline machines, this project's CI): use a local mirror made offline.
if [ -z "${STRATA_REGISTRY_MIRRORS:-}" ] && ! curl -fs -m 5 -o /dev/null https://registry-1.docker.io/v2/ 2>/dev/null \
   && ! curl -s -m 5 -o /dev/null -w '%{http_code}' https://registry-1.docker.io/v2/ 2>/dev/null | grep -q 401; then
  echo "Docker Hub is not reachable: starting a local registry with busybox as its mirror"
  export "$(bash scripts/offline-registry.sh)"
fi
cd examples/quickstart
../../bin/strata build
../../bin/strata run hello
echo "results: $(pwd)/results/greeting.txt"
echo "lock:    $(pwd)/strata.lock"
