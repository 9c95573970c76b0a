#!/usr/bin/env bash
# Builds docker/Dockerfile as $IMAGE (default augnet-mock:latest) with the engine
# scripts/container.sh picks, and prints the image's tag. The base is $BASE when set;
# else python:3.11-slim when it is here or can be pulled; else the Debian stand-in
# (scripts/make-standin-base.sh), made once and kept.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-augnet-mock:latest}
OFFICIAL=docker.io/library/python:3.11-slim
PULL_TIMEOUT=300 # seconds: a slow registry is waited for, a missing one fails at once
engine=(bash scripts/container.sh)

if [ -z "${BASE:-}" ]; then
  if "${engine[@]}" image inspect "$OFFICIAL" >/dev/null 2>&1 \
    || timeout "$PULL_TIMEOUT" "${engine[@]}" pull -q "$OFFICIAL" >/dev/null 2>&1; then
    BASE=$OFFICIAL
  else
    echo "build-image.sh: cannot pull $OFFICIAL; building on the Debian stand-in" >&2
    BASE=$(bash scripts/make-standin-base.sh)
  fi
fi
"${engine[@]}" build --build-arg "BASE=$BASE" -f docker/Dockerfile -t "$IMAGE" . >&2
echo "$IMAGE"
