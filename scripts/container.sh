#!/usr/bin/env bash
# Runs one container-engine command with whichever engine works on this machine:
# `docker` when its daemon answers, else `podman` (run as root), with the options
# these machines need: Debian's runc, since crun refuses a kernel with hybrid
# cgroups, and cgroupfs, since there is no systemd to manage cgroups. podman builds
# in Docker's image format, as OCI's has no HEALTHCHECK.
#
#   scripts/container.sh build ...    scripts/container.sh run ...
#   scripts/container.sh --engine     prints the engine command, one word per line
#
# CONTAINER_ENGINE=docker|podman skips the detection. Exits 127 when neither works.
set -euo pipefail

engine=${CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null; then
    engine=podman
  else
    echo "container.sh: no container engine: neither a docker daemon nor podman" >&2
    exit 127
  fi
fi
case "$engine" in
  docker) command=(docker) ;;
  podman)
    command=(podman --runtime runc --cgroup-manager=cgroupfs)
    export BUILDAH_FORMAT=docker
    ;;
  *)
    echo "container.sh: CONTAINER_ENGINE must be docker or podman, not $engine" >&2
    exit 2
    ;;
esac
if [ "${1:-}" = --engine ]; then
  printf '%s\n' "${command[@]}"
  exit 0
fi
exec "${command[@]}" "$@"
