#!/usr/bin/env bash
# System packages the test suite needs: Chromium for the web-UI tests, node/npm for
# the independent segment calculator, wrk for benchmarks, and a container engine for
# the image's tests (podman with Debian's runc, and debootstrap for the stand-in base
# image, unless a docker daemon answers). Installs only what is missing, and only as
# root (CI); otherwise it says what to install.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v wrk >/dev/null || need+=(wrk)
fc-list >/dev/null 2>&1 || need+=(fonts-dejavu-core fontconfig)
with_podman=0
if ! { command -v docker >/dev/null && docker info >/dev/null 2>&1; }; then
  with_podman=1
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  command -v debootstrap >/dev/null || need+=(debootstrap)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# podman's default ulimits cannot be set on these machines: clear them, keeping
# whatever else the file says. Only as root, and only where the key is not set yet.
CONF=/etc/containers/containers.conf
if [ "$with_podman" -eq 1 ] && [ "$(id -u)" -eq 0 ] \
  && ! grep -qs '^[[:space:]]*default_ulimits' "$CONF"; then
  mkdir -p "$(dirname "$CONF")"
  if grep -qs '^\[containers\]' "$CONF"; then
    sed -i '0,/^\[containers\]/s//[containers]\ndefault_ulimits = []/' "$CONF"
  else
    printf '\n[containers]\ndefault_ulimits = []\n' >>"$CONF"
  fi
fi
