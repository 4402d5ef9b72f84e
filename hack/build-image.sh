#!/usr/bin/env bash
# Build the Dockerfile without a Docker engine: buildah, vfs storage, chroot isolation (as
# root; no daemon, no overlay mounts, no user namespaces needed). `make image` runs it.
#
#   hack/build-image.sh TAG                 FROM the Dockerfile's PYTHON_IMAGE (Docker Hub)
#   hack/build-image.sh TAG --local-base    FROM a Debian bookworm + Debian python3.11 base
#                                           made here with debootstrap (Debian's mirror only)
#
# --local-base is for machines that reach Debian's and PyPI's package servers but no container
# registry (this project's CI): everything after FROM is the Dockerfile's own steps, unchanged.
# The released image is built from the digest-pinned python image by the release workflow
# (.github/workflows/release.yml), not by this script.
#
# Build-time only, never in the image: when the host has /etc/pip.conf (e.g. a TLS-intercepting
# proxy's CA for pip), it and /etc/ssl/certs are mounted into the RUN steps so pip reaches PyPI
# the way the host does.
#
# Storage: $BUILDAH_ROOT (default .cache/buildah); `rm -rf` it to reclaim the space.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:?usage: hack/build-image.sh TAG [--local-base]}
local_base=${2:-}
root=${BUILDAH_ROOT:-$PWD/.cache/buildah}
buildah=(buildah --root "$root/storage" --runroot "$root/run" --storage-driver vfs)
# The one version source (docs/releasing.md): the package's __version__.
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' operator/serving_operator/__init__.py)

command -v buildah >/dev/null || { echo "buildah not found: apt-get install buildah" >&2; exit 2; }

args=(--build-arg "VERSION=$version")
if [ "$local_base" = "--local-base" ]; then
  base=localhost/serving-operator-base:debian-bookworm-python3.11
  if ! "${buildah[@]}" inspect --type image "$base" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || { echo "debootstrap not found: apt-get install debootstrap" >&2; exit 2; }
    ctr=$("${buildah[@]}" from scratch)
    mnt=$("${buildah[@]}" mount "$ctr")
    debootstrap --variant=minbase --include=python3.11,python3-venv,python-is-python3,ca-certificates \
      bookworm "$mnt" http://deb.debian.org/debian >&2
    rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/var/cache/apt/*.bin
    "${buildah[@]}" umount "$ctr" >/dev/null
    "${buildah[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --cmd python3 "$ctr"
    "${buildah[@]}" commit --rm "$ctr" "$base" >&2
  fi
  args+=(--build-arg "PYTHON_IMAGE=$base")
elif [ -n "$local_base" ]; then
  echo "unknown option $local_base" >&2
  exit 2
fi
if [ -f /etc/pip.conf ]; then
  args+=(-v /etc/pip.conf:/etc/pip.conf:ro -v /etc/ssl/certs:/etc/ssl/certs:ro)
fi
"${buildah[@]}" bud --isolation chroot --layers=false "${args[@]}" -t "$tag" -f Dockerfile . >&2
echo "$tag"
