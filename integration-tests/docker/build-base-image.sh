#!/usr/bin/env bash
# Builds the local base image the server image is built FROM on machines without an image
# registry: a minimal Debian bookworm with the OpenJDK 17 headless JRE, made with debootstrap
# and loaded with `docker import`. Does nothing when the image already exists.
#
#   integration-tests/docker/build-base-image.sh [NAME:TAG]    (default activerm-base:bookworm-jre17)
#   docker build --build-arg BASE_IMAGE=activerm-base:bookworm-jre17 -t activerm-server server/
#
# Needs root (debootstrap) and a running Docker engine.
set -euo pipefail

image="${1:-${ACTIVERM_BASE_IMAGE:-activerm-base:bookworm-jre17}}"
suite=bookworm

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image already present"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq debootstrap >/dev/null
fi

# The Debian mirror this machine already uses (deb822 sources first, then the one-line format).
mirror=""
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
  mirror="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
    /etc/apt/sources.list.d/debian.sources)"
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
  mirror="$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
    /etc/apt/sources.list)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

rootfs="$(mktemp -d /tmp/activerm-base.XXXXXX)"
trap 'rm -rf --one-file-system "$rootfs"' EXIT

echo "building base image $image from $suite ($mirror) in $rootfs"
start=$SECONDS
debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates \
  "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -40 "$rootfs.log" >&2
  rm -f "$rootfs.log"
  echo "debootstrap failed" >&2
  exit 1
}
rm -f "$rootfs.log"

# Keep the image small: no package lists, caches or docs.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

java_home="$(cd "$rootfs" && ls -d usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -1 || true)"
[ -n "$java_home" ] || { echo "no JRE under $rootfs/usr/lib/jvm" >&2; exit 1; }
java_home="/$java_home"

tar -C "$rootfs" -c . | docker import \
  -c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  -c "ENV JAVA_HOME=$java_home" \
  -c "ENV LANG=C.UTF-8" \
  -c 'CMD ["/bin/bash"]' \
  -m "debootstrap --variant=minbase $suite + openjdk-17-jre-headless" \
  - "$image" >/dev/null

# Smoke test: the JRE runs inside the image.
version="$(docker run --rm "$image" java -version 2>&1)" || { echo "$version" >&2; exit 1; }
echo "${version%%$'\n'*}"
echo "base image $image built in $((SECONDS - start)) s"
