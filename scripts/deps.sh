#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages Bulwark needs to build, test and run its demo.
# Idempotent: calls apt-get only when a package is missing.
set -eu

run_pkgs="curl libseccomp2 libcap-ng0 libmicrohttpd12 libjansson4 libyaml-0-2 libsodium23 libsqlite3-0 libcurl3-gnutls libnftables1 nftables iproute2"
build_pkgs="meson ninja-build pkg-config gcc clang libclang-rt-14-dev binutils
  libmicrohttpd-dev libjansson-dev libyaml-dev libsodium-dev libsqlite3-dev libcurl4-gnutls-dev libnftables-dev
  libseccomp-dev libcap-ng-dev libcmocka-dev python3-pytest python3-requests sqlite3 openssl spin systemd"

want="$run_pkgs $build_pkgs"

missing=""
for p in $want; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
        esac
done

if [ -z "$missing" ]; then
        echo "deps: all packages present"
        exit 0
fi
if [ "$(id -u)" != 0 ]; then
        echo "deps: missing packages:$missing (run as root to install them)" >&2
        exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
