#!/usr/bin/env bash
# Build the scylla image without pulling any base image: only the Debian archive, PyPI and
# npm are needed (this is what the project's CI machines allow).
#
#   docker/build-base.sh            # base rootfs (mmdebstrap) -> podman import -> podman build
#   docker/build-base.sh --base     # only the base image (localhost/scylla-base:<suite>)
#
# 1. mmdebstrap makes a minbase Debian rootfs tarball holding the packages the Dockerfile needs
#    (python3, python3-venv, git, nodejs, npm, rsync, ca-certificates, passwd).
# 2. `podman import` turns it into localhost/scylla-base:<suite> (skipped when it exists).
# 3. `podman build --build-arg BASE=localhost/scylla-base:<suite> -f docker/Dockerfile -t scylla .`
#
# Environment (all optional):
#   SUITE=bookworm            Debian release of the base (default: this machine's, else bookworm)
#   MIRROR=http://deb.debian.org/debian
#   PODMAN="podman --storage-driver vfs"   how podman is called (vfs works without overlay mounts)
#   IMAGE=scylla              tag of the scylla image
#   ISOLATION=chroot          how RUN steps run: `chroot` needs no OCI runtime or cgroups (crun
#                             refuses here: "cgroups in hybrid mode not supported"); `oci` is
#                             podman's default
#   HOST_CAS=auto|0           auto: copy the host's locally added CA certificates
#                             (/usr/local/share/ca-certificates/*.crt, public certificates, never
#                             keys) into the base, for builds behind a TLS-inspecting proxy.
#   WORK=/var/tmp/scylla-base where the rootfs tarball is kept (reused when present)
#   REBUILD_BASE=1            make the base again even if it exists
#   PRUNE=0                   keep untagged images (default: `podman image prune` before and
#                             after the build; with vfs storage each layer is a full copy)
set -euo pipefail
cd "$(dirname "$0")/.."

codename() { . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}"; }
SUITE=${SUITE:-$(codename)}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PODMAN=${PODMAN:-podman --storage-driver vfs}
IMAGE=${IMAGE:-scylla}
BASE_IMAGE=localhost/scylla-base:$SUITE
WORK=${WORK:-/var/tmp/scylla-base}
HOST_CAS=${HOST_CAS:-auto}
ISOLATION=${ISOLATION:-chroot}
PACKAGES=ca-certificates,passwd,python3,python3-venv,git,nodejs,npm,rsync

say() { printf '== %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null || {
  echo "build-base: '$1' is missing (apt-get install $2)" >&2
  exit 3
}; }

need podman podman
# shellcheck disable=SC2086  # PODMAN is a command with options
if [ "${REBUILD_BASE:-0}" = 1 ] || ! $PODMAN image exists "$BASE_IMAGE"; then
  need mmdebstrap mmdebstrap
  mkdir -p "$WORK"
  tarball=$WORK/$SUITE-minbase.tar
  if [ "${REBUILD_BASE:-0}" = 1 ] || [ ! -s "$tarball" ]; then
    hooks=()
    cas=(/usr/local/share/ca-certificates/*.crt)
    if [ "$HOST_CAS" != 0 ] && [ -e "${cas[0]}" ]; then
      say "adding the host's local CA certificates to the base: ${cas[*]##*/}"
      hooks+=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"')
      for ca in "${cas[@]}"; do
        hooks+=(--customize-hook="copy-in $ca /usr/local/share/ca-certificates/")
      done
      hooks+=(--customize-hook='chroot "$1" update-ca-certificates >/dev/null')
    fi
    say "mmdebstrap $SUITE minbase + $PACKAGES -> $tarball"
    mmdebstrap --variant=minbase --include="$PACKAGES" --format=tar \
      --aptopt='Acquire::Retries "3"' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
      "${hooks[@]}" "$SUITE" "$tarball.part" \
      "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
      "deb ${MIRROR%/debian}/debian-security $SUITE-security main"
    mv "$tarball.part" "$tarball"
  fi
  say "podman import -> $BASE_IMAGE"
  # shellcheck disable=SC2086
  $PODMAN import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
    "$tarball" "$BASE_IMAGE" >/dev/null
fi
[ "${1:-}" = --base ] && exit 0

# Untagged images are the layers of earlier builds (with vfs storage each is a full copy of
# the file system, ~1.8 GB): removed before and after each build, or a machine that builds
# every commit runs out of disk. The base and the layers of the tagged image stay (cache).
prune() {
  [ "${PRUNE:-1}" = 0 ] && return 0
  # shellcheck disable=SC2086
  $PODMAN image prune --force >/dev/null || true
}
prune
say "podman build -f docker/Dockerfile -t $IMAGE (BASE=$BASE_IMAGE)"
# --pull=never: the base is local and nothing may be pulled. The build context is the
# repository; docker/build.ignore keeps .venv, results/ and caches out of it.
# shellcheck disable=SC2086
$PODMAN build --pull=never --isolation "$ISOLATION" --build-arg BASE="$BASE_IMAGE" --ignorefile docker/build.ignore \
  -f docker/Dockerfile -t "$IMAGE" .
prune
