#!/usr/bin/env bash
# Installs the Debian packages ml-connector needs to build, test and run, when missing.
# Idempotent and quiet when everything is present; needs root (or sudo) otherwise.
# MLC_SKIP_DEPS=1 skips the check (image builds that installed their own build packages).
#   scripts/deps.sh          build, unit and integration tests, run (the Makefile calls it)
#   scripts/deps.sh --test   the tools of single tests: promtool (test_metrics), chromium
#                            (test_status_page), Docker, Compose and debootstrap (the deployment
#                            test); tests/run.sh installs them up front, so that no two tests
#                            running side by side wait on apt's lock. A test whose tool is
#                            missing prints SKIPPED.
set -euo pipefail
[ "${MLC_SKIP_DEPS:-0}" = 1 ] && exit 0
if [ "${1:-}" = --test ]; then
  pkgs=(prometheus chromium docker.io docker-compose debootstrap)
else
  pkgs=(build-essential pkg-config libcurl4-openssl-dev libjansson-dev libzmq3-dev
        libhiredis-dev libssl-dev libmicrohttpd-dev libcmocka-dev redis-server redis-tools
        curl wrk procps python3)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
  [ "${1:-}" = --test ] || exit 1
  # Test tools are independent: install what can be, report what cannot.
  rc=0
  for p in "${missing[@]}"; do
    $sudo apt-get install -y -qq --no-install-recommends "$p" >&2 || { echo "deps: cannot install $p" >&2; rc=1; }
  done
  exit $rc
fi
