#!/usr/bin/env bash
# Makes a STAND-IN for the python:3.11-slim base image, for machines that cannot pull
# it: Debian bookworm's own Python 3.11 (the release python:3.11-slim is also built
# on), with `python` and `pip` on /usr/local/bin as in the official image. It is not
# the official image and is named so. It is made once and kept: when the tag exists,
# this only prints it. Remove the image to make it afresh.
#
#   scripts/make-standin-base.sh        prints the tag, e.g. for make image BASE=...
#
# Needs root, debootstrap and the Debian mirror (DEBIAN_MIRROR, default
# deb.debian.org). The host's CA bundle goes in because the image build reaches the
# package index only through the certificates this machine trusts.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${STANDIN_TAG:-localhost/augnet-mock-base:python3.11-bookworm-standin}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
engine=(bash scripts/container.sh)

# One machine-wide maker at a time: the image is shared by every checkout here.
exec 9>"${TMPDIR:-/tmp}/augnet-mock-standin.lock"
flock 9
if "${engine[@]}" image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap >/dev/null; then
  echo "make-standin-base.sh: needs root and debootstrap (scripts/system-deps.sh)" >&2
  exit 1
fi
root=$(mktemp -d "${TMPDIR:-/tmp}/augnet-mock-standin.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "making the stand-in base $TAG from Debian bookworm (about a minute)" >&2
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,binutils \
  bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  rm -f "$root.log"
  exit 1
}
rm -f "$root.log"
ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
# What python:3.11-slim leaves out too: downloaded packages and package lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | "${engine[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$TAG" >/dev/null
echo "$TAG"
