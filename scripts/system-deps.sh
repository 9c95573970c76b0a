#!/usr/bin/env bash
# System packages the test suite needs: Chromium for the web-UI tests, node/npm for
# the independent segment calculator, wrk for benchmarks. Installs only what is
# missing, and only as root (CI); otherwise it says what to install.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v wrk >/dev/null || need+=(wrk)
fc-list >/dev/null 2>&1 || need+=(fonts-dejavu-core fontconfig)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
