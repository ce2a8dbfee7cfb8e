#!/usr/bin/env bash
# Installs the Debian packages SmokeStack's tests, demo and benchmarks use.
# Idempotent and quiet: does nothing when everything is already present.
# As non-root it prints the exact command to run instead.
set -euo pipefail

packages=(openssh-server openssh-client puppet redis-server git dpkg-dev debhelper fakeroot build-essential chromium iproute2 rsync ansible hyperfine puppet-module-keystone postgresql-15)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "smokestack: missing system packages: ${missing[*]}" >&2
  echo "smokestack: install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "smokestack: installing system packages: ${missing[*]}" >&2
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian postinst starts services we do not want running system-wide.
for svc in redis-server ssh postgresql; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" >/dev/null 2>&1 || true
  fi
done
