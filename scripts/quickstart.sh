#!/bin/bash
# One command from a fresh clone to a built, run and locked environment:
# installs Debian packages and npm dependencies, builds, then builds, runs and locks examples/quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# A fresh clone installs and builds everything (npm ci runs the build); a clone already set up is kept.
if [ -d node_modules ] && [ -f out/cli.js ] && [ -x native/build/strata-box ]; then
  echo "already set up (node_modules, out/cli.js, native/build/strata-box); 'npm ci' would redo it"
else
  npm ci --no-audit --no-fund
fi
# Docker Hub unreachable (offline machines, this project's CI): use a local mirror made offline.
if [ -z "${STRATA_REGISTRY_MIRRORS:-}" ] && ! curl -fs -m 5 -o /dev/null https://registry-1.docker.io/v2/ 2>/dev/null \
   && ! curl -s -m 5 -o /dev/null -w '%{http_code}' https://registry-1.docker.io/v2/ 2>/dev/null | grep -q 401; then
  echo "Docker Hub is not reachable: starting a local registry with busybox as its mirror"
  export "$(bash scripts/offline-registry.sh)"
fi
cd examples/quickstart
../../bin/strata build
../../bin/strata run hello
../../bin/strata verify
echo
echo "results: $(pwd)/results/greeting.txt"
echo "lock:    $(pwd)/strata.lock"
echo "store:   ${STRATA_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/strata}   (strata images, strata runs)"
echo "next:    docs/usage.md (the five-minute tour)"
