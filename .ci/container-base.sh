#!/usr/bin/env bash
# The container tests (pytest -m containers) need rootful podman with runc and a local
# docker.io/library/debian:bookworm image with Python. No registry is reachable in CI, so the
# image is assembled from Debian's packages (mmdebstrap) and imported. Then the unprivileged user
# cairn-rootless gets sub-uids and rootless podman with the same image (the output-ownership
# test runs cairn as that user). Idempotent; a failure here only makes those tests skip with
# their reason.
set -euo pipefail
IMAGE=${CAIRN_BASE_IMAGE:-docker.io/library/debian:bookworm}
[ "$(id -u)" = 0 ] || { echo "container-base: not root, skipped"; exit 0; }
export DEBIAN_FRONTEND=noninteractive
PACKAGES="podman runc mmdebstrap uidmap slirp4netns"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null \
    || ! command -v newuidmap >/dev/null || ! command -v slirp4netns >/dev/null; then
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null 2>&1 || {
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
    }
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# This sandbox cannot raise rlimits, and crun rejects hybrid cgroups: runc, limits within reach.
hard=$(ulimit -Hn)
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n' \
    "$hard" "$hard" > "$scratch/containers.conf"
export CONTAINERS_CONF=$scratch/containers.conf
if ! podman image exists "$IMAGE"; then
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
fi

# Rootless podman for user cairn-rootless: sub-uids (newuidmap/newgidmap from uidmap), a runtime
# folder of its own (no systemd session here), storage in its home (overlay, else vfs), and the
# base image copied from root's storage.
ROOTLESS=cairn-rootless
as_rootless() {
    runuser -u "$ROOTLESS" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" \
        XDG_RUNTIME_DIR="$runtime" CONTAINERS_CONF="$home/.config/containers/containers.conf" "$@"
}
rootless() {
    id -u "$ROOTLESS" >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin "$ROOTLESS"
    home=$(getent passwd "$ROOTLESS" | cut -d: -f6)
    runtime=/tmp/cairn-rootless-run-$(id -u "$ROOTLESS")
    for ids in /etc/subuid /etc/subgid; do
        grep -q "^$ROOTLESS:" "$ids" 2>/dev/null || echo "$ROOTLESS:300000:65536" >> "$ids"
    done
    mkdir -p "$runtime" "$home/.config/containers"
    cp "$CONTAINERS_CONF" "$home/.config/containers/containers.conf"
    printf 'cgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >> "$home/.config/containers/containers.conf"
    [ -f "$home/.config/containers/storage.conf" ] \
        || printf '[storage]\ndriver = "overlay"\n' > "$home/.config/containers/storage.conf"
    chown -R "$ROOTLESS:" "$runtime" "$home/.config"
    chmod 700 "$runtime"
    if ! as_rootless podman info >/dev/null 2>&1; then
        printf '[storage]\ndriver = "vfs"\n' > "$home/.config/containers/storage.conf"
        as_rootless podman system reset -f >/dev/null 2>&1 || true
        as_rootless podman info >/dev/null
    fi
    wanted=$(podman image inspect --format '{{.Id}}' "$IMAGE")
    have=$(as_rootless podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
    if [ "$wanted" != "$have" ]; then
        podman save --format oci-archive "$IMAGE" | as_rootless podman load -q >/dev/null
        as_rootless podman tag "$wanted" "$IMAGE"
        echo "container-base: $IMAGE in $ROOTLESS's rootless podman"
    fi
}
# A subshell with errexit of its own (a function called before `||` would ignore it).
set +e
(set -e; rootless)
[ $? = 0 ] || echo "container-base: no rootless podman for $ROOTLESS: the ownership test will skip"
