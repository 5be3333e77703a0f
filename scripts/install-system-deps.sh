#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: Chromium (widget and
# staff-app browser tests), PostgreSQL, Redis and nginx (production-profile tests).
# Does nothing when they are already there; needs root (or sudo) otherwise.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "==> Installing system packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "error: need root to apt-get install ${missing[*]}; install them and run make again." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these as system services on install; the tests run their own on loopback.
for service in postgresql redis-server nginx; do
  $sudo service "$service" stop >/dev/null 2>&1 || true
done
