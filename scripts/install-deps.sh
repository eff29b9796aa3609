#!/bin/bash
# Installs the Debian packages listed in .ci/apt-packages.txt that are missing (idempotent).
# Uses sudo when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
pkgs=$(grep -vE '^\s*(#|$)' .ci/apt-packages.txt | xargs)
# "install ok installed" only: a package removed but not purged still answers `dpkg -s`.
missing=$(for p in $pkgs; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || echo "$p"
done | xargs)
[ -n "$missing" ] || exit 0
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
echo "installing Debian packages: $missing"
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
