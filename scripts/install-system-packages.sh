#!/usr/bin/env bash
# Installs the Debian packages SmokeStack's tests, demo and benchmarks use.
# Idempotent and quiet: does nothing when everything is already present.
# As non-root it prints the exact command to run instead.
# With --fixture-producers it also installs the test tools whose real output the results
# parsers are tested on (packages/core/test/fixtures/results/regenerate.sh makes that output).
set -euo pipefail

# rpm (rpmbuild), createrepo-c and dnf: RPM builds, their repositories and the dnf that installs from them.
# subunit: subunit-stats, subunit2csv and subunit2pyunit, the reference the subunit parser is compared with.
packages=(openssh-server openssh-client puppet redis-server git dpkg-dev debhelper fakeroot build-essential chromium iproute2 rsync ansible hyperfine puppet-module-keystone subunit python3-subunit rpm createrepo-c dnf systemd-container debootstrap postgresql-15)
if [ "${1:-}" = "--fixture-producers" ]; then
  packages+=(python3-stestr python3-pytest golang-go gotestsum ruby-rspec ruby-rspec-junit-formatter ant ant-optional junit4 maven libsurefire-java libmaven-compiler-plugin-java maven-debian-helper faketime)
fi

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
