#!/bin/bash
# Installs the Debian packages listed in .ci/apt-packages.txt that are missing (idempotent).
# Uses sudo when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
pkgs=$(grep -vE '^\s*(#|$)' .ci/apt-packages.txt | xargs)
missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | xargs)
[ -n "$missing" ] || exit 0
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
echo "installing Debian packages: $missing"
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
