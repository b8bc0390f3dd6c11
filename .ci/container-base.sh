#!/usr/bin/env bash
# The container tests (pytest -m containers) need rootful podman with runc and a local
# docker.io/library/debian:bookworm image with Python. No registry is reachable in CI, so the
# image is assembled from Debian's packages (mmdebstrap) and imported. Idempotent; a failure
# here only makes those tests skip with their reason.
set -euo pipefail
IMAGE=${CAIRN_BASE_IMAGE:-docker.io/library/debian:bookworm}
[ "$(id -u)" = 0 ] || { echo "container-base: not root, skipped"; exit 0; }
export DEBIAN_FRONTEND=noninteractive
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null; then
    apt-get install -y -qq --no-install-recommends podman runc mmdebstrap >/dev/null 2>&1 || {
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends podman runc mmdebstrap >/dev/null
    }
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# This sandbox cannot raise rlimits, and crun rejects hybrid cgroups: runc, limits within reach.
hard=$(ulimit -Hn)
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n' \
    "$hard" "$hard" > "$scratch/containers.conf"
export CONTAINERS_CONF=$scratch/containers.conf
if podman image exists "$IMAGE"; then
    exit 0
fi
# The Debian mirror apt already uses (deb822 sources first, then the one-line format).
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
# HTTPS from inside a build may go through a proxy with its own certificate authority: the
# host's extra CA certificates go into the image too.
mkdir -p "$scratch/ca"
cp /usr/local/share/ca-certificates/*.crt "$scratch/ca/" 2>/dev/null || true
mmdebstrap --quiet --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates,git \
    --customize-hook="cp $scratch/ca/. \"\$1/usr/local/share/ca-certificates/\" -r; chroot \"\$1\" update-ca-certificates >/dev/null" \
    bookworm - "$mirror" | podman import -q - "$IMAGE" >/dev/null
echo "container-base: made $IMAGE"
