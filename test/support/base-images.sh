#!/bin/bash
# Make two real base images offline and push them to a registry (from ../shared/recipes/base-images.sh):
#   REG/library/busybox:latest   (~1 MB layer, 1 s)      REG/library/debian:bookworm (~50 MB layer, ~1 min once)
# Both are bit-reproducible for a fixed SOURCE_DATE_EPOCH (and, for Debian, the same mirror state).
# They are made by umoci and pushed by skopeo, i.e. by tools other than ours: good for interop.
# usage: base-images.sh CACHEDIR [REG]     (default REG 127.0.0.1:5000); SKIP_DEBIAN=1 skips Debian.
# Prints one line per pushed ref: "REG/REPO:TAG sha256:DIGEST".
set -euo pipefail
CACHE=$1 REG=${2:-127.0.0.1:5000}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
TS=$(date -u -d @"$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
need="umoci skopeo"; [ -n "${SKIP_DEBIAN:-}" ] || need="$need mmdebstrap"
for c in $need; do command -v "$c" >/dev/null || { echo "base-images.sh: '$c' is missing (apt-get install $c)" >&2; exit 1; }; done
[ -x /bin/busybox ] || { echo "base-images.sh: /bin/busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$CACHE"
W=$(mktemp -d "${TMPDIR:-/tmp}/strata-base-XXXXXX"); trap 'rm -rf "$W"' EXIT

# busybox: static binary + applet symlinks + passwd/group
mkdir -p "$W/bb/bin" "$W/bb/etc" "$W/bb/tmp" "$W/bb/root" "$W/bb/usr" "$W/bb/proc" "$W/bb/sys" "$W/bb/dev"
cp /bin/busybox "$W/bb/bin/"
"$W/bb/bin/busybox" --list | while read -r a; do [ "$a" = busybox ] || ln -s busybox "$W/bb/bin/$a"; done
ln -s bin "$W/bb/sbin"; ln -s ../bin "$W/bb/usr/bin"; chmod 1777 "$W/bb/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$W/bb/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$W/bb/etc/group"
tar --sort=name --mtime=@"$SOURCE_DATE_EPOCH" --clamp-mtime --owner=0 --group=0 --numeric-owner \
    --pax-option=delete=atime,delete=ctime -C "$W/bb" -cf "$W/busybox.tar" .

# Debian bookworm minbase (merged /usr, no /dev nodes, no host resolv.conf/hostname): ~1 min, cached
if [ -z "${SKIP_DEBIAN:-}" ] && [ ! -s "$CACHE/bookworm.tar" ]; then
  mmdebstrap -q --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --skip=output/dev \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' bookworm "$CACHE/bookworm.part.tar"
  mv "$CACHE/bookworm.part.tar" "$CACHE/bookworm.tar"
fi
[ -n "${SKIP_DEBIAN:-}" ] || cp "$CACHE/bookworm.tar" "$W/bookworm.tar"

mkimg() { # TAG ROOTFS_TAR CMD
  umoci new --image "$W/oci:$1"
  umoci raw add-layer --image "$W/oci:$1" --history.created="$TS" --history.created_by="rootfs $2" "$W/$2"
  umoci config --image "$W/oci:$1" --created="$TS" --history.created="$TS" --architecture=amd64 --os=linux \
    --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.cmd="$3"
}
umoci init --layout "$W/oci"
mkimg busybox busybox.tar /bin/sh
skopeo copy -q --dest-tls-verify=false "oci:$W/oci:busybox" "docker://$REG/library/busybox:latest"
skopeo copy -q --dest-tls-verify=false "oci:$W/oci:busybox" "docker://$REG/library/busybox:1.35"
if [ -z "${SKIP_DEBIAN:-}" ]; then
  mkimg bookworm bookworm.tar /bin/bash
  skopeo copy -q --dest-tls-verify=false "oci:$W/oci:bookworm" "docker://$REG/library/debian:bookworm"
fi
refs="library/busybox:latest library/busybox:1.35"; [ -n "${SKIP_DEBIAN:-}" ] || refs="$refs library/debian:bookworm"
for r in $refs; do
  echo "$REG/$r $(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/$r")"
done
